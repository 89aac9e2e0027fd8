"""What a turn yields and returns: its requests to a driver, and the :class:`TurnResult`.

A turn (:func:`agentpatterns.nodes.runtime.agent_turn`) is a generator; each value it
yields is one of the requests here (or an approval or user-call request from
:mod:`agentpatterns.nodes.approvals` and :mod:`agentpatterns.nodes.tool_use`), executed by a
driver (:mod:`agentpatterns.nodes._drivers`), which sends the outcome back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.approvals import Approval, ApprovalCheck
from agentpatterns.nodes.compat import is_transient
from agentpatterns.nodes.guardrails import GuardrailContext
from agentpatterns.nodes.hooks import Hook
from agentpatterns.nodes.settings import ModelSettings
from agentpatterns.nodes.tool_use import UserCall
from agentpatterns.nodes.tools import AgentTool

__all__ = [
    "Control",
    "Emit",
    "GuardrailRun",
    "ModelCall",
    "ModelFailure",
    "Notify",
    "Request",
    "SubAgent",
    "SubFailure",
    "ToolRun",
    "TurnResult",
]

#: ``emit(event)``: progress reports of a turn (LangGraph's stream writer in a graph node).
Emit = Callable[[dict[str, Any]], None]


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
class SubFailure:
    """Sent into a turn by the drivers when the run of an agent used as a tool raised (the
    turn applies the tool's ``failure_error_function``)."""

    error: Exception


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
    #: model calls of this turn itself (not of agents it used as tools), and whether the
    #: run counts them (``Runner.run(max_turns=)``: then they go in the state's ``turns``)
    turns: int = 0
    count_turns: bool = False

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
        if self.count_turns and self.turns:
            update["turns"] = self.turns
        return update


Request = (ModelCall | ToolRun | SubAgent | GuardrailRun | Notify | Approval | ApprovalCheck
           | UserCall | Hook)
