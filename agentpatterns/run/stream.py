"""LangGraph stream chunks of a compiled pattern as typed :mod:`agentpatterns.events`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agentpatterns.events import (
    AgentStarted,
    Event,
    GuardrailTripped,
    Handoff,
    Interrupted,
    Recorded,
    TokenDelta,
    ToolCalled,
    ToolResult,
)
from agentpatterns.graphs._nodes import STREAM_KEY
from agentpatterns.nodes.runtime import AGENT_KEY

__all__ = ["STREAM_MODES", "LangGraphEvents"]

#: The ``stream_mode`` list a run streams with.
STREAM_MODES = ("updates", "messages", "custom")


class LangGraphEvents:
    """Turns LangGraph stream chunks of a compiled pattern into typed events.

    Feed it every ``(mode, chunk)`` pair of ``graph.stream(..., stream_mode=STREAM_MODES)``;
    it yields the events in stream order. It keeps no state besides what it was fed.

    Args:
        scopes: Each agent of the composition -> its nested pattern path below the top
            (``Pattern.scopes()`` without the first name): what ``AgentStarted.patterns``
            says. An agent not listed (made at run time) gets the path of the namespace
            it streams from. (A pattern used as a tool streams from its caller's node, so
            the namespace alone would name the caller, not the pattern.)
    """

    def __init__(self, scopes: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.scopes = dict(scopes or {})

    def feed(self, mode: str, chunk: Any, *, ns: tuple[str, ...] = ()) -> Iterator[Event]:
        """The events of one stream chunk.

        ``ns`` is the chunk's namespace when the graph is streamed with ``subgraphs=True``:
        agents inside nested patterns report as they start (with the pattern path), and the
        nested pattern's handoffs and incidents arrive once, with the parent's update.
        """
        if mode == "custom":
            yield from self._custom(chunk, tuple(part.split(":")[0] for part in ns),
                                    self.scopes)
        elif mode == "messages":
            yield from self._token(chunk)
        elif mode == "updates" and ns:
            return  # a nested pattern's own updates: its parent's update carries them
        elif mode == "updates":
            for node, update in (chunk or {}).items():
                if node == "__interrupt__":
                    for item in update or ():
                        yield Interrupted(value=getattr(item, "value", item))
                elif isinstance(update, Mapping):
                    yield from self._update(update)

    @staticmethod
    def _custom(chunk: Any, patterns: tuple[str, ...] = (),
                scopes: Mapping[str, tuple[str, ...]] | None = None) -> Iterator[Event]:
        event = chunk.get(STREAM_KEY) if isinstance(chunk, Mapping) else None
        if not isinstance(event, Mapping):
            return
        kind = event.get("type")
        if kind == "agent_started":
            agent = event["agent"]
            yield AgentStarted(agent=agent, patterns=(scopes or {}).get(agent, patterns))
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
