"""One agent's turn: model calls, its own tool calls, agents used as tools, and the handoff.

The turn is written once, as a generator that *yields requests* (call the model, run a
tool, run a sub-agent, run a guardrail, report a progress event) and receives their results.
Two small drivers (:mod:`agentpatterns.nodes._drivers`) execute it, one blocking and one
``async``, so a compiled pattern works with ``invoke`` and ``ainvoke`` alike without two
copies of the agent logic.

How a turn copes with a misbehaving model (each incident is recorded in ``events``):

* a tool or handoff name that does not exist: to the ``fallback`` agent at once when there
  is one; otherwise a corrective tool message and one more try, then ``ModelBehaviorError``;
* malformed tool arguments: a corrective tool message and one more try; then the fallback
  agent, else ``ModelBehaviorError``;
* the model call raising: one retry; then the fallback agent, else ``ModelCallError``;
* an answer that does not validate into ``output_type``: one corrective retry, then
  ``OutputValidationError``.

Guardrails run here too (see :mod:`agentpatterns.nodes.guardrails`): a tripped wire ends
the turn with ``TurnResult.tripwire`` set, and the graph node stops the run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentpatterns.errors import MaxTurnsExceeded, ModelCallError, RunError
from agentpatterns.nodes._steps import (
    call_tool,
    final_answer,
    guard,
    handoff_call,
    handoff_input,
    is_handoff_target,
    model_error_message,
    schema_of,
    strike,
    tools_answer,
)
from agentpatterns.nodes._steps import response_format as _response_format
from agentpatterns.nodes._text import AGENT_KEY as _AGENT_KEY
from agentpatterns.nodes._text import handoff_tool_name
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.approvals import (
    REJECTION_MESSAGE,
    Approval,
    ApprovalCheck,
    PendingCall,
    gated,
)
from agentpatterns.nodes.context import RunContextWrapper, current_context
from agentpatterns.nodes.guardrails import GuardrailContext
from agentpatterns.nodes.handoff import Handoff, enabled
from agentpatterns.nodes.hooks import TurnHooks
from agentpatterns.nodes.protocol import (
    Control,
    Emit,
    GuardrailRun,
    ModelCall,
    ModelFailure,
    Notify,
    Request,
    SubAgent,
    ToolRun,
    TurnResult,
)
from agentpatterns.nodes.tool_use import FunctionToolResult, UserCall
from agentpatterns.nodes.tools import AgentTool, FunctionTool, ToolArgumentsError
from agentpatterns.redaction import redact, redacted_error

__all__ = [
    "AGENT_KEY",
    "MAX_TURNS_KEY",
    "MODEL_KEY",
    "Control",
    "Emit",
    "GuardrailRun",
    "ModelCall",
    "ModelFailure",
    "Notify",
    "Request",
    "SubAgent",
    "ToolRun",
    "TurnResult",
    "agent_turn",
    "is_handoff_target",
    "model_error_message",
    "run_turns",
    "sub_turn",
    "system_messages",
    "system_prompt",
]

#: ``config["configurable"][MODEL_KEY]`` carries the run's ``model=`` override into nodes.
MODEL_KEY = "agentpatterns_model"
#: Run metadata of every model call: the agent making it (token streams are attributed by it).
AGENT_KEY = _AGENT_KEY
DEFAULT_MAX_TURNS = 10
#: ``config["configurable"][MAX_TURNS_KEY]``: the run's ``max_turns=`` (the whole run's bound)
MAX_TURNS_KEY = "agentpatterns_max_turns"

#: (the run's max_turns, model turns the run made before this node) inside a graph node
_RUN_TURNS: ContextVar[tuple[int, int] | None] = ContextVar("agentpatterns_run_turns",
                                                            default=None)


@contextlib.contextmanager
def run_turns(config: Mapping[str, Any] | None, state: Mapping[str, Any]) -> Iterator[None]:
    """Around a graph node's turn: the run's ``max_turns`` bound and what it used so far."""
    bound = ((config or {}).get("configurable") or {}).get(MAX_TURNS_KEY)
    token = _RUN_TURNS.set(None if bound is None else (int(bound), int(state.get("turns") or 0)))
    try:
        yield
    finally:
        _RUN_TURNS.reset(token)

def system_prompt(agent: Agent, state: Mapping[str, Any]) -> str:
    """The system prompt an agent runs with: its instructions as written (as in the SDK)."""
    return agent.render_instructions(state)


def system_messages(agent: Agent, state: Mapping[str, Any]) -> list[BaseMessage]:
    """The system message of a model call (none for an agent without instructions, as in the
    SDK); it names the agent in ``response_metadata`` (never sent to a model)."""
    prompt = system_prompt(agent, state)
    return [SystemMessage(prompt, response_metadata={"agent": agent.name})] if prompt else []


def agent_turn(
    agent: Agent,
    history: Sequence[BaseMessage],
    *,
    state: Mapping[str, Any],
    handoffs: Sequence[Agent] | None = None,
    controls: Sequence[Control] = (),
    fallback: str | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    offer_tools: bool = True,
    check_input: str | None = None,
    nested: bool = False,
) -> Generator[Request, Any, TurnResult]:
    """Run one turn of ``agent`` on ``history``; see the module docstring for the protocol.

    Args:
        agent: The agent taking the turn.
        history: The conversation it sees (its system prompt is added in front).
        state: The run state (for callable instructions and guardrail contexts).
        handoffs: Handoff targets offered (default: ``agent.handoffs``).
        controls: Extra pattern-handled tools (supervisor assignments).
        fallback: Agent to hand to when the model names a tool or handoff that does not
            exist, sends malformed arguments twice, or its call fails twice.
        max_turns: Bound on model calls in this turn (tool round trips included).
        offer_tools: False to offer nothing (a forced final answer).
        check_input: The input the agent starts on: its input guardrails check it before the
            first model call. ``None`` when it takes over a conversation (a handoff).
        nested: The turn of an agent used as a tool: the run's hooks are not called (the
            agent's own are), as in the SDK's nested run.
    """
    result = TurnResult(agent=agent.name, path=[agent.name])
    yield Notify({"type": "agent_started", "agent": agent.name})
    hooks = TurnHooks.of(agent, nested=nested)
    run_ctx = RunContextWrapper(context=current_context())
    if hooks is not None:
        yield hooks.agent_start(run_ctx, agent)
    if check_input is not None:
        for guardrail in agent.input_guardrails:
            if (yield from guard(result, guardrail, agent, state, check_input)):
                return result
    targets = list(agent.handoffs if handoffs is None else handoffs)
    table: dict[str, Any] = {}
    context = GuardrailContext(agent=agent.name, state=state, context=current_context())
    options: dict[str, Handoff] = {}  # handoff(...) options by tool name
    if offer_tools:
        for tool in agent.tools:
            table[tool.name] = tool
        for target in targets:
            spec = agent.handoff_options.get(target.name)
            if spec is not None and not (yield from enabled(spec, context, agent)):
                continue
            name = spec.tool_name if spec is not None and spec.tool_name else \
                handoff_tool_name(target.name)
            table[name] = target
            if spec is not None:
                options[name] = spec
        for control in controls:
            table[control.name] = control
    schemas = tuple(schema_of(name, entry, options.get(name)) for name, entry in table.items())
    # tools whose is_enabled is not plainly True: asked before every model call (the SDK's)
    switchable = [name for name, entry in table.items()
                  if getattr(entry, "is_enabled", True) is not True
                  and isinstance(entry, FunctionTool | AgentTool)]
    lookup = table
    system = system_messages(agent, state)
    response_format = _response_format(agent)
    strikes = {"unknown": 0, "arguments": 0, "output": 0, "model": 0}
    fallback = fallback if fallback != agent.name else None
    new = result.messages

    def to_fallback(reason: str, asked_for: str | None) -> bool:
        if fallback is None or result.handoff is not None:
            return False
        result.events.append({"type": "fallback", "agent": agent.name, "reason": reason,
                              "asked_for": asked_for, "to": fallback})
        result.handoff = fallback
        return True

    settings = agent.model_settings
    used_tools = False
    run_bound = None if nested else _RUN_TURNS.get()  # Runner.run(max_turns=): the run's
    result.count_turns = run_bound is not None
    resumed = False  # approvals were decided (the run was resumed) in this turn
    for _ in range(max_turns):
        if callable(agent.instructions) and new:
            # asked again before every model call, as the SDK does: a tool may have changed
            # the run context the instructions read
            system = system_messages(agent, state)
        if switchable:
            lookup = dict(table)
            for name in switchable:
                setting = table[name].is_enabled
                if not (setting if isinstance(setting, bool) else (yield UserCall(
                        setting, (RunContextWrapper(context=current_context()), agent),
                        "is_enabled", name))):
                    del lookup[name]
            schemas = tuple(schema_of(name, entry, options.get(name))
                            for name, entry in lookup.items())
        # the SDK's reset_tool_choice: a forced tool_choice holds until a tool was used
        choice = None if settings is None or (used_tools and agent.reset_tool_choice) \
            else settings.tool_choice
        if run_bound is not None and run_bound[1] + result.turns >= run_bound[0]:
            raise MaxTurnsExceeded(
                f"the run reached max_turns={run_bound[0]} (model calls of its turns) at "
                f"agent {agent.name!r}; raise Runner.run(max_turns=...)")
        if hooks is not None:
            if resumed:  # the SDK starts a new turn of the agent after a decision
                yield hooks.agent_start(run_ctx, agent)
                resumed = False
            yield hooks.llm_start(run_ctx, agent, system, [*history, *new])
        reply = yield ModelCall(agent, [*system, *history, *new], schemas, response_format,
                                settings, choice)
        if isinstance(reply, ModelFailure):
            strikes["model"] += 1
            error = redact(f"{type(reply.error).__name__}: {reply.error}")
            retry = strikes["model"] == 1 and reply.transient
            result.events.append({"type": "model_error_retry" if retry else "model_error",
                                  "agent": agent.name, "error": error})
            if retry:
                continue
            if to_fallback("model_error", None):
                return result
            raise ModelCallError(model_error_message(agent.name, error, reply.transient)
                                 ) from redacted_error(reply.error)
        if not isinstance(reply, AIMessage):
            raise RunError(f"model of agent {agent.name!r} returned {type(reply).__name__}, "
                           "not an AIMessage")
        reply.response_metadata = {**(reply.response_metadata or {}), "agent": agent.name}
        result.count(agent.name, reply)
        result.turns += 1
        if hooks is not None:
            yield hooks.llm_end(run_ctx, agent, reply)
        new.append(reply)
        for bad in reply.invalid_tool_calls:
            name = str(bad.get("name"))
            detail = f"malformed arguments: {bad.get('error') or bad.get('args')}"
            routed = strike(result, strikes, "arguments", agent, name, detail,
                            fallback=fallback is not None) and to_fallback("arguments", name)
            new.append(ToolMessage(
                f"Error: the arguments of {name!r} were not valid JSON; "
                + (f"handing to {fallback}." if routed else "call it again with a JSON object."),
                tool_call_id=bad.get("id") or "invalid"))
        if result.handoff is not None:
            # every call of the reply gets its result, or the next model would reject it
            new.extend(ToolMessage(f"Ignored: handing to {fallback}.",
                                   tool_call_id=call.get("id") or call["name"])
                       for call in reply.tool_calls)
            return result
        if reply.invalid_tool_calls and not reply.tool_calls:
            continue
        if not reply.tool_calls:
            if (yield from final_answer(result, agent, state, reply, strikes, hooks)):
                return result
            continue
        deferred: list[PendingCall] = []
        results: list[FunctionToolResult] = []
        handed_to: Any = None
        for call in reply.tool_calls:
            name = call["name"]
            call_id = call.get("id") or name
            entry = lookup.get(name)
            if entry is None:
                available = ", ".join(lookup) or "none"
                if to_fallback("unknown_name", name):
                    new.append(ToolMessage(f"There is no {name!r}; handing to {fallback}.",
                                           tool_call_id=call_id))
                    continue
                if result.handoff is not None:  # already handed off (to the fallback)
                    new.append(ToolMessage(f"Ignored: there is no {name!r}.",
                                           tool_call_id=call_id))
                    continue
                strike(result, strikes, "unknown", agent, name,
                       f"there is no tool or handoff named {name!r} (available: {available})")
                new.append(ToolMessage(
                    f"Error: there is no tool or handoff named {name!r}. Available: {available}.",
                    tool_call_id=call_id))
            elif is_handoff_target(entry):
                if result.handoff is None:
                    handed_to = entry
                yield from handoff_call(result, entry, options.get(name), call, call_id, context)
            elif isinstance(entry, Control):
                result.control = (entry, dict(call.get("args") or {}), call_id)
                return result
            else:
                try:
                    args = entry.parse_arguments(call.get("args"))
                except ToolArgumentsError as exc:
                    routed = strike(result, strikes, "arguments", agent, name, str(exc),
                                    fallback=fallback is not None) and to_fallback(
                                        "arguments", name)
                    new.append(ToolMessage(
                        f"Error: {exc}. " + (f"Handing to {fallback}." if routed
                                             else "Call it again with valid arguments."),
                        tool_call_id=call_id))
                    continue
                raw = json.dumps(call.get("args") or {})
                if gated(entry):
                    pending = PendingCall(agent.name, entry, args, call_id, raw)
                    if (yield ApprovalCheck(pending)):
                        # asked for after the reply's other calls ran, as in the SDK
                        deferred.append(pending)
                        continue
                if (yield from call_tool(result, agent, entry, args, call_id, raw, results, hooks)):
                    return result
        if deferred:
            verdicts = yield Approval(tuple(deferred))
            resumed = True
            by_id = {p.call_id: p for p in deferred}
            # in the order they were decided (a later resume's calls come later), as the SDK
            for call_id, (approved, message) in verdicts.items():
                pending = by_id[call_id]
                if not approved:
                    result.events.append({"type": "tool_rejected", "agent": agent.name,
                                          "tool": pending.tool.name,
                                          "call_id": pending.call_id})
                    new.append(ToolMessage(message or REJECTION_MESSAGE,
                                           tool_call_id=pending.call_id))
                elif (yield from call_tool(result, agent, pending.tool, pending.args,
                                           pending.call_id, pending.raw, results, hooks)):
                    return result
        if result.handoff is not None:
            if hooks is not None and handed_to is not None:  # after the reply's tools (SDK)
                yield hooks.handoff(run_ctx, agent, handed_to)
            yield from handoff_input(result, history)  # handoff(input_filter=...)
            return result
        used_tools = used_tools or bool(results)
        if (yield from tools_answer(result, agent, state, context, results, hooks)):
            return result
    raise MaxTurnsExceeded(
        f"agent {agent.name!r} made {max_turns} model calls in one turn without finishing; "
        "raise max_turns or check its tools"
    )


def sub_turn(request: SubAgent) -> Generator[Request, Any, TurnResult]:
    """The turn of an agent used as a tool, on the task it is given.

    Its handoffs are not followed; like a nested SDK run it starts on that task, so its
    input guardrails check it. A pattern used as a tool (``pattern.as_tool()``) runs whole.
    """
    if not isinstance(request.tool.agent, Agent):
        return cast(Generator[Request, Any, TurnResult],
                    request.tool.agent.tool_turn(request.input))
    bound = request.tool.max_turns
    return agent_turn(request.tool.agent, [HumanMessage(request.input)], state={}, handoffs=(),
                      check_input=request.input, nested=True,
                      max_turns=DEFAULT_MAX_TURNS if bound is None else bound)
