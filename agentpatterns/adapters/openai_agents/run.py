"""Running patterns on ``agents.Runner``: the run log (hooks), paths, and the drivers.

Handoff networks (``handoffs``, ``triage``, ``sequential``, ``hierarchical``, ``memory``) are
one ``Runner.run`` on SDK primitives (handoffs, ``Agent.as_tool``); a ``sequence`` edge
without a handoff continues with another ``Runner.run`` on the conversation so far. The other
patterns have no SDK primitive, so a small plain-async driver calls ``Runner.run`` the way the
seed's loops do (see :mod:`agentpatterns.adapters.openai_agents.drivers`).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
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

from agentpatterns.adapters.openai_agents.bridge import _plain
from agentpatterns.adapters.openai_agents.build import output_text
from agentpatterns.adapters.openai_agents.guard import BudgetStop, RunGuard
from agentpatterns.adapters.openai_agents.replay_hooks import replaying
from agentpatterns.errors import AgentPatternsError, MaxTurnsExceeded, ModelBehaviorError
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.context import using_context
from agentpatterns.nodes.models import describe_model, resolve_model
from agentpatterns.nodes.tools import ToolArgumentsError, read_arguments
from agentpatterns.run.result import RunResult

__all__ = ["DRIVERS", "NETWORK_KINDS", "NestedItem", "PatternTurn", "Run", "RunLog", "text_of"]

#: pattern kinds that are handoff networks (one ``Runner.run`` per stretch of handoffs)
NETWORK_KINDS = frozenset({"handoffs", "triage", "sequential", "hierarchical", "memory"})
#: pattern kind -> its driver ``async (Run) -> RunResult`` (filled by ``drivers``)
DRIVERS: dict[str, Callable[[Run], Awaitable[RunResult]]] = {}


def text_of(value: Any) -> str:
    """A final output as the text LangGraph's patterns pass on (dumped models via ``str``)."""
    if isinstance(value, BaseModel):
        return str(value.model_dump(mode="json"))
    return value if isinstance(value, str) else str(value)


@dataclass
class _Nested:
    path: list[str]
    turn_break: bool  # True: the caller takes a new turn afterwards (supervisor, approval)


@dataclass
class NestedItem:
    """The turns of a nested pattern, as one item of a :class:`PatternTurn`'s ``new_items``
    (``RunLog.path_of`` lists them where the pattern ran)."""

    path: list[str]


@dataclass
class _Named:
    name: str


@dataclass
class PatternTurn:
    """A nested pattern's run, read by a driver like the ``agents.RunResult`` of an agent:
    ``final_output``, ``new_items`` (one :class:`NestedItem`), ``last_agent.name``.

    Attributes:
        result: The nested pattern's own ``RunResult``.
        items: The conversation after it (what ``to_input_list()`` gives).
    """

    final_output: Any
    new_items: list[Any]
    last_agent: _Named
    result: RunResult
    items: list[Any] = field(default_factory=list)
    interruptions: tuple[Any, ...] = ()

    def to_input_list(self) -> list[Any]:
        """The conversation after the nested pattern's answer."""
        return list(self.items)


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
        #: agents made at run time (``dynamic``) -> their pattern path below the run's pattern
        self.made: dict[str, tuple[str, ...]] = {}
        #: names of the stand-in agents of handoffs to nested patterns
        self.doors: set[str] = set()
        #: the pattern's own tool calls, as ``RunResult.tool_calls`` lists them on LangGraph
        self.tool_calls: list[dict[str, Any]] = []
        #: the names of the pattern's tools (the drivers' own, e.g. ``assign_to_*``, are not)
        self.tools: set[str] | None = None
        #: tool calls answered with a correction (malformed arguments): they did not run
        self.refused: set[str] = set()
        #: the status last saved for the run in its store (``running``: a durable run's
        #: marker; ``waiting``, ``budget``, ``done``), ``None`` before any
        self.saved: str | None = None

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        """Count one model call of ``agent`` and its token usage."""
        self.count(agent.name, response)

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
        """Record one call of a function tool or agent-as-tool of the pattern."""
        name = str(getattr(context, "tool_name", "") or getattr(tool, "name", ""))
        if self.tools is not None and name not in self.tools:
            return
        if str(getattr(context, "tool_call_id", "")) in self.refused:
            return  # malformed arguments, answered with a correction: the tool did not run
        raw = getattr(context, "tool_arguments", "")
        try:  # read as LangGraph reads them (lenient JSON), so both record the same
            args = read_arguments(name, raw)
        except ToolArgumentsError:
            args = {"raw": raw}
        shown = result if isinstance(result, str) else json.dumps(result, default=str)
        self.tool_calls.append({"agent": agent.name, "tool": name, "args": args,
                                "result": shown,
                                "call_id": str(getattr(context, "tool_call_id", "") or "")})

    def count(self, name: str, response: Any) -> None:
        """Count one model call of agent ``name`` and its token usage (``ModelResponse``)."""
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
                start: Sequence[str] = (), same_turn: bool = False) -> list[str]:
        """Agents in the order they took a turn, from a run's ``new_items``.

        A new entry starts whenever the acting agent changes; an agent used as a tool is
        listed after the caller at its tool result (the caller's turn goes on), a worker or
        executor run by a tool likewise, after which the caller starts a new turn.
        ``same_turn``: the run continues the turn of ``start``'s last agent (a resume).
        """
        path = list(start)
        # every Runner.run starts a new turn, unless it continues one
        current = path[-1] if same_turn and path else None
        said = ""
        for item in items:
            if isinstance(item, NestedItem):  # a nested pattern's turns; then a new turn
                path.extend(item.path)
                current = None
                continue
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
    #: the caller's ``context=`` object: the SDK run context itself (``None`` when not given)
    context: Any = None
    #: what one-argument instruction functions get as the run state (``{"input": ...}``)
    state: dict[str, Any] = field(default_factory=dict)
    log: RunLog = field(default_factory=RunLog)
    session: Any = None
    store: Any = None
    user_id: str | None = None
    config: RunConfig = field(default_factory=lambda: RunConfig(tracing_disabled=True))
    values: dict[str, Any] = field(default_factory=dict)
    guard: RunGuard | None = None
    #: the agents that took a turn so far (kept up to date by the network driver)
    path: list[str] = field(default_factory=list)
    #: the run's input items when it was given a list (handoff networks run on them)
    items: list[Any] | None = None
    #: the pattern path from the run's pattern down to this one (``("Pipeline", "Research")``)
    scope: tuple[str, ...] = ()
    #: the run of the pattern this one is nested in (``None`` for the run itself)
    parent: Run | None = field(default=None, repr=False)
    #: nested patterns' runs under way (or stopped by an error), for :meth:`progress`
    active: list[Run] = field(default_factory=list, repr=False)
    #: the caller's ``hooks=`` (``RunHooks``; called after the run's own log)
    hooks: Any = None
    #: the agent whose ``Runner.run`` is under way (its turn is not in ``path`` yet)
    turn: str | None = None
    #: where a crash-durable run's journal and lock live (see ``durable.durable_spec``);
    #: ``None``: the run is not journaled
    durable: Any = None

    def __post_init__(self) -> None:
        if self.guard is None:
            self.guard = RunGuard(events=self.log.events)
        self.guard.events, self.guard.count = self.log.events, self.log.count
        self.guard.refused = self.log.refused
        if self.log.tools is None:
            self.log.tools = _tool_names(self.pattern.all_agents())
        if not self.scope:
            self.scope = (self.pattern.name,)

    def progress(self) -> list[str]:
        """The turns so far, those of nested patterns under way included (a stopped run's
        path)."""
        path = list(self.path)
        if self.active and self.turn and (not path or path[-1] != self.turn):
            path.append(self.turn)  # the caller of a nested pattern that stopped the run
        for child in self.active:
            path += child.progress()
        return path

    async def run(self, agent: agents.Agent[Any], input: Any, **kwargs: Any) -> Any:
        """``agents.Runner.run`` with this run's context, hooks, limits and config."""
        with using_context(self.context, self.state), replaying(
                self.guard.journal if self.guard is not None else None):
            return await agents.Runner.run(agent, input, context=self.context,
                                           hooks=self.run_hooks(),
                                           max_turns=self.max_turns, run_config=self.config,
                                           **kwargs)

    def run_hooks(self) -> Any:
        """The ``hooks=`` of this run's ``Runner.run`` calls: the log, then the caller's (the
        nested runs of agents used as tools get the log alone, as the SDK gives them none)."""
        if self.hooks is None:
            return self.log
        from agentpatterns.adapters.openai_agents.hooks import RunHooksChain

        return RunHooksChain(self.log, self.hooks)

    async def report_fallback(self, handoff: Mapping[str, Any]) -> None:
        """A streamed run reports the incidents and the handoff to the fallback (no-op here)."""

    async def report(self, event: Any) -> None:
        """A streamed run reports ``event``, one its driver makes (no-op here)."""

    def tool_stream(self) -> Callable[[Any], Awaitable[None]] | None:
        """Where the runs of agents used as tools stream to: ``None``, not streamed (a
        streamed run reports their turns and calls)."""
        return None

    def model_label(self) -> str:
        """Which model the run used, worded as on LangGraph."""
        from agents.models.interface import Model

        entry = self.pattern.agent_map.get(self.pattern.entry) or self.pattern.all_agents()[0]
        model = self.run_model if self.run_model is not None else entry.model
        if isinstance(model, Model):
            return f"{type(model).__name__} (agents.Model)"
        return describe_model(resolve_model(self.run_model, entry.model))

    def result(self, final_output: Any, path: list[str], last_agent: str | None, *,
               interrupted: bool = False, interruption: Any = None) -> RunResult:
        """The ``RunResult`` of this run (``runtime="openai-agents"``)."""
        from agentpatterns.run.result import Step

        mine = {k: v for k, v in self.values.items() if not k.startswith("__")}
        values = {"input": self.request, **mine, "final_output": final_output,
                  "last_agent": last_agent, "path": path}
        steps = () if self.parent is not None else tuple(
            Step(agent=a, patterns=p) for a, p in self.pattern.steps(path, made=self.log.made))
        return RunResult(steps=steps, final_output=final_output, path=path, last_agent=last_agent,
                         thread_id=self.thread_id, interrupted=interrupted,
                         interruption=interruption, model=self.model_label(),
                         calls=dict(self.log.calls), usage=dict(self.log.usage),
                         handoffs=list(self.log.handoffs), events=list(self.log.events),
                         tool_calls=list(self.log.tool_calls),
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
        self.log.tool_calls[:0] = list(saved.get("tool_calls") or [])
        for call_id, (path, turn_break) in (saved.get("nested") or {}).items():
            self.log.nested.setdefault(call_id, _Nested(list(path), bool(turn_break)))

    def saved_counts(self) -> dict[str, Any]:
        """The counts to persist with an interrupted run."""
        return {"calls": self.log.calls, "usage": self.log.usage,
                "handoffs": self.log.handoffs, "events": self.log.events,
                "tool_calls": self.log.tool_calls,
                "nested": {k: [n.path, n.turn_break] for k, n in self.log.nested.items()}}

    def our_error(self, exc: BaseException) -> Exception | None:
        """Our exception for an SDK run's budget stop or tripwire, with ``result`` set (the
        run at the point it stopped, as on LangGraph); ``None`` for anything else."""
        from agentpatterns.adapters.openai_agents.guardrails import from_sdk_tripwire

        if isinstance(exc, BudgetStop):
            error: Any = exc.error  # BudgetExceeded, or a ModelBehaviorError from a tool
            error.result = self.result(None, self.progress(), None)
            return error  # type: ignore[no-any-return]
        if isinstance(exc, agents.MaxTurnsExceeded | agents.ModelBehaviorError) and not \
                isinstance(exc, AgentPatternsError):
            # the SDK's own: ours (an SDK subclass too), with the SDK's run data
            cls = MaxTurnsExceeded if isinstance(exc, agents.MaxTurnsExceeded) else \
                ModelBehaviorError
            sdk_error: Exception = cls(str(exc))
            sdk_error.run_data = exc.run_data  # type: ignore[attr-defined]
            return sdk_error
        ours = from_sdk_tripwire(exc)
        if ours is None:
            return None
        sdk = _tripwire_of(exc)
        ours.guardrail_result = getattr(sdk, "guardrail_result", None)  # type: ignore[attr-defined]
        ours.run_data = getattr(sdk, "run_data", None)  # type: ignore[attr-defined]
        data = getattr(sdk, "run_data", None)
        path = self.progress()
        agent = str(getattr(ours, "agent", "") or "")
        if data is not None:
            path = self.log.path_of(data.new_items, start=path)
            # the agent whose turn was under way (the caller of an agent used as a tool)
            acting = data.last_agent.name
            if acting != agent and acting not in self.log.skip and (
                    not path or path[-1] != acting):
                path.append(acting)
        if agent and (not path or path[-1] != agent):
            path.append(agent)
        kind = "output" if isinstance(sdk, agents.OutputGuardrailTripwireTriggered) else "input"
        stop = {"kind": kind, "agent": agent, "guardrail": getattr(ours, "guardrail", ""),
                "info": getattr(ours, "info", None)}
        self.log.events.append({"type": "guardrail", **stop})
        self.values["stopped"] = {"reason": "guardrail", **stop}
        ours.result = self.result(None, path, agent or None)  # type: ignore[attr-defined]
        return ours


def _tool_names(roots: Sequence[Any]) -> set[str]:
    """The names of every tool of ``roots`` and of the agents they use as tools."""
    from agentpatterns.nodes.tools import AgentTool

    names: set[str] = set()
    todo, seen = list(roots), set()
    while todo:
        agent = todo.pop()
        if id(agent) in seen:
            continue
        seen.add(id(agent))
        for tool in agent.tools:
            names.add(tool.name)
            if isinstance(tool, AgentTool):
                inner = tool.agent
                todo.extend(inner.all_agents() if isinstance(inner, Pattern) else [inner])
        todo.extend(t for t in agent.handoffs if not isinstance(t, Pattern))
    return names


def _tripwire_of(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, agents.InputGuardrailTripwireTriggered
                      | agents.OutputGuardrailTripwireTriggered):
            return current
        current = current.__cause__ or current.__context__
    return None
