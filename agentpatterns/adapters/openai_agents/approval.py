"""The human-approval pattern on the SDK: the planner, then a gate whose ``execute_plan``
tool call waits for approval through the SDK's own tool approval (``needs_approval=True``);
``RunState.approve`` / ``reject`` answer it when the run is resumed.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import agents
from agents import FunctionTool as SDKFunctionTool
from agents import ModelResponse, RunState
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from agentpatterns.adapters.openai_agents.bridge import _content_text, _plain
from agentpatterns.adapters.openai_agents.build import Network, output_text
from agentpatterns.adapters.openai_agents.nested import in_tool, sdk_agents, step
from agentpatterns.adapters.openai_agents.replay import Paused
from agentpatterns.adapters.openai_agents.run import Run
from agentpatterns.adapters.openai_agents.store import approvals, save
from agentpatterns.graphs.pattern import Participant, Pattern
from agentpatterns.run.result import RunResult

__all__ = ["human_approval", "resume_approval"]


class _GateModel(Model):
    """Not a language model: the approval gate always asks to ``execute_plan`` its input.

    The decision to execute belongs to the pattern (as the LangGraph ``approval`` node); the
    person decides through the SDK's own tool approval (``needs_approval=True``).
    """

    async def get_response(self, system_instructions: Any, input: Any, *args: Any,
                           **kwargs: Any) -> ModelResponse:
        items = [input] if isinstance(input, str) else list(input)
        plan = ""
        answered: str | None = None
        for item in items:
            raw = {"role": "user", "content": item} if isinstance(item, str) else _plain(item)
            if raw.get("role") == "user":
                plan, answered = _content_text(raw.get("content")), None
            elif raw.get("type") == "function_call_output":
                answered = str(raw.get("output") or "")
        if answered is not None:
            # the call was answered (an SDK before 0.24 asks again after a rejection, which
            # stop_on_first_tool does not end there): the answer is the gate's final word
            return ModelResponse(output=[ResponseOutputMessage(
                id="msg_gate", type="message", role="assistant", status="completed",
                content=[ResponseOutputText(text=answered, type="output_text", annotations=[],
                                            logprobs=[])])], usage=Usage(), response_id=None)
        digest = hashlib.sha256(plan.encode()).hexdigest()[:12]
        call = ResponseFunctionToolCall(
            id="fc_gate", call_id=f"call_execute_plan_{digest}",
            type="function_call", name="execute_plan", status="completed",
            arguments=json.dumps({"plan": plan}))
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        """The same answer as one ``response.completed`` event (a streamed run: progress,
        ``run_sdk_streamed``)."""
        from openai.types.responses import ResponseCompletedEvent

        from agentpatterns.adapters.openai_agents.bridge import _response

        answer = await self.get_response(*args, **kwargs)
        yield ResponseCompletedEvent(type="response.completed", sequence_number=0,
                                     response=_response("gate", answer.output, Usage(),
                                                        "completed"))


def _gate(run: Run) -> tuple[agents.Agent[Any], Network]:
    from agentpatterns.graphs.human_approval import APPROVAL

    planner, executor = _roles(run)
    net = sdk_agents(run, [planner, executor], handoffs=False)

    async def execute(ctx: Any, raw: str) -> Any:
        plan = json.loads(raw or "{}").get("plan", "")
        edited = run.state.get("edited_plan")
        result = await in_tool(step(run, net, executor, edited or plan))
        run.log.record(ctx.tool_call_id, result, turn_break=True)
        run.values["__executed_by__"] = result.last_agent.name
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


def _roles(run: Run) -> tuple[Participant, Participant]:
    """The planner and the executor (agents or nested patterns)."""
    options = run.pattern.options
    return run.pattern.participant(options["planner"]), run.pattern.participant(
        options["executor"])


def _approval_question(plan: str, revisions_left: int, call_id: str | None) -> dict[str, Any]:
    return {"plan": plan, "question": "Approve this plan?",
            "answer_with": "True (approve), False (reject), or {'feedback': '...'} to revise, "
                           "or {'approved': True, 'plan': '...'} to run an edited plan",
            "revisions_left": revisions_left, "tool": "execute_plan", "call_id": call_id}


async def human_approval(run: Run, *, path: list[str] | None = None, revisions: int = 0,
                         text: str | None = None) -> RunResult:
    """Planner, then the gate's ``execute_plan`` call waits for approval (interrupted).

    In a composition (``run.guard.journal`` set: see
    :mod:`~agentpatterns.adapters.openai_agents.replay`) the gate takes the journal's next
    decision for it, or stops the whole run (:class:`Paused`).
    """
    planner, _ = _roles(run)
    gate, net = _gate(run)
    planned = await step(run, net, planner, text or run.request)
    path = run.path = run.log.path_of(planned.new_items, start=path or [])
    plan = output_text(planned.final_output)
    waiting = await run.run(gate, plan)
    calls = approvals(waiting)
    question = _approval_question(plan, int(run.pattern.options["max_revisions"]) - revisions,
                                  calls[0]["call_id"] if calls else None)
    run.values["plan"] = plan
    journal = run.guard.journal if run.guard is not None else None
    if journal is not None and journal.gates:
        question.update(pattern=run.pattern.name, patterns=list(run.scope))
        decision = journal.decision_for(run.scope)
        if decision is None:
            raise Paused(question, run.scope)
        return await _decided(run, gate, waiting.to_state(), plan, revisions, path, decision)
    await save(run, {"kind": "human_approval", "status": "waiting", "plan": plan,
                      "revisions": revisions, "state": waiting.to_state().to_json(),
                      "path": path, "interruption": question})
    # nobody has given the final answer yet (LangGraph's last_agent is unset too)
    return run.result(None, path, None, interrupted=True, interruption=question)


async def resume_approval(run: Run, saved: Mapping[str, Any], decision: dict[str, Any]
                           ) -> RunResult:
    """Answer the saved gate of an approval run (``RunState.from_json``)."""
    plan, revisions = str(saved.get("plan") or ""), int(saved.get("revisions") or 0)
    gate, _ = _gate(run)
    state = await RunState.from_json(gate, dict(saved["state"]), context_override=run.context)
    result = await _decided(run, gate, state, plan, revisions, list(saved.get("path") or []),
                            decision)
    if not result.interrupted:
        await save(run, {"kind": "human_approval", "status": "done",
                          "plan": run.values["plan"]})
    return result


async def _decided(run: Run, gate: agents.Agent[Any], state: RunState[Any], plan: str,
                   revisions: int, path: list[str], decision: dict[str, Any]) -> RunResult:
    """The gate's answer: revise the plan (feedback), or approve / reject its call."""
    from agentpatterns.graphs.human_approval import REJECTED

    planner, executor = _roles(run)
    run.values["plan"] = plan
    if decision.get("plan"):
        run.state["edited_plan"] = decision["plan"]
        run.values["plan"] = decision["plan"]
    max_revisions = int(run.pattern.options["max_revisions"])
    if not decision["approved"] and decision.get("feedback") and revisions < max_revisions:
        text = f"{run.request}\nPrevious plan: {plan}\nFeedback: {decision['feedback']}"
        run.values["decision"] = decision
        return await human_approval(run, path=path, revisions=revisions + 1, text=text)
    for item in state.get_interruptions():
        if decision["approved"]:
            state.approve(item)
        else:
            state.reject(item, rejection_message=REJECTED)
    result = await run.run(gate, state)
    path = run.path = run.log.path_of(result.new_items, start=path)
    run.values["decision"] = decision
    if not decision["approved"]:
        run.log.events.append({"type": "rejected", "feedback": decision.get("feedback")})
        run.values["stopped"] = {"reason": "rejected", "feedback": decision.get("feedback")}
        return run.result(REJECTED, path, planner.name)
    last = run.values.pop("__executed_by__", None)  # a nested executor's own last agent
    return run.result(result.final_output, path,
                      last if isinstance(executor, Pattern) and last else executor.name)
