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

import json
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from pydantic import ValidationError

from agentpatterns.errors import (
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelCallError,
    OutputValidationError,
    RunError,
)
from agentpatterns.nodes._text import AGENT_KEY as _AGENT_KEY
from agentpatterns.nodes._text import handoff_tool_name, message_text
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.approvals import (
    REJECTION_MESSAGE,
    Approval,
    ApprovalCheck,
    Check,
    PendingCall,
    gated,
)
from agentpatterns.nodes.compat import is_transient
from agentpatterns.nodes.context import RunContextWrapper, current_context
from agentpatterns.nodes.guardrails import GuardrailContext, storable
from agentpatterns.nodes.handoff import Handoff, arguments_json, enabled, filtered, tool_schema
from agentpatterns.nodes.output import OutputSchema, output_schema
from agentpatterns.nodes.settings import ModelSettings
from agentpatterns.nodes.tool_use import FunctionToolResult, UserCall, final_from_tools
from agentpatterns.nodes.tools import (
    AgentTool,
    FunctionTool,
    ToolArgumentsError,
    tool_output_text,
)
from agentpatterns.redaction import redact

__all__ = [
    "AGENT_KEY",
    "MODEL_KEY",
    "Control",
    "ModelFailure",
    "TurnResult",
    "agent_turn",
    "model_error_message",
    "sub_turn",
    "system_messages",
    "system_prompt",
]

#: ``config["configurable"][MODEL_KEY]`` carries the run's ``model=`` override into nodes.
MODEL_KEY = "agentpatterns_model"
#: Run metadata of every model call: the agent making it (token streams are attributed by it).
AGENT_KEY = _AGENT_KEY
DEFAULT_MAX_TURNS = 10

#: ``emit(event)``: progress reports of a turn (LangGraph's stream writer in a graph node).
Emit = Callable[[dict[str, Any]], None]


def system_prompt(agent: Agent, state: Mapping[str, Any]) -> str:
    """The system prompt an agent runs with: its instructions as written (as in the SDK)."""
    return agent.render_instructions(state)


def system_messages(agent: Agent, state: Mapping[str, Any]) -> list[BaseMessage]:
    """The system message of a model call (none for an agent without instructions, as in the
    SDK); it names the agent in ``response_metadata`` (never sent to a model)."""
    prompt = system_prompt(agent, state)
    return [SystemMessage(prompt, response_metadata={"agent": agent.name})] if prompt else []


@dataclass(frozen=True)
class Control:
    """A tool offered to the model whose call ends the turn and is handled by the pattern.

    The supervisor offers ``assign_to_<worker>`` this way: the call is an assignment, and
    the worker's report becomes the call's tool result.
    """

    name: str
    description: str
    target: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {"task": {"type": "string", "description": "What to do"}},
        "required": ["task"],
        "additionalProperties": False,
    })

    def openai_schema(self) -> dict[str, Any]:
        function = {"name": self.name, "description": self.description,
                    "parameters": dict(self.parameters)}
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class ModelCall:
    agent: Agent
    messages: list[BaseMessage]
    tools: tuple[dict[str, Any], ...]
    response_format: Any
    #: the agent's ``model_settings`` and the ``tool_choice`` of this call (None: the model's)
    settings: ModelSettings | None = None
    tool_choice: str | None = None


@dataclass(frozen=True)
class ToolRun:
    tool: Any  # FunctionTool
    args: dict[str, Any]
    call_id: str = ""
    agent: str = ""
    raw: str = ""


@dataclass(frozen=True)
class SubAgent:
    tool: AgentTool
    input: str


@dataclass(frozen=True)
class GuardrailRun:
    guardrail: Any  # InputGuardrail | OutputGuardrail
    context: GuardrailContext
    agent: Agent
    value: Any


@dataclass(frozen=True)
class Notify:
    event: dict[str, Any]


@dataclass(frozen=True)
class ModelFailure:
    """Sent into a turn by the drivers when the model call raised (the turn decides)."""

    error: Exception

    @property
    def transient(self) -> bool:
        """Whether the same call may succeed again (a deterministic refusal is not retried)."""
        return is_transient(self.error)


@dataclass
class TurnResult:
    """What one agent's turn produced."""

    agent: str
    text: str = ""
    output: Any = None
    messages: list[BaseMessage] = field(default_factory=list)
    handoff: str | None = None
    control: tuple[Control, dict[str, Any], str] | None = None
    path: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    #: set when a guardrail tripped: ``{"kind", "agent", "guardrail", "info"}``
    tripwire: dict[str, Any] | None = None
    #: the function tools and agents-as-tools called: ``{"agent", "tool", "args", "result",
    #: "call_id"}`` (a sub-agent's own calls first, then the call that ran it)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    #: a handoff's ``input_filter``, and the conversation it made (replaces the thread's)
    handoff_filter: Any = None
    replace_messages: list[BaseMessage] | None = None

    def count(self, agent: str, reply: AIMessage) -> None:
        self.calls[agent] = self.calls.get(agent, 0) + 1
        meta: Mapping[str, Any] = reply.usage_metadata or {}
        if (reply.response_metadata or {}).get("usage_estimated") and not any(
                e["type"] == "usage_estimated" and e["agent"] == agent for e in self.events):
            self.events.append({"type": "usage_estimated", "agent": agent,
                                "detail": "the server reported no token usage; estimated "
                                          "as characters/4"})
        bucket = self.usage.setdefault(agent, {"input": 0, "output": 0, "total": 0})
        bucket["input"] += int(meta.get("input_tokens", 0))
        bucket["output"] += int(meta.get("output_tokens", 0))
        bucket["total"] += int(meta.get("total_tokens", 0))

    def absorb(self, other: TurnResult) -> None:
        """Fold a sub-agent's counts, path and events into this turn."""
        self.path.extend(other.path)
        for name, n in other.calls.items():
            self.calls[name] = self.calls.get(name, 0) + n
        for name, bucket in other.usage.items():
            mine = self.usage.setdefault(name, {"input": 0, "output": 0, "total": 0})
            for key, value in bucket.items():
                mine[key] = mine.get(key, 0) + value
        self.events.extend(other.events)
        self.tool_calls.extend(other.tool_calls)
        if other.tripwire is not None and self.tripwire is None:
            self.tripwire = other.tripwire

    def state_update(self) -> dict[str, Any]:
        """The graph-state update for this turn (reducers append/merge it)."""
        update = {
            "messages": self.messages if self.replace_messages is None else [
                RemoveMessage(id=REMOVE_ALL_MESSAGES), *self.replace_messages],
            "path": self.path,
            # model calls ride in the usage channel: one channel write fewer per turn
            "usage": {name: {**bucket, "calls": self.calls.get(name, 0)}
                      for name, bucket in self.usage.items()},
            "results": {self.agent: self.output if self.output is not None else self.text},
        }
        if self.events:  # every channel written costs a step; most turns have no incidents
            update["events"] = self.events
        if self.tool_calls:  # likewise: written only by turns that called a tool
            update["tool_calls"] = self.tool_calls
        return update


Request = (ModelCall | ToolRun | SubAgent | GuardrailRun | Notify | Approval | ApprovalCheck
           | Check | UserCall)


def _response_format(agent: Agent) -> Any:
    schema = output_schema(agent.output_type)
    return None if schema is None else schema.response_format()


def _parse_output(schema: OutputSchema, text: str) -> tuple[Any, Any]:
    """(the output as its type, its JSON-able form for the state)."""
    raw = text.strip()
    if raw.startswith("```"):
        raw = raw.strip("`").removeprefix("json").strip()
    value = schema.validate_json(raw)
    return value, schema.dump(value, raw)


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
    """
    result = TurnResult(agent=agent.name, path=[agent.name])
    yield Notify({"type": "agent_started", "agent": agent.name})
    if check_input is not None:
        for guardrail in agent.input_guardrails:
            if (yield from _guard(result, guardrail, agent, state, check_input)):
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
    schemas = tuple(_schema(name, entry, options.get(name)) for name, entry in table.items())
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
    for _ in range(max_turns):
        if callable(agent.instructions) and new:
            # asked again before every model call, as the SDK does: a tool may have changed
            # the run context the instructions read
            system = system_messages(agent, state)
        if switchable:
            lookup = dict(table)
            for name in switchable:
                setting = table[name].is_enabled
                if not (setting if isinstance(setting, bool) else (yield Check(
                        setting, (RunContextWrapper(context=current_context()), agent)))):
                    del lookup[name]
            schemas = tuple(_schema(name, entry, options.get(name))
                            for name, entry in lookup.items())
        # the SDK's reset_tool_choice: a forced tool_choice holds until a tool was used
        choice = None if settings is None or (used_tools and agent.reset_tool_choice) \
            else settings.tool_choice
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
                                 ) from reply.error
        if not isinstance(reply, AIMessage):
            raise RunError(f"model of agent {agent.name!r} returned {type(reply).__name__}, "
                           "not an AIMessage")
        reply.response_metadata = {**(reply.response_metadata or {}), "agent": agent.name}
        result.count(agent.name, reply)
        new.append(reply)
        for bad in reply.invalid_tool_calls:
            name = str(bad.get("name"))
            detail = f"malformed arguments: {bad.get('error') or bad.get('args')}"
            routed = _strike(result, strikes, "arguments", agent, name, detail,
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
            text = message_text(reply)
            result.text = text
            schema = output_schema(agent.output_type)
            final: Any = text
            if schema is not None:
                try:
                    final, result.output = _parse_output(schema, text)
                except (ValidationError, ValueError) as exc:
                    strikes["output"] += 1
                    result.events.append({"type": "output_retry", "agent": agent.name,
                                          "error": str(exc).splitlines()[0]})
                    if strikes["output"] > 1:
                        raise OutputValidationError(
                            f"the output of agent {agent.name!r} does not validate as "
                            f"{schema.name()} after a retry: "
                            f"{str(exc).splitlines()[0]}; check its instructions or the model"
                        ) from exc
                    new.append(HumanMessage(
                        f"Your answer did not validate as {schema.name()}: {exc}. "
                        "Reply with only a JSON object matching the schema."))
                    continue
            if agent.output_guardrails:
                for guardrail in agent.output_guardrails:
                    if (yield from _guard(result, guardrail, agent, state, final)):
                        return result
            return result
        deferred: list[PendingCall] = []
        results: list[FunctionToolResult] = []
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
                _strike(result, strikes, "unknown", agent, name,
                        f"there is no tool or handoff named {name!r} (available: {available})")
                new.append(ToolMessage(
                    f"Error: there is no tool or handoff named {name!r}. Available: {available}.",
                    tool_call_id=call_id))
            elif is_handoff_target(entry):
                if result.handoff is None:
                    spec = options.get(name)
                    if spec is not None and spec.on_invoke is not None:  # on_handoff(ctx[, in])
                        yield UserCall(spec.on_invoke, (context, arguments_json(call["args"])))
                    result.handoff = entry.name
                    new.append(ToolMessage(json.dumps({"assistant": entry.name}),
                                           tool_call_id=call_id))
                    if spec is not None and spec.input_filter is not None:
                        result.handoff_filter = spec.input_filter
                else:
                    new.append(ToolMessage("Ignored: only one handoff per turn.",
                                           tool_call_id=call_id))
            elif isinstance(entry, Control):
                result.control = (entry, dict(call.get("args") or {}), call_id)
                return result
            else:
                try:
                    args = entry.parse_arguments(call.get("args"))
                except ToolArgumentsError as exc:
                    routed = _strike(result, strikes, "arguments", agent, name, str(exc),
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
                if (yield from _call_tool(result, agent, entry, args, call_id, raw, results)):
                    return result
        if deferred:
            verdicts = yield Approval(tuple(deferred))
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
                elif (yield from _call_tool(result, agent, pending.tool, pending.args,
                                            pending.call_id, pending.raw, results)):
                    return result
        if result.handoff is not None:
            if result.handoff_filter is not None:  # handoff(input_filter=...): what B sees
                result.replace_messages = yield from filtered(result.handoff_filter, history,
                                                              new)
            return result
        used_tools = used_tools or bool(results)
        if results and agent.tool_use_behavior != "run_llm_again":
            final = yield from final_from_tools(agent, context, results)
            if final is not None:  # the tools' output is the answer (tool_use_behavior)
                result.text, result.output, value = final
                for guardrail in agent.output_guardrails:
                    if (yield from _guard(result, guardrail, agent, state, value)):
                        return result
                return result
    raise MaxTurnsExceeded(
        f"agent {agent.name!r} made {max_turns} model calls in one turn without finishing; "
        "raise max_turns or check its tools"
    )


def _call_tool(result: TurnResult, agent: Agent, entry: Any, args: dict[str, Any],
               call_id: str, raw: str,
               results: list[FunctionToolResult]) -> Generator[Request, Any, bool]:
    """Run one tool call (a function, or an agent used as a tool) and add its result to the
    turn's messages (and to ``results``, for ``tool_use_behavior``); True when an agent used
    as a tool was stopped by a guardrail."""
    name = entry.name
    yield Notify({"type": "tool_called", "agent": agent.name, "tool": name,
                  "args": args, "call_id": call_id})
    if isinstance(entry, AgentTool):
        sub: TurnResult = yield SubAgent(entry, entry.task_of(args))
        result.absorb(sub)
        if sub.tripwire is not None:
            return True
        output = sub.output if sub.output is not None else sub.text
        content = value = output if isinstance(output, str) else json.dumps(output)
    else:
        value = yield ToolRun(entry, args, call_id, agent.name, raw)
        content = tool_output_text(value)
    yield Notify({"type": "tool_result", "agent": agent.name, "tool": name,
                  "output": content, "call_id": call_id})
    # the arguments as the model sent them (``raw`` is their JSON, fit for the checkpoint)
    result.tool_calls.append({"agent": agent.name, "tool": name, "args": json.loads(raw),
                              "result": content, "call_id": call_id})
    result.messages.append(ToolMessage(content, tool_call_id=call_id, name=name))
    results.append(FunctionToolResult(tool=entry, output=value, arguments=args,
                                      call_id=call_id))
    return False


def model_error_message(agent: str, error: str, transient: bool) -> str:
    """Why a model call failed for good, and what to do (both runtimes word it so)."""
    if transient:
        return (f"the model call of agent {agent!r} failed twice ({error}); check the model "
                "and its server, or give the pattern a fallback agent")
    return (f"the server refused the model call of agent {agent!r} ({error}); not retried, "
            "since the same request fails the same way - check the request (context size, "
            "max tokens, schema) and the server, or give the pattern a fallback agent")


def _guard(result: TurnResult, guardrail: Any, agent: Agent, state: Mapping[str, Any],
           value: Any) -> Generator[Request, Any, bool]:
    """Run one guardrail; on a tripped wire record it in ``result`` and return True."""
    context = GuardrailContext(agent=agent.name, state=state, context=current_context())
    out = yield GuardrailRun(guardrail, context, agent, value)
    if not out.tripwire_triggered:
        return False
    result.tripwire = {"kind": guardrail.kind, "agent": agent.name,
                       "guardrail": guardrail.get_name(), "info": storable(out.output_info)}
    result.events.append({"type": "guardrail", **result.tripwire})
    return True


def _strike(result: TurnResult, strikes: dict[str, int], kind: str, agent: Agent, name: str,
            detail: str, *, fallback: bool = False) -> bool:
    """Count a strike; True on the second one when a fallback can take over, else raise."""
    strikes[kind] += 1
    result.events.append({"type": f"{kind}_retry" if strikes[kind] == 1 else kind,
                          "agent": agent.name, "asked_for": name, "detail": detail})
    if strikes[kind] == 1:
        return False
    if fallback:
        return True
    raise ModelBehaviorError(f"agent {agent.name!r}: {detail}, again after a corrective "
                             "message; fix its instructions or add a fallback agent")


def is_handoff_target(entry: Any) -> bool:
    """An agent, or a nested pattern (``Agent(handoffs=[pattern])``) a turn may hand to."""
    return isinstance(entry, Agent) or bool(getattr(entry, "is_pattern", False))


def _schema(name: str, entry: Any, spec: Handoff | None = None) -> dict[str, Any]:
    if is_handoff_target(entry):
        description = (spec.tool_description if spec is not None else None) or \
            entry.handoff_description or f"Handoff to the {entry.name} agent"
        return tool_schema(name, description, spec.input_json_schema if spec else {})
    return dict(entry.openai_schema())


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
                      check_input=request.input,
                      max_turns=DEFAULT_MAX_TURNS if bound is None else bound)
