"""Plain-async drivers around ``agents.Runner.run``, one per pattern kind.

Each driver mirrors its LangGraph builder in ``agentpatterns/graphs/`` - same prompts, same
bounds, same stop rules - so both runtimes send the model the same messages. Runs that stop
for a human decision persist the SDK ``RunState`` (``to_json``) in a LangGraph store under
the thread id; :func:`resume` rebuilds the agents, loads it (``RunState.from_json``),
approves or rejects, and continues - from another process if the store is a file or server.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import agents
from agents import FunctionTool as SDKFunctionTool
from agents import ModelResponse, RunState
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall

from agentpatterns.adapters._sdk_bridge import _content_text, _plain
from agentpatterns.adapters._sdk_build import Network, build_network, output_text
from agentpatterns.adapters._sdk_run import Run, text_of
from agentpatterns.errors import BranchError, ResumeError
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.runner import RunResult, normalize_decision

__all__ = ["DRIVERS", "NETWORK_KINDS", "resume"]

NETWORK_KINDS = frozenset({"handoffs", "triage", "sequential", "hierarchical", "memory"})
SAVED = ("agentpatterns", "openai_agents", "runs")


# ------------------------------------------------------------------ persistence


async def _save(run: Run, payload: dict[str, Any]) -> None:
    from agentpatterns.storage import aopen_store

    # a copy: an in-memory store keeps the object, and this run's log goes on changing
    value = copy.deepcopy({**payload, "input": run.request, "values": run.values,
                           **run.saved_counts()})
    async with aopen_store(run.store) as store:
        await store.aput(SAVED, run.thread_id, value)


async def _load(store_spec: Any, thread_id: str) -> dict[str, Any] | None:
    from agentpatterns.storage import aopen_store

    async with aopen_store(store_spec) as store:
        item = await store.aget(SAVED, thread_id)
    return copy.deepcopy(dict(item.value)) if item is not None else None


def _approvals(result: Any) -> list[dict[str, Any]]:
    out = []
    for item in result.interruptions:
        raw = _plain(item.raw_item)
        out.append({"agent": item.agent.name, "tool": item.tool_name or raw.get("name"),
                    "arguments": raw.get("arguments"), "call_id": raw.get("call_id")})
    return out


# ------------------------------------------------------------------ handoff networks


def _sequence_next(pattern: Pattern) -> dict[str, str]:
    return {e.source: e.target for e in pattern.edges if e.kind == "sequence"}


async def network(run: Run, *, start: str | None = None, state: Any = None,
                  path: list[str] | None = None) -> RunResult:
    """Handoff networks: one ``Runner.run`` per stretch of handoffs; ``sequence`` edges and
    the triage ``fallback`` continue on the conversation with another ``Runner.run``."""
    pattern = run.pattern
    net = build_network(pattern.agents, run_model=run.run_model, hooks=run.log,
                        extract=run.log.extractor())
    nxt = _sequence_next(pattern)
    fallback = pattern.options.get("fallback")
    current = start or pattern.entry
    input: Any = run.request
    if state is not None:
        input = await RunState.from_json(net[current], state, context_override=run.context)
        _decide(input, run.values.pop("__decision__"))
    path = list(path or [])
    while True:
        result = await run.run(net[current], input, session=run.session)
        # a resumed run's new_items repeat the items before the interruption, so the path
        # and handoff log of a Runner.run are always derived from all its items at once
        base, before = path, len(run.log.handoffs)
        path = run.log.path_of(result.new_items, start=base)
        if result.interruptions:
            interruption = {"question": "Approve these tool calls?",
                            "approvals": _approvals(result)}
            del run.log.handoffs[before:]
            await _save(run, {"kind": "network", "status": "waiting", "current": current,
                              "state": result.to_state().to_json(), "path": base,
                              "interruption": interruption})
            path = run.log.path_of(result.new_items, start=base)
            return run.result(None, path, None, interrupted=True, interruption=interruption)
        last = result.last_agent.name
        follow = nxt.get(last)
        if follow is None and fallback and last == pattern.entry and fallback != last:
            # the router placed the request nowhere: the fallback takes it (as on LangGraph)
            run.log.events.append({"type": "no_route", "agent": last, "to": fallback})
            target = pattern.agent(fallback)
            run.log.handoffs.append({"from": last, "to": fallback, "step": len(path),
                                     "reason": target.handoff_description
                                     or f"handoff to {fallback}"})
            follow = fallback
        if follow is None:
            return await _finish(run, result.final_output, path, last)
        input = [] if run.session is not None else result.to_input_list()
        current = follow


async def _finish(run: Run, output: Any, path: list[str], last: str | None) -> RunResult:
    if run.values.get("__resumed__"):
        await _save(run, {"kind": run.pattern.kind, "status": "done"})
    run.values.pop("__resumed__", None)
    return run.result(output, path, last)


def _decide(state: RunState[Any], decision: Mapping[str, Any]) -> None:
    for item in state.get_interruptions():
        if decision["approved"]:
            state.approve(item)
        else:
            state.reject(item, rejection_message=decision.get("feedback") or None)


# ------------------------------------------------------------------ reflection


async def reflection(run: Run) -> RunResult:
    """generator -> critic -> generator ..., with the prompts of ``graphs/reflection.py``."""
    generator, critic = run.pattern.agents
    iterations = int(run.pattern.options["iterations"])
    stop_when = run.pattern.options.get("stop_when")
    net = build_network([generator, critic], run_model=run.run_model, handoffs=False,
                        hooks=run.log, extract=run.log.extractor())
    drafts: list[str] = []
    critiques: list[str] = []
    path: list[str] = []
    text = run.request
    for i in range(1, iterations + 1):
        result = await run.run(net[generator.name], text)
        draft = text_of(result.final_output)
        drafts.append(draft)
        path = run.log.path_of(result.new_items, start=path)
        review = await run.run(net[critic.name],
                               f"Review this: {draft}. Provide specific improvements.")
        feedback = text_of(review.final_output)
        critiques.append(feedback)
        path = run.log.path_of(review.new_items, start=path)
        if i >= iterations:
            break
        if stop_when is not None and stop_when(feedback):
            run.log.events.append({"type": "stop_when", "agent": critic.name, "iteration": i})
            break
        text = f"Previous: {draft}\nFeedback: {feedback}\nImprove it."
    run.values.update(drafts=drafts, critiques=critiques, iteration=len(drafts))
    return run.result(drafts[-1], path, generator.name)


# ------------------------------------------------------------------ parallel


async def parallel(run: Run) -> RunResult:
    """``asyncio.gather`` over the branches, then ``Synthesize: <outputs joined>``."""
    pattern = run.pattern
    names = list(pattern.options["branches"])
    synthesizer = pattern.agent(pattern.options["synthesizer"])
    policy = pattern.options["on_branch_error"]
    net = build_network(pattern.agents, run_model=run.run_model, handoffs=False,
                        hooks=run.log, extract=run.log.extractor())
    results = await asyncio.gather(*(run.run(net[n], run.request) for n in names),
                                   return_exceptions=True)
    branches: dict[str, dict[str, Any]] = {}
    path: list[str] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            if policy != "continue" or not isinstance(result, Exception):
                raise BranchError(f"parallel branch {name!r} failed: {type(result).__name__}: "
                                  f"{result}; fix it, or build with on_branch_error='continue'"
                                  ) from result
            branches[name] = {"status": "error", "error": f"{type(result).__name__}: {result}"}
            run.log.events.append({"type": "branch_error", "agent": name, "error": str(result)})
            continue
        branches[name] = {"status": "ok", "output": result.final_output}
        path = run.log.path_of(result.new_items, start=path)
    ok = [n for n in names if branches[n]["status"] == "ok"]
    if not ok:
        raise BranchError("every parallel branch failed: " + "; ".join(
            f"{n}: {branches[n].get('error')}" for n in names))
    combined = "\n\n".join(text_of(branches[n]["output"]) for n in ok)
    final = await run.run(net[synthesizer.name], f"Synthesize: {combined}")
    path = run.log.path_of(final.new_items, start=path)
    run.values["branches"] = branches
    return run.result(final.final_output, path, synthesizer.name)


# ------------------------------------------------------------------ supervisor


async def supervisor(run: Run) -> RunResult:
    """The boss gets ``assign_to_<worker>`` tools; a call runs the worker on the task and
    returns its report as the tool output; after ``max_rounds`` the boss must answer."""
    from agentpatterns.graphs.supervisor import _control

    pattern = run.pattern
    boss = pattern.agent(pattern.entry)
    workers = [pattern.agent(n) for n in pattern.options["workers"]]
    max_rounds = int(pattern.options["max_rounds"])
    net = build_network(pattern.agents, run_model=run.run_model, handoffs=False,
                        hooks=run.log, extract=run.log.extractor())
    assignments: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []

    def open_rounds(ctx: Any, agent: Any) -> bool:
        return len(assignments) < max_rounds

    def assign(worker: Agent) -> Any:
        async def invoke(ctx: Any, raw: str) -> str:
            if len(assignments) >= max_rounds:
                return f"Error: the {max_rounds} rounds are used up; answer now."
            args = json.loads(raw or "{}")
            task = str(args.get("task") or run.request)
            assignments.append({"worker": worker.name, "task": task,
                                "round": len(assignments) + 1, "call_id": ctx.tool_call_id})
            result = await run.run(net[worker.name], task)
            run.log.record(ctx.tool_call_id, result, turn_break=True)
            report = text_of(result.final_output)
            reports.append({"worker": worker.name, "report": report,
                            "round": len(assignments)})
            return report

        return invoke

    tools: list[Any] = []
    for tool in net[boss.name].tools:
        gated = copy.copy(tool)  # per-run copy: its is_enabled closes over this run
        object.__setattr__(gated, "is_enabled", open_rounds)
        tools.append(gated)
    for worker in workers:
        control = _control(worker)
        tools.append(SDKFunctionTool(name=control.name, description=control.description,
                                     params_json_schema=dict(control.parameters),
                                     on_invoke_tool=assign(worker), is_enabled=open_rounds))
    object.__setattr__(net[boss.name], "tools", tools)
    result = await run.run(net[boss.name], run.request)
    path = run.log.path_of(result.new_items)
    if len(assignments) >= max_rounds:
        run.log.events.append({"type": "max_rounds", "agent": boss.name,
                               "rounds": len(assignments)})
    run.values.update(assignments=assignments, reports=reports, rounds=len(assignments))
    return run.result(result.final_output, path, boss.name)


# ------------------------------------------------------------------ dynamic


async def dynamic(run: Run) -> RunResult:
    """Analyzer -> ``Domains``; ``make_specialist`` per domain (capped); specialists run
    concurrently on the request; their answers are joined with blank lines."""
    from agentpatterns.graphs.dynamic import create_specialists, rebuild

    pattern = run.pattern
    analyzer = pattern.agents[0]
    make = pattern.options["make_specialist"]
    cap = int(pattern.options["max_specialists"])
    net = build_network([analyzer], run_model=run.run_model, handoffs=False, hooks=run.log,
                        extract=run.log.extractor())
    analysis = await run.run(net[analyzer.name], f"What expertise is needed: {run.request}")
    path = run.log.path_of(analysis.new_items)
    raw = analysis.final_output
    listed = getattr(raw, "domains", None) if raw is not None else None
    domains = list(dict.fromkeys(str(d).strip() for d in (listed or []) if str(d).strip()))
    if not domains:
        run.log.events.append({"type": "no_domains", "agent": analyzer.name})
        return run.result(raw, path, analyzer.name)
    specs, dropped = create_specialists(domains, make, cap, {analyzer.name})
    if dropped:
        run.log.events.append({"type": "capped", "agent": analyzer.name,
                               "max_specialists": cap, "dropped": dropped})
    specialists = [rebuild(s, make) for s in specs]
    team = build_network(specialists, run_model=run.run_model, handoffs=False,
                         hooks=run.log, extract=run.log.extractor())
    results = await asyncio.gather(*(run.run(team[a.name], run.request) for a in specialists))
    for result in results:
        path = run.log.path_of(result.new_items, start=path)
    parts = [text_of(r.final_output) for r in results]
    run.values.update(domains=[s["domain"] for s in specs], specialists=specs,
                      branches={a.name: {"status": "ok", "output": r.final_output,
                                         "domain": s["domain"]}
                                for a, r, s in zip(specialists, results, specs, strict=True)})
    return run.result("\n\n".join(p for p in parts if p), path, specs[-1]["name"])


# ------------------------------------------------------------------ human approval


class _GateModel(Model):
    """Not a language model: the approval gate always asks to ``execute_plan`` its input.

    The decision to execute belongs to the pattern (as the LangGraph ``approval`` node); the
    person decides through the SDK's own tool approval (``needs_approval=True``).
    """

    async def get_response(self, system_instructions: Any, input: Any, *args: Any,
                           **kwargs: Any) -> ModelResponse:
        items = [input] if isinstance(input, str) else list(input)
        plan = ""
        for item in items:
            raw = {"role": "user", "content": item} if isinstance(item, str) else _plain(item)
            if raw.get("role") == "user":
                plan = _content_text(raw.get("content"))
        digest = hashlib.sha256(plan.encode()).hexdigest()[:12]
        call = ResponseFunctionToolCall(
            id="fc_gate", call_id=f"call_execute_plan_{digest}",
            type="function_call", name="execute_plan", status="completed",
            arguments=json.dumps({"plan": plan}))
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("the approval gate is not streamed")


def _gate(run: Run) -> tuple[agents.Agent[Any], Network]:
    from agentpatterns.graphs.human_approval import APPROVAL

    planner, executor = run.pattern.agents
    net = build_network([planner, executor], run_model=run.run_model, handoffs=False,
                        hooks=run.log, extract=run.log.extractor())

    async def execute(ctx: Any, raw: str) -> Any:
        plan = json.loads(raw or "{}").get("plan", "")
        edited = (ctx.context or {}).get("edited_plan") if isinstance(ctx.context,
                                                                       Mapping) else None
        result = await run.run(net[executor.name], edited or plan)
        run.log.record(ctx.tool_call_id, result, turn_break=True)
        return result.final_output

    tool = SDKFunctionTool(
        name="execute_plan", description="Execute the approved plan",
        params_json_schema={"type": "object", "properties": {"plan": {"type": "string"}},
                            "required": ["plan"], "additionalProperties": False},
        on_invoke_tool=execute, needs_approval=True)
    gate: agents.Agent[Any] = agents.Agent(name=APPROVAL, model=_GateModel(), tools=[tool],
                                           tool_use_behavior="stop_on_first_tool")
    run.log.skip.add(APPROVAL)
    return gate, net


def _approval_question(plan: str, revisions_left: int, call_id: str | None) -> dict[str, Any]:
    return {"plan": plan, "question": "Approve this plan?",
            "answer_with": "True (approve), False (reject), or {'feedback': '...'} to revise, "
                           "or {'approved': True, 'plan': '...'} to run an edited plan",
            "revisions_left": revisions_left, "tool": "execute_plan", "call_id": call_id}


async def human_approval(run: Run, *, path: list[str] | None = None, revisions: int = 0,
                         text: str | None = None) -> RunResult:
    """Planner, then the gate's ``execute_plan`` call waits for approval (interrupted)."""
    planner, _ = run.pattern.agents
    gate, net = _gate(run)
    planned = await run.run(net[planner.name], text or run.request)
    path = run.log.path_of(planned.new_items, start=path or [])
    plan = output_text(planned.final_output)
    waiting = await run.run(gate, plan)
    calls = _approvals(waiting)
    question = _approval_question(plan, int(run.pattern.options["max_revisions"]) - revisions,
                                  calls[0]["call_id"] if calls else None)
    run.values["plan"] = plan
    await _save(run, {"kind": "human_approval", "status": "waiting", "plan": plan,
                      "revisions": revisions, "state": waiting.to_state().to_json(),
                      "path": path, "interruption": question})
    # nobody has given the final answer yet (LangGraph's last_agent is unset too)
    return run.result(None, path, None, interrupted=True, interruption=question)


async def _resume_approval(run: Run, saved: Mapping[str, Any], decision: dict[str, Any]
                           ) -> RunResult:
    from agentpatterns.graphs.human_approval import REJECTED

    planner, _ = run.pattern.agents
    plan, revisions = str(saved.get("plan") or ""), int(saved.get("revisions") or 0)
    path = list(saved.get("path") or [])
    run.values["plan"] = plan
    if decision.get("plan"):
        run.context["edited_plan"] = decision["plan"]
        run.values["plan"] = decision["plan"]
    gate, _ = _gate(run)
    state = await RunState.from_json(gate, dict(saved["state"]), context_override=run.context)
    items = state.get_interruptions()
    max_revisions = int(run.pattern.options["max_revisions"])
    if not decision["approved"] and decision.get("feedback") and revisions < max_revisions:
        text = f"{run.request}\nPrevious plan: {plan}\nFeedback: {decision['feedback']}"
        run.values["decision"] = decision
        return await human_approval(run, path=path, revisions=revisions + 1, text=text)
    for item in items:
        if decision["approved"]:
            state.approve(item)
        else:
            state.reject(item, rejection_message=REJECTED)
    result = await run.run(gate, state)
    path = run.log.path_of(result.new_items, start=path)
    run.values["decision"] = decision
    await _save(run, {"kind": "human_approval", "status": "done", "plan": run.values["plan"]})
    if not decision["approved"]:
        run.log.events.append({"type": "rejected", "feedback": decision.get("feedback")})
        run.values["stopped"] = {"reason": "rejected", "feedback": decision.get("feedback")}
        return run.result(REJECTED, path, planner.name)
    return run.result(result.final_output, path, run.pattern.agents[1].name)


async def resume(run: Run, decision: Any) -> RunResult:
    """Continue a thread's run that waits for a human decision.

    Raises:
        ResumeError: No run of this thread in the store, or it already finished.
    """
    saved = await _load(run.store, run.thread_id)
    if saved is None:
        raise ResumeError(f"thread {run.thread_id!r} has no SDK run waiting in this store; "
                          "check the thread id and pass the same store= as the run")
    if saved.get("status") != "waiting":
        raise ResumeError(f"thread {run.thread_id!r} already finished; start a new run instead")
    decided = normalize_decision(decision)
    run.request = str(saved.get("input") or "")
    run.context["input"] = run.request
    run.values.update(dict(saved.get("values") or {}))
    run.merge_counts(saved)
    if saved.get("kind") == "human_approval":
        return await _resume_approval(run, saved, decided)
    run.values["__decision__"] = decided
    run.values["__resumed__"] = True
    return await network(run, start=str(saved["current"]), state=dict(saved["state"]),
                         path=list(saved.get("path") or []))


async def _network(run: Run) -> RunResult:
    return await network(run)


DRIVERS = {
    "handoffs": _network, "triage": _network, "sequential": _network,
    "hierarchical": _network, "memory": _network, "reflection": reflection,
    "parallel": parallel, "supervisor": supervisor, "dynamic": dynamic,
    "human_approval": human_approval,
}
