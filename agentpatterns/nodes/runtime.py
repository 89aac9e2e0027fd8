"""One agent's turn: model calls, its own tool calls, agents used as tools, and the handoff.

The turn is written once, as a generator that *yields requests* (call the model, run a
tool, run a sub-agent) and receives their results. Two small drivers execute it, one
blocking and one ``async``, so a compiled pattern works with ``invoke`` and ``ainvoke``
alike without two copies of the agent logic.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import ValidationError

from agentpatterns.errors import ModelBehaviorError, OutputValidationError, RunError
from agentpatterns.nodes._text import handoff_tool_name
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.models import resolve_model
from agentpatterns.nodes.tools import AgentTool, FunctionTool, ToolArgumentsError

__all__ = [
    "MODEL_KEY",
    "Control",
    "TurnResult",
    "adrive",
    "agent_turn",
    "drive",
    "system_prompt",
]

#: ``config["configurable"][MODEL_KEY]`` carries the run's ``model=`` override into nodes.
MODEL_KEY = "agentpatterns_model"
DEFAULT_MAX_TURNS = 10


def system_prompt(agent: Agent, state: Mapping[str, Any]) -> str:
    """The system message an agent runs with: its name, then its instructions."""
    instructions = agent.render_instructions(state)
    return f"You are {agent.name}. {instructions}".strip()


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
class _ModelCall:
    agent: Agent
    messages: list[BaseMessage]
    tools: tuple[dict[str, Any], ...]
    response_format: Any


@dataclass(frozen=True)
class _ToolRun:
    tool: FunctionTool
    args: dict[str, Any]


@dataclass(frozen=True)
class _SubAgent:
    tool: AgentTool
    input: str


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

    def count(self, agent: str, reply: AIMessage) -> None:
        self.calls[agent] = self.calls.get(agent, 0) + 1
        meta = reply.usage_metadata or {}
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

    def state_update(self) -> dict[str, Any]:
        """The graph-state update for this turn (reducers append/merge it)."""
        return {
            "messages": self.messages,
            "path": self.path,
            "calls": self.calls,
            "usage": self.usage,
            "events": self.events,
            "results": {self.agent: self.output if self.output is not None else self.text},
            "active_agent": self.agent,
        }


_Request = _ModelCall | _ToolRun | _SubAgent


def _response_format(agent: Agent) -> Any:
    if agent.output_type is None:
        return None
    schema = agent.output_type.model_json_schema()
    return {"type": "json_schema", "json_schema": {
        "name": agent.output_type.__name__, "schema": schema, "strict": False}}


def _parse_output(agent: Agent, text: str) -> Any:
    assert agent.output_type is not None
    raw = text.strip()
    if raw.startswith("```"):
        raw = raw.strip("`").removeprefix("json").strip()
    return agent.output_type.model_validate_json(raw).model_dump(mode="json")


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
) -> Generator[_Request, Any, TurnResult]:
    """Run one turn of ``agent`` on ``history``; see the module docstring for the protocol.

    Args:
        agent: The agent taking the turn.
        history: The conversation it sees (its system prompt is added in front).
        state: The run state (for callable instructions).
        handoffs: Handoff targets offered (default: ``agent.handoffs``).
        controls: Extra pattern-handled tools (supervisor assignments).
        fallback: Agent to hand to when the model names a tool or handoff that does not exist.
        max_turns: Bound on model calls in this turn (tool round trips included).
        offer_tools: False to offer nothing (a forced final answer).
    """
    result = TurnResult(agent=agent.name, path=[agent.name])
    targets = list(agent.handoffs if handoffs is None else handoffs)
    table: dict[str, Any] = {}
    if offer_tools:
        for tool in agent.tools:
            table[tool.name] = tool
        for target in targets:
            table[handoff_tool_name(target.name)] = target
        for control in controls:
            table[control.name] = control
    schemas = tuple(_schema(name, entry) for name, entry in table.items())
    system = SystemMessage(system_prompt(agent, state))
    response_format = _response_format(agent)
    strikes = {"unknown": 0, "arguments": 0, "output": 0}
    new = result.messages

    for _ in range(max_turns):
        reply = yield _ModelCall(agent, [system, *history, *new], schemas, response_format)
        if not isinstance(reply, AIMessage):
            raise RunError(f"model of agent {agent.name!r} returned {type(reply).__name__}, "
                           "not an AIMessage")
        reply.response_metadata = {**(reply.response_metadata or {}), "agent": agent.name}
        result.count(agent.name, reply)
        new.append(reply)
        for bad in reply.invalid_tool_calls:
            _strike(result, strikes, "arguments", agent, str(bad.get("name")),
                    f"malformed arguments: {bad.get('error') or bad.get('args')}")
            new.append(ToolMessage(
                f"Error: the arguments of {bad.get('name')!r} were not valid JSON; "
                "call it again with a JSON object.", tool_call_id=bad.get("id") or "invalid"))
        if reply.invalid_tool_calls and not reply.tool_calls:
            continue
        if not reply.tool_calls:
            text = _text_of(reply)
            result.text = text
            if agent.output_type is not None:
                try:
                    result.output = _parse_output(agent, text)
                except (ValidationError, ValueError) as exc:
                    strikes["output"] += 1
                    result.events.append({"type": "output_retry", "agent": agent.name,
                                          "error": str(exc).splitlines()[0]})
                    if strikes["output"] > 1:
                        raise OutputValidationError(
                            f"the output of agent {agent.name!r} does not validate as "
                            f"{agent.output_type.__name__} after a retry: "
                            f"{str(exc).splitlines()[0]}; check its instructions or the model"
                        ) from exc
                    new.append(HumanMessage(
                        f"Your answer did not validate as {agent.output_type.__name__}: {exc}. "
                        "Reply with only a JSON object matching the schema."))
                    continue
            return result
        for call in reply.tool_calls:
            name = call["name"]
            call_id = call.get("id") or name
            entry = table.get(name)
            if entry is None:
                available = ", ".join(table) or "none"
                if fallback and fallback != agent.name and result.handoff is None:
                    result.events.append({"type": "fallback", "agent": agent.name,
                                          "asked_for": name, "to": fallback})
                    result.handoff = fallback
                    new.append(ToolMessage(f"There is no {name!r}; handing to {fallback}.",
                                           tool_call_id=call_id))
                    continue
                _strike(result, strikes, "unknown", agent, name,
                        f"there is no tool or handoff named {name!r} (available: {available})")
                new.append(ToolMessage(
                    f"Error: there is no tool or handoff named {name!r}. Available: {available}.",
                    tool_call_id=call_id))
            elif isinstance(entry, Agent):
                if result.handoff is None:
                    result.handoff = entry.name
                    new.append(ToolMessage(json.dumps({"assistant": entry.name}),
                                           tool_call_id=call_id))
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
                    _strike(result, strikes, "arguments", agent, name, str(exc))
                    new.append(ToolMessage(f"Error: {exc}. Call it again with valid arguments.",
                                           tool_call_id=call_id))
                    continue
                if isinstance(entry, AgentTool):
                    sub: TurnResult = yield _SubAgent(entry, args["input"])
                    result.absorb(sub)
                    output = sub.output if sub.output is not None else sub.text
                    content = output if isinstance(output, str) else json.dumps(output)
                else:
                    value = yield _ToolRun(entry, args)
                    content = value if isinstance(value, str) else json.dumps(value, default=str)
                new.append(ToolMessage(content, tool_call_id=call_id))
        if result.handoff is not None:
            return result
    raise RunError(
        f"agent {agent.name!r} made {max_turns} model calls in one turn without finishing; "
        "raise max_turns or check its tools"
    )


def _text_of(reply: AIMessage) -> str:
    """The reply's text (Responses-API replies carry a list of content blocks)."""
    if isinstance(reply.content, str):
        return reply.content
    return "".join(block.get("text", "") if isinstance(block, dict) else str(block)
                   for block in reply.content
                   if not isinstance(block, dict) or block.get("type") in ("text", "output_text"))


def _strike(result: TurnResult, strikes: dict[str, int], kind: str, agent: Agent, name: str,
            detail: str) -> None:
    strikes[kind] += 1
    result.events.append({"type": f"{kind}_retry" if strikes[kind] == 1 else kind,
                          "agent": agent.name, "asked_for": name, "detail": detail})
    if strikes[kind] > 1:
        raise ModelBehaviorError(f"agent {agent.name!r}: {detail}, again after a corrective "
                                 "message; fix its instructions or add a fallback agent")


def _schema(name: str, entry: Any) -> dict[str, Any]:
    if isinstance(entry, Agent):
        return {"type": "function", "function": {
            "name": name,
            "description": entry.handoff_description or f"Handoff to the {entry.name} agent",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}}
    return entry.openai_schema()


_BOUND: dict[tuple[int, tuple[str, ...], int], tuple[Any, Any]] = {}


def _bound(model: Any, tools: tuple[dict[str, Any], ...], response_format: Any) -> Any:
    if not tools and response_format is None:
        return model
    key = (id(model), tuple(t["function"]["name"] for t in tools), id(response_format))
    hit = _BOUND.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    runnable = model.bind_tools(list(tools)) if tools else model
    if response_format is not None:
        runnable = runnable.bind(response_format=response_format)
    if len(_BOUND) > 512:
        _BOUND.clear()
    _BOUND[key] = (model, runnable)
    return runnable


def _tool_error(tool: FunctionTool, exc: BaseException) -> str:
    return f"Error running tool {tool.name!r}: {type(exc).__name__}: {exc}"


def drive(turn: Generator[_Request, Any, TurnResult], run_model: Any = None) -> TurnResult:
    """Execute a turn with blocking calls (``graph.invoke``)."""
    value: Any = None
    while True:
        try:
            request = turn.send(value)
        except StopIteration as stop:
            return stop.value
        if isinstance(request, _ModelCall):
            model = resolve_model(run_model, request.agent.model)
            value = _bound(model, request.tools, request.response_format).invoke(request.messages)
        elif isinstance(request, _ToolRun):
            try:
                value = request.tool.fn(**request.args)
                if inspect.isawaitable(value):
                    value = asyncio.run(_await(value))
            except Exception as exc:  # a tool's failure is reported to the model, as in the SDK
                value = _tool_error(request.tool, exc)
        else:
            value = drive(_sub_turn(request), run_model)


async def adrive(turn: Generator[_Request, Any, TurnResult], run_model: Any = None) -> TurnResult:
    """Execute a turn with awaited calls (``graph.ainvoke``)."""
    value: Any = None
    while True:
        try:
            request = turn.send(value)
        except StopIteration as stop:
            return stop.value
        if isinstance(request, _ModelCall):
            model = resolve_model(run_model, request.agent.model)
            value = await _bound(model, request.tools, request.response_format).ainvoke(
                request.messages)
        elif isinstance(request, _ToolRun):
            try:
                value = request.tool.fn(**request.args)
                if inspect.isawaitable(value):
                    value = await value
            except Exception as exc:
                value = _tool_error(request.tool, exc)
        else:
            value = await adrive(_sub_turn(request), run_model)


async def _await(value: Any) -> Any:
    return await value


def _sub_turn(request: _SubAgent) -> Generator[_Request, Any, TurnResult]:
    # an agent used as a tool answers the task it is given; its handoffs are not followed
    return agent_turn(request.tool.agent, [HumanMessage(request.input)], state={}, handoffs=())
