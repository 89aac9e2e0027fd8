"""Plain-async drivers around ``agents.Runner.run``, one per pattern kind.

Each driver mirrors its LangGraph builder in ``agentpatterns/graphs/`` - same prompts, same
bounds, same stop rules - so both runtimes send the model the same messages. Runs that stop
for a human decision persist the SDK ``RunState`` (``to_json``) in a LangGraph store under
the thread id; :func:`resume` rebuilds the agents, loads it (``RunState.from_json``),
approves or rejects, and continues - from another process if the store is a file or server
(:mod:`~agentpatterns.adapters.openai_agents.store`; the approval pattern's own driver is in
:mod:`~agentpatterns.adapters.openai_agents.approval`). A handoff network cut off by its budget is
saved there too, as its conversation, and :func:`resume` continues it.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Mapping
from typing import Any

from agents import FunctionTool as SDKFunctionTool
from agents import RunState

from agentpatterns.adapters.openai_agents.approval import human_approval
from agentpatterns.adapters.openai_agents.bridge import _plain
from agentpatterns.adapters.openai_agents.guard import (
    BudgetStop,
    EnterPattern,
    Reroute,
    checked_tool,
    conversation,
)
from agentpatterns.adapters.openai_agents.guardrails import TAKEOVER
from agentpatterns.adapters.openai_agents.nested import (
    Stopped,
    enter,
    in_tool,
    sdk_agents,
    step,
)
from agentpatterns.adapters.openai_agents.replay import Paused
from agentpatterns.adapters.openai_agents.run import DRIVERS, NETWORK_KINDS, Run, text_of
from agentpatterns.adapters.openai_agents.store import MISSING, approvals, save
from agentpatterns.errors import BranchError
from agentpatterns.events import AgentStarted, Handoff
from agentpatterns.graphs.pattern import Participant, Pattern
from agentpatterns.nodes.approvals import PendingCall, verdicts_of
from agentpatterns.run.result import RunResult

__all__ = ["DRIVERS", "MISSING", "NETWORK_KINDS", "network"]



# ------------------------------------------------------------------ handoff networks


def _sequence_next(pattern: Pattern) -> dict[str, str]:
    return {e.source: e.target for e in pattern.edges if e.kind == "sequence"}


async def network(run: Run, *, start: str | None = None, state: Any = None,
                  path: list[str] | None = None, items: list[Any] | None = None,
                  same_turn: bool = False) -> RunResult:
    """Handoff networks: one ``Runner.run`` per stretch of handoffs; ``sequence`` edges, the
    triage ``fallback`` and a fallback after a failed turn (:class:`Reroute`) continue on the
    conversation with another ``Runner.run``.

    Args:
        run: The run.
        start: The agent to start with (default: the entry).
        state: A saved ``RunState`` (JSON) to resume with the pending decision.
        path: The path so far (a resume).
        items: The conversation to continue (a budget resume without a session).
        same_turn: The first ``Runner.run`` continues the turn of ``path[-1]``.
    """
    pattern = run.pattern
    net = sdk_agents(run, pattern.agents)
    nxt = _sequence_next(pattern)
    fallback = pattern.options.get("fallback")
    current = start or pattern.entry
    input: Any = run.items if run.items is not None else run.request
    if state is not None:
        input = await RunState.from_json(net[current], state, context_override=run.context)
        _decide(input, run.values.pop("__decision__"))
    elif items is not None:
        input = items
    path = list(path or [])
    while True:
        run.path = path
        nested = pattern.pattern_map.get(current)
        if nested is not None:
            # a nested pattern takes over the conversation; its answer is what follows
            so_far = await _conversation(run, input)
            turn = await enter(run, nested, run.request, so_far)
            path = run.log.path_of(turn.new_items, start=path)
            run.path = path
            if run.session is not None:
                await run.session.add_items(turn.items[len(so_far) - len(_unsaved(input)):])
            follow = nxt.get(current)
            if follow is None:
                run.values["input_items"] = turn.items
                return await _finish(run, turn.final_output, path, turn.last_agent.name)
            input = [] if run.session is not None else turn.items
            run.values["__output__"] = [turn.final_output, turn.last_agent.name]
            current, same_turn = follow, False
            continue
        # a nested network's entry takes over the conversation: it checks the request
        takeover = TAKEOVER.set(run.request if run.parent is not None and current ==
                                pattern.entry and not path and not same_turn else None)
        run.turn = current
        try:
            result = await run.run(net[current], input, session=run.session)
        except EnterPattern as exc:  # a handoff to a nested pattern
            data = exc.run_data
            if data is not None:
                path = run.log.path_of(data.new_items, start=path, same_turn=same_turn)
            input = ([] if run.session is not None or data is None else conversation(data))
            current, same_turn, run.turn = exc.pattern, False, None
            continue
        except Reroute as exc:
            # the turn failed: its conversation so far goes to the fallback (as on LangGraph)
            data = exc.run_data
            if data is not None:
                path = run.log.path_of(data.new_items, start=path, same_turn=same_turn)
            if not path or path[-1] != exc.agent:
                path.append(exc.agent)
            input = (exc.items if run.session is not None or data is None
                     else conversation(data, exc.items))
            if exc.to == exc.agent:  # a corrective retry: the agent's turn goes on
                current, same_turn = exc.agent, True
                continue
            asked = f" (asked for {exc.asked_for})" if exc.asked_for else ""
            run.log.handoffs.append({"from": exc.agent, "to": exc.to, "step": len(path),
                                     "reason": f"fallback after {exc.reason.replace('_', ' ')}"
                                               f"{asked}"})
            await run.report_fallback(run.log.handoffs[-1])
            current, same_turn, run.turn = exc.to, False, None
            continue
        except BudgetStop as exc:
            await _budget_stop(run, exc, current, path, input, same_turn)
            raise
        finally:
            TAKEOVER.reset(takeover)
        run.turn = None  # (a run stopped inside the turn keeps it: see Run.progress)
        # a resumed run's new_items repeat the items before the interruption, so the path
        # and handoff log of a Runner.run are always derived from all its items at once
        base, before = path, len(run.log.handoffs)
        path = run.log.path_of(result.new_items, start=base, same_turn=same_turn)
        same_turn = False
        if result.interruptions:
            interruption = {"question": "Approve these tool calls?",
                            "approvals": approvals(result)}
            del run.log.handoffs[before:]
            await save(run, {"kind": "network", "status": "waiting", "current": current,
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
            await run.report_fallback(run.log.handoffs[-1])
            follow = fallback
        if follow is None:
            run.values["input_items"] = result.to_input_list()
            return await _finish(run, result.final_output, path, last)
        input = [] if run.session is not None else result.to_input_list()
        if follow == nxt.get(last):  # a step's output stands until the next one's (LangGraph)
            run.values["__output__"] = [result.final_output, last]
        current = follow


def _unsaved(input: Any) -> list[Any]:
    """The input items of the next ``Runner.run`` (not in the session yet)."""
    if isinstance(input, str):
        return [{"role": "user", "content": input}]
    return list(input) if isinstance(input, list) else []


async def _conversation(run: Run, input: Any) -> list[Any]:
    """The conversation so far: the session's items (if any), then ``input``'s."""
    saved = list(await run.session.get_items()) if run.session is not None else []
    return [*saved, *_unsaved(input)]


async def _budget_stop(run: Run, exc: BudgetStop, current: str, path: list[str], input: Any,
                       same_turn: bool) -> None:
    """Save a network run cut off by its budget so that ``resume_sdk`` can continue it.

    An exception leaves no SDK ``RunState`` (``to_state`` needs a result), so what is saved
    is the conversation at the last completed model turn (``exc.run_data``: the run's input
    and items; with a session the session holds it) and the agent whose call was refused.
    """
    data = exc.run_data
    if data is not None:
        path = run.log.path_of(data.new_items, start=path, same_turn=same_turn)
        current = data.last_agent.name
        items: Any = [] if run.session is not None else conversation(data)
    else:
        items = [] if run.session is not None or isinstance(input, RunState) else input
    run.path = path
    if run.parent is not None or run.pattern.patterns:
        return  # a composition's SDK run is not resumable after its budget (SDKBudget says)
    await save(run, {"kind": "network", "status": "budget", "current": current,
                      "items": items, "path": path})


async def _finish(run: Run, output: Any, path: list[str], last: str | None) -> RunResult:
    if run.values.get("__resumed__") and run.parent is None:
        await save(run, {"kind": run.pattern.kind, "status": "done"})
    run.values.pop("__resumed__", None)
    return run.result(output, path, last)


def _decide(state: RunState[Any], decision: Mapping[str, Any]) -> None:
    """Approve or reject the pending tool calls (``RunState.approve`` / ``reject``) as the
    LangGraph runtime does (:func:`agentpatterns.nodes.approvals.verdicts_of`): calls the
    decision leaves out stay pending, and the SDK asks for them again."""
    items = {str(_plain(item.raw_item).get("call_id")): item
             for item in state.get_interruptions()}
    pending = [PendingCall(item.agent.name, item, {}, call_id)
               for call_id, item in items.items()]
    for call_id, (approved, message) in verdicts_of(decision, pending).items():
        if approved:
            state.approve(items[call_id])
        else:
            state.reject(items[call_id], rejection_message=message)


# ------------------------------------------------------------------ reflection


async def reflection(run: Run) -> RunResult:
    """generator -> critic -> generator ..., with the prompts of ``graphs/reflection.py``."""
    pattern = run.pattern
    generator = pattern.participant(pattern.options["generator"])
    critic = pattern.participant(pattern.options["critic"])
    iterations = int(pattern.options["iterations"])
    stop_when = pattern.options.get("stop_when")
    net = sdk_agents(run, [generator, critic], handoffs=False)
    drafts: list[str] = []
    critiques: list[str] = []
    path: list[str] = []
    text = run.request
    for i in range(1, iterations + 1):
        result = await step(run, net, generator, text)
        draft = text_of(result.final_output)
        drafts.append(draft)
        path = run.path = run.log.path_of(result.new_items, start=path)
        review = await step(run, net, critic,
                            f"Review this: {draft}. Provide specific improvements.")
        feedback = text_of(review.final_output)
        critiques.append(feedback)
        path = run.path = run.log.path_of(review.new_items, start=path)
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
    synthesizer = pattern.participant(pattern.options["synthesizer"])
    policy = pattern.options["on_branch_error"]
    net = sdk_agents(run, [*pattern.agents], handoffs=False)
    results = await asyncio.gather(
        *(step(run, net, pattern.participant(n), run.request) for n in names),
        return_exceptions=True)
    whole = BudgetStop | Paused | Stopped  # the shared ceiling, a stop of the whole run
    stop = next((r for r in results if isinstance(r, whole)), None)
    branches: dict[str, dict[str, Any]] = {}
    path: list[str] = []
    for name, result in zip(names, results, strict=True):
        if stop is not None and isinstance(result, BaseException):
            continue  # the finished branches are the stopped run's
        if isinstance(result, BaseException):
            if policy != "continue" or not isinstance(result, Exception):
                raise BranchError(f"parallel branch {name!r} failed: {type(result).__name__}: "
                                  f"{result}; fix it, or build with on_branch_error='continue'"
                                  ) from result
            branches[name] = {"status": "error", "error": f"{type(result).__name__}: {result}"}
            run.log.events.append({"type": "branch_error", "agent": name, "error": str(result)})
            continue
        branches[name] = {"status": "ok", "output": result.final_output}
        path = run.path = run.log.path_of(result.new_items, start=path)
    if stop is not None:
        run.values["branches"] = branches
        raise stop
    run.active.clear()  # a failed branch's turns are in no path (as on LangGraph)
    ok = [n for n in names if branches[n]["status"] == "ok"]
    if not ok:
        raise BranchError("every parallel branch failed: " + "; ".join(
            f"{n}: {branches[n].get('error')}" for n in names))
    combined = "\n\n".join(text_of(branches[n]["output"]) for n in ok)
    final = await step(run, net, synthesizer, f"Synthesize: {combined}")
    path = run.path = run.log.path_of(final.new_items, start=path)
    run.values["branches"] = branches
    return run.result(final.final_output, path, final.last_agent.name
                      if isinstance(synthesizer, Pattern) else synthesizer.name)


# ------------------------------------------------------------------ supervisor


async def supervisor(run: Run) -> RunResult:
    """The boss gets ``assign_to_<worker>`` tools; a call runs the worker on the task and
    returns its report as the tool output; after ``max_rounds`` the boss must answer."""
    from agentpatterns.graphs.supervisor import _control

    pattern = run.pattern
    boss = pattern.agent(pattern.entry)
    workers = [pattern.participant(n) for n in pattern.options["workers"]]
    max_rounds = int(pattern.options["max_rounds"])
    net = sdk_agents(run, [*pattern.agents], handoffs=False)
    assignments: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []

    def open_rounds(ctx: Any, agent: Any) -> bool:
        return len(assignments) < max_rounds

    def assign(worker: Participant) -> Any:
        async def invoke(ctx: Any, raw: str) -> str:
            if len(assignments) >= max_rounds:
                return f"Error: the {max_rounds} rounds are used up; answer now."
            args = json.loads(raw or "{}")
            task = str(args.get("task") or run.request)
            assignments.append({"worker": worker.name, "task": task,
                                "round": len(assignments) + 1, "call_id": ctx.tool_call_id})
            # streamed, the assignment and the boss's next turn read as on LangGraph
            await run.report(Handoff(source=boss.name, target=worker.name, reason=task,
                                     kind="assign"))
            result = await in_tool(step(run, net, worker, task))
            run.log.record(ctx.tool_call_id, result, turn_break=True)
            report = text_of(result.final_output)
            reports.append({"worker": worker.name, "report": report,
                            "round": len(assignments)})
            await run.report(AgentStarted(agent=boss.name, patterns=run.scope[1:]))
            return report

        return invoke

    tools: list[Any] = []
    for tool in net[boss.name].tools:
        gated = copy.copy(tool)  # per-run copy: its is_enabled closes over this run
        object.__setattr__(gated, "is_enabled", open_rounds)
        tools.append(gated)
    for worker in workers:
        control = _control(worker)
        # malformed arguments: corrected once, then our named error (as every tool's)
        tools.append(checked_tool(
            SDKFunctionTool(name=control.name, description=control.description,
                            params_json_schema=dict(control.parameters),
                            on_invoke_tool=assign(worker), is_enabled=open_rounds),
            boss.name, run.guard))
    object.__setattr__(net[boss.name], "tools", tools)
    run.turn = boss.name  # while its turn is under way (a stopped run's path)
    result = await run.run(net[boss.name], run.request)
    run.turn = None
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
    net = sdk_agents(run, [analyzer], handoffs=False)
    analysis = await run.run(net[analyzer.name], f"What expertise is needed: {run.request}")
    path = run.path = run.log.path_of(analysis.new_items)
    raw = analysis.final_output
    listed = getattr(raw, "domains", None) if raw is not None else None
    domains = list(dict.fromkeys(str(d).strip() for d in (listed or []) if str(d).strip()))
    if not domains:
        run.log.events.append({"type": "no_domains", "agent": analyzer.name})
        return run.result(raw, path, analyzer.name)
    specs, dropped = create_specialists(domains, make, cap, {analyzer.name},
                                        within=pattern.name)
    if dropped:
        run.log.events.append({"type": "capped", "agent": analyzer.name,
                               "max_specialists": cap, "dropped": dropped})
    made = [rebuild(s, make) for s in specs]
    for m in made:  # made at run time: in this pattern (a made pattern's agents in it)
        inside = m.scopes() if isinstance(m, Pattern) else {m.name: ()}
        run.log.made.update({a: (*run.scope, *p) for a, p in inside.items()})
    team = sdk_agents(run, made, handoffs=False)
    done = await asyncio.gather(*(step(run, team, m, run.request) for m in made),
                                return_exceptions=True)
    stop = next((r for r in done if isinstance(r, BaseException)), None)
    if stop is not None:
        raise stop
    results: list[Any] = list(done)
    for result in results:
        path = run.path = run.log.path_of(result.new_items, start=path)
    run.active.clear()
    parts = [text_of(r.final_output) for r in results]
    run.values.update(domains=[s["domain"] for s in specs], specialists=specs,
                      branches={m.name: {"status": "ok", "output": r.final_output,
                                         "domain": s["domain"]}
                                for m, r, s in zip(made, results, specs, strict=True)})
    return run.result("\n\n".join(p for p in parts if p), path, specs[-1]["name"])


async def _network(run: Run) -> RunResult:
    return await network(run)


DRIVERS.update({
    "handoffs": _network, "triage": _network, "sequential": _network,
    "hierarchical": _network, "memory": _network, "reflection": reflection,
    "parallel": parallel, "supervisor": supervisor, "dynamic": dynamic,
    "human_approval": human_approval,
})
