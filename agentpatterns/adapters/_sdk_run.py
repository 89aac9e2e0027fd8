"""Running patterns on ``agents.Runner``: the run log (hooks), paths, and the drivers.

Handoff networks (``handoffs``, ``triage``, ``sequential``, ``hierarchical``, ``memory``) are
one ``Runner.run`` on SDK primitives (handoffs, ``Agent.as_tool``); a ``sequence`` edge
without a handoff continues with another ``Runner.run`` on the conversation so far. The other
patterns have no SDK primitive, so a small plain-async driver calls ``Runner.run`` the way the
seed's loops do (see :mod:`agentpatterns.adapters._sdk_drivers`).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import agents
from agents import RunConfig, RunHooks
from agents.items import (
    HandoffOutputItem,
    MessageOutputItem,
    ToolCallOutputItem,
)
from pydantic import BaseModel

from agentpatterns.adapters._sdk_bridge import _plain
from agentpatterns.adapters._sdk_build import output_text
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.models import describe_model, resolve_model
from agentpatterns.runner import RunResult

__all__ = ["RunLog", "Run", "text_of"]


def text_of(value: Any) -> str:
    """A final output as the text LangGraph's patterns pass on (dumped models via ``str``)."""
    if isinstance(value, BaseModel):
        return str(value.model_dump(mode="json"))
    return value if isinstance(value, str) else str(value)


@dataclass
class _Nested:
    path: list[str]
    turn_break: bool  # True: the caller takes a new turn afterwards (supervisor, approval)


class RunLog(RunHooks[Any]):
    """Per-run ``RunHooks``: model calls and usage per agent, nested runs by tool call id.

    The SDK reports a run's own turns in ``result.new_items``; runs started inside a tool
    (agents-as-tools, supervisor assignments, the approval gate's executor) are recorded here
    by the tool call that started them, so a path can include them where they happened.
    """

    def __init__(self, skip: Sequence[str] = ()) -> None:
        self.calls: dict[str, int] = {}
        self.usage: dict[str, dict[str, int]] = {}
        self.nested: dict[str, _Nested] = {}
        self.handoffs: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.skip = set(skip)

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        """Count one model call of ``agent`` and its token usage."""
        name = agent.name
        if name in self.skip:
            return
        self.calls[name] = self.calls.get(name, 0) + 1
        bucket = self.usage.setdefault(name, {"input": 0, "output": 0, "total": 0})
        usage = response.usage
        bucket["input"] += int(usage.input_tokens or 0)
        bucket["output"] += int(usage.output_tokens or 0)
        bucket["total"] += int(usage.total_tokens or 0)

    def record(self, call_id: str, result: Any, *, turn_break: bool) -> None:
        """Remember the nested run a tool call made."""
        self.nested[call_id] = _Nested(self.path_of(result.new_items, log_handoffs=False),
                                       turn_break)

    def extractor(self) -> Any:
        """A ``custom_output_extractor`` for ``as_tool`` that records the nested run."""

        async def extract(result: Any) -> str:
            invocation = getattr(result, "agent_tool_invocation", None)
            if invocation is not None:
                self.record(invocation.tool_call_id, result, turn_break=False)
            return output_text(result.final_output)

        return extract

    def path_of(self, items: Sequence[Any], *, log_handoffs: bool = True,
                start: Sequence[str] = ()) -> list[str]:
        """Agents in the order they took a turn, from a run's ``new_items``.

        A new entry starts whenever the acting agent changes; an agent used as a tool is
        listed after the caller at its tool result (the caller's turn goes on), a worker or
        executor run by a tool likewise, after which the caller starts a new turn.
        """
        path = list(start)
        current = None  # every Runner.run starts a new turn
        said = ""
        for item in items:
            if isinstance(item, HandoffOutputItem):
                if log_handoffs:
                    target = item.target_agent
                    self.handoffs.append({
                        "from": item.source_agent.name, "to": target.name, "step": len(path),
                        "reason": said or target.handoff_description
                        or f"handoff to {target.name}"})
                continue
            name = item.agent.name
            if name not in self.skip and name != current:
                path.append(name)
                current = name
                said = ""
            if isinstance(item, MessageOutputItem):
                said = agents.ItemHelpers.text_message_output(item)
            if isinstance(item, ToolCallOutputItem):
                nested = self.nested.get(str(_plain(item.raw_item).get("call_id")))
                if nested is not None:
                    path.extend(nested.path)
                    if nested.turn_break:
                        current = None
        return path


@dataclass
class Run:
    """Everything one ``run_sdk`` call shares between its ``Runner.run`` calls."""

    pattern: Pattern
    request: str
    thread_id: str
    run_model: Any = None
    max_turns: int = 10
    context: dict[str, Any] = field(default_factory=dict)
    log: RunLog = field(default_factory=RunLog)
    session: Any = None
    store: Any = None
    user_id: str | None = None
    config: RunConfig = field(default_factory=lambda: RunConfig(tracing_disabled=True))
    values: dict[str, Any] = field(default_factory=dict)

    async def run(self, agent: agents.Agent[Any], input: Any, **kwargs: Any) -> Any:
        """``agents.Runner.run`` with this run's context, hooks, limits and config."""
        return await agents.Runner.run(agent, input, context=self.context, hooks=self.log,
                                       max_turns=self.max_turns, run_config=self.config,
                                       **kwargs)

    def model_label(self) -> str:
        """Which model the run used, worded as on LangGraph."""
        from agents.models.interface import Model

        entry = self.pattern.agent_map.get(self.pattern.entry) or self.pattern.agents[0]
        model = self.run_model if self.run_model is not None else entry.model
        if isinstance(model, Model):
            return f"{type(model).__name__} (agents.Model)"
        return describe_model(resolve_model(self.run_model, entry.model))

    def result(self, final_output: Any, path: list[str], last_agent: str | None, *,
               interrupted: bool = False, interruption: Any = None) -> RunResult:
        """The ``RunResult`` of this run (``runtime="openai-agents"``)."""
        values = {"input": self.request, **self.values, "final_output": final_output,
                  "last_agent": last_agent, "path": path}
        return RunResult(final_output=final_output, path=path, last_agent=last_agent,
                         thread_id=self.thread_id, interrupted=interrupted,
                         interruption=interruption, model=self.model_label(),
                         calls=dict(self.log.calls), usage=dict(self.log.usage),
                         handoffs=list(self.log.handoffs), events=list(self.log.events),
                         values=values, runtime="openai-agents")

    def merge_counts(self, saved: Mapping[str, Any]) -> None:
        """Fold counts saved before an interruption into this (resumed) run's log."""
        for name, n in (saved.get("calls") or {}).items():
            self.log.calls[name] = self.log.calls.get(name, 0) + n
        for name, bucket in (saved.get("usage") or {}).items():
            mine = self.log.usage.setdefault(name, {"input": 0, "output": 0, "total": 0})
            for key, value in bucket.items():
                mine[key] = mine.get(key, 0) + value
        self.log.handoffs[:0] = list(saved.get("handoffs") or [])
        self.log.events[:0] = list(saved.get("events") or [])
        for call_id, (path, turn_break) in (saved.get("nested") or {}).items():
            self.log.nested.setdefault(call_id, _Nested(list(path), bool(turn_break)))

    def saved_counts(self) -> dict[str, Any]:
        """The counts to persist with an interrupted run."""
        return {"calls": self.log.calls, "usage": self.log.usage,
                "handoffs": self.log.handoffs, "events": self.log.events,
                "nested": {k: [n.path, n.turn_break] for k, n in self.log.nested.items()}}
