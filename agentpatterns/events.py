"""Typed events of a streamed run - the same types from both runtimes.

``Runner.run_streamed(pattern, input)`` (LangGraph) and
``agentpatterns.adapters.openai_agents.run_sdk_streamed(pattern, input)`` (OpenAI Agents
SDK) yield these, in the order things happen:

* :class:`AgentStarted` - an agent begins its turn (agents used as tools too);
* :class:`TokenDelta` - a piece of an agent's reply text, as the model streams it;
* :class:`ToolCalled` / :class:`ToolResult` - a function tool or agent-as-tool call;
* :class:`Handoff` - control passes to another agent (``kind``: ``"handoff"``,
  ``"fallback"`` or ``"assign"`` for a supervisor's assignment);
* :class:`Recorded` - an incident logged in the run's ``events`` (a retry, a fallback, a
  cap reached...);
* :class:`GuardrailTripped` - a guardrail stopped the run (the stream then raises the
  tripwire exception, as ``Runner.run`` does);
* :class:`Interrupted` - the run waits for a human decision;
* :class:`RunFinished` - the last event, with the ``RunResult``.

:class:`LangGraphEvents` turns LangGraph stream chunks (``stream_mode=["updates",
"messages", "custom"]``) into these events.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from agentpatterns.runner import RunResult

__all__ = [
    "STREAM_MODES",
    "AgentStarted",
    "Event",
    "GuardrailTripped",
    "Handoff",
    "Interrupted",
    "LangGraphEvents",
    "Recorded",
    "RunFinished",
    "TokenDelta",
    "ToolCalled",
    "ToolResult",
]

#: The LangGraph stream modes the events are built from.
STREAM_MODES = ("updates", "messages", "custom")


@dataclass(frozen=True, kw_only=True)
class AgentStarted:
    """``agent`` begins a turn."""

    type: ClassVar[str] = "agent_started"
    agent: str


@dataclass(frozen=True, kw_only=True)
class TokenDelta:
    """A piece of ``agent``'s reply text."""

    type: ClassVar[str] = "token_delta"
    agent: str
    delta: str


@dataclass(frozen=True, kw_only=True)
class ToolCalled:
    """``agent`` called ``tool`` (a function tool or an agent used as a tool)."""

    type: ClassVar[str] = "tool_called"
    agent: str
    tool: str
    args: Mapping[str, Any] = field(default_factory=dict)
    call_id: str = ""


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """``tool`` returned ``output`` to ``agent``."""

    type: ClassVar[str] = "tool_result"
    agent: str
    tool: str
    output: str
    call_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Handoff:
    """Control passes from ``source`` to ``target``.

    Attributes:
        kind: ``"handoff"``, ``"fallback"`` (a failed route went to the fallback agent) or
            ``"assign"`` (a supervisor's assignment; ``reason`` is the task).
    """

    type: ClassVar[str] = "handoff"
    source: str
    target: str
    reason: str = ""
    kind: str = "handoff"

    @property
    def agent(self) -> str:
        """The agent handing off."""
        return self.source


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """An incident the run logged in its ``events`` (``detail`` is the log entry)."""

    type: ClassVar[str] = "recorded"
    kind: str
    agent: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class GuardrailTripped:
    """Guardrail ``guardrail`` (``kind`` ``"input"`` or ``"output"``) of ``agent`` tripped."""

    type: ClassVar[str] = "guardrail_tripped"
    agent: str
    guardrail: str
    kind: str
    info: Any = None


@dataclass(frozen=True, kw_only=True)
class Interrupted:
    """The run waits for a human decision on ``value`` (resume the thread to answer)."""

    type: ClassVar[str] = "interrupted"
    value: Any = None

    @property
    def agent(self) -> str:
        """No agent acts while the run waits."""
        return ""


@dataclass(frozen=True, kw_only=True)
class RunFinished:
    """The run ended (or stopped for a decision); ``result`` is its ``RunResult``."""

    type: ClassVar[str] = "run_finished"
    result: RunResult

    @property
    def agent(self) -> str:
        """The agent whose output is the final output."""
        return self.result.last_agent or ""


Event = (AgentStarted | TokenDelta | ToolCalled | ToolResult | Handoff | Recorded
         | GuardrailTripped | Interrupted | RunFinished)


class LangGraphEvents:
    """Turns LangGraph stream chunks of a compiled pattern into typed events.

    Feed it every ``(mode, chunk)`` pair of ``graph.stream(..., stream_mode=STREAM_MODES)``;
    it yields the events in stream order. It keeps no state besides what it was fed.
    """

    def feed(self, mode: str, chunk: Any) -> Iterator[Event]:
        """The events of one stream chunk."""
        if mode == "custom":
            yield from self._custom(chunk)
        elif mode == "messages":
            yield from self._token(chunk)
        elif mode == "updates":
            for node, update in (chunk or {}).items():
                if node == "__interrupt__":
                    for item in update or ():
                        yield Interrupted(value=getattr(item, "value", item))
                elif isinstance(update, Mapping):
                    yield from self._update(update)

    @staticmethod
    def _custom(chunk: Any) -> Iterator[Event]:
        from agentpatterns.graphs._nodes import STREAM_KEY

        event = chunk.get(STREAM_KEY) if isinstance(chunk, Mapping) else None
        if not isinstance(event, Mapping):
            return
        kind = event.get("type")
        if kind == "agent_started":
            yield AgentStarted(agent=event["agent"])
        elif kind == "tool_called":
            yield ToolCalled(agent=event["agent"], tool=event["tool"],
                             args=dict(event.get("args") or {}),
                             call_id=str(event.get("call_id") or ""))
        elif kind == "tool_result":
            yield ToolResult(agent=event["agent"], tool=event["tool"],
                             output=str(event.get("output") or ""),
                             call_id=str(event.get("call_id") or ""))

    @staticmethod
    def _token(chunk: Any) -> Iterator[Event]:
        from agentpatterns.nodes.runtime import AGENT_KEY

        try:
            message, metadata = chunk
        except (TypeError, ValueError):
            return
        agent = (metadata or {}).get(AGENT_KEY)
        # only model output streamed during a turn; messages a node writes to the state
        # afterwards come without the agent key
        if not agent:
            return
        content = getattr(message, "content", "")
        if isinstance(content, list):
            content = "".join(part.get("text", "") if isinstance(part, Mapping) else str(part)
                              for part in content)
        if content:
            yield TokenDelta(agent=str(agent), delta=str(content))

    @staticmethod
    def _update(update: Mapping[str, Any]) -> Iterator[Event]:
        for entry in update.get("events") or ():
            if not isinstance(entry, Mapping) or entry.get("type") == "guardrail":
                continue
            yield Recorded(kind=str(entry.get("type")), agent=str(entry.get("agent") or ""),
                           detail=dict(entry))
        for a in update.get("assignments") or ():
            if isinstance(a, Mapping):
                yield Handoff(source=str((update.get("path") or [""])[0]),
                              target=str(a.get("worker")), reason=str(a.get("task") or ""),
                              kind="assign")
        fallbacks = {e.get("to") for e in update.get("events") or ()
                     if isinstance(e, Mapping) and e.get("type") in ("fallback", "no_route")}
        for h in update.get("handoffs") or ():
            if isinstance(h, Mapping):
                yield Handoff(source=str(h.get("from")), target=str(h.get("to")),
                              reason=str(h.get("reason") or ""),
                              kind="fallback" if h.get("to") in fallbacks else "handoff")
        stop = update.get("stopped")
        if isinstance(stop, Mapping) and stop.get("reason") == "guardrail":
            yield GuardrailTripped(agent=str(stop.get("agent")),
                                   guardrail=str(stop.get("guardrail")),
                                   kind=str(stop.get("kind")), info=stop.get("info"))
