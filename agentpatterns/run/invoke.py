"""Driving a prepared run (:class:`~agentpatterns.run.plan.Plan`) and reading its result.

One path for every ``Runner`` entry point: :func:`run_blocking` (``run_sync`` /
``resume_sync``, with or without live progress), :func:`arun` (``run`` / ``resume``) and
:func:`aevents` (``run_streamed`` / ``resume_streamed``); the command line drives the same
:func:`stream_events` through :func:`printed`. Each builds the ``RunResult`` from the run's
own output where it can, and from the thread's state (nested runs' progress folded in,
:func:`settled`) where it must.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentpatterns.errors import BudgetExceeded, ResumeError
from agentpatterns.graphs._nodes import waiting_turns
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.models import describe_model, resolve_model
from agentpatterns.run.plan import Plan, aopened, opened
from agentpatterns.run.result import RunResult, Step
from agentpatterns.state import add_counts

if TYPE_CHECKING:
    from agentpatterns.events import Event

__all__ = ["aevents", "arun", "asettled", "printed", "run_blocking", "sdk_hint", "settled",
           "stream_events"]


def _restore(agent: Agent | None, stored: Any) -> Any:
    """A final output kept in the state as the last agent's ``output_type`` again."""
    from agentpatterns.nodes.output import output_schema

    schema = output_schema(agent.output_type) if agent is not None else None
    if schema is None:
        return stored
    try:
        return schema.restore(stored)
    except ValueError:  # not a structured answer (e.g. a tool's output that ended the turn)
        return stored


def _interruption(pattern: Pattern, value: Any, made: Mapping[str, Any]) -> Any:
    """The interrupt's value; a nested approval also says where it is (``patterns``): in
    the composition, or in a pattern a ``dynamic`` factory made at run time (``made``: its
    agents' pattern paths below the root)."""
    if not (isinstance(value, Mapping) and value.get("pattern")):
        return value
    name = str(value["pattern"])
    where = pattern.pattern_path(name) if pattern.patterns else ()
    if not where:
        path = next((p for p in made.values() if name in (p or [])), None)
        where = (pattern.name, *path[:list(path).index(name) + 1]) if path else ()
    if where or pattern.patterns:
        return {**value, "patterns": list(where)}
    return value


def _result(plan: Plan, snapshot: Any) -> RunResult:
    pattern = plan.pattern
    values = dict(snapshot.values or {})
    interrupts = tuple(getattr(snapshot, "interrupts", ()) or ())
    last = values.get("last_agent") or None
    output = values.get("final_output")
    agents = {a.name: a for a in pattern.all_agents()} if pattern.patterns else pattern.agent_map
    if last and output is not None:
        output = _restore(agents.get(last), output)
    entry_agent = agents.get(pattern.entry) or next(iter(agents.values()))
    usage: dict[str, dict[str, int]] = dict(values.get("usage") or {})
    path = list(values.get("path") or [])
    return RunResult(
        final_output=output,
        path=path,
        last_agent=last,
        thread_id=plan.thread_id,
        interrupted=bool(interrupts),
        interruption=(_interruption(pattern, interrupts[0].value, values.get("made") or {})
                      if interrupts else None),
        steps=tuple(Step(agent=a, patterns=p) for a, p in pattern.steps(path, made={
            a: (pattern.name, *made) for a, made in (values.get("made") or {}).items()})),
        model=describe_model(resolve_model(plan.model, entry_agent.model)),
        calls={a: int(u["calls"]) for a, u in usage.items() if u.get("calls")},
        usage={a: {k: v for k, v in u.items() if k != "calls"} for a, u in usage.items()},
        handoffs=list(values.get("handoffs") or []),
        events=list(values.get("events") or []),
        tool_calls=list(values.get("tool_calls") or []),
        values=values,
    )


def _finish(plan: Plan, snapshot: Any) -> RunResult:
    """The run's result; raises the tripwire exception if a guardrail stopped it."""
    from agentpatterns.nodes.guardrails import tripwire_error

    result = _result(plan, snapshot)
    stop = result.values.get("stopped")
    if isinstance(stop, Mapping) and stop.get("reason") == "guardrail":
        exc = tripwire_error(stop, plan.pattern.agent_map.get(str(stop.get("agent"))))
        exc.result = result  # type: ignore[attr-defined]
        raise exc
    return result


class _Output:
    """``invoke(..., version="v2")``'s output as the two ``StateSnapshot`` fields
    ``_result`` reads: the final values and the interrupts. Reading them from the run
    itself saves loading the checkpoint back after every run (``get_state``)."""

    __slots__ = ("interrupts", "values")

    def __init__(self, output: Any) -> None:
        self.values = output.value
        self.interrupts = output.interrupts


class _Snapshot:
    """A ``StateSnapshot``'s values and interrupts, the nested runs' progress folded in."""

    __slots__ = ("interrupts", "next", "values")

    def __init__(self, values: Mapping[str, Any], interrupts: Any, next: Any = ()) -> None:
        self.values = values
        self.interrupts = interrupts
        self.next = next


def _pending(snapshot: Any) -> dict[str, Any]:
    """What unfinished nested runs (a child waiting for approval, or cut off) did so far:
    their agents' turns, calls and incidents are in the child's checkpoints until it ends."""
    out: dict[str, Any] = {"path": [], "usage": {}, "events": [], "handoffs": [],
                           "tool_calls": [], "made": {}}
    for task in getattr(snapshot, "tasks", ()) or ():
        child = getattr(task, "state", None)
        if child is None or not hasattr(child, "values"):
            continue
        for part in (child.values or {}, _pending(child)):
            out["path"] += list(part.get("path") or [])
            out["usage"] = add_counts(out["usage"], part.get("usage") or {})
            out["events"] += list(part.get("events") or [])
            out["handoffs"] += list(part.get("handoffs") or [])
            out["tool_calls"] += list(part.get("tool_calls") or [])
            # agents a dynamic pattern in the child made: their paths below this task's
            # pattern (the node of a nested pattern is named after it)
            out["made"].update({a: [task.name, *p]
                                for a, p in (part.get("made") or {}).items()})
    return out


def _with_pending(snapshot: Any, full: Any) -> Any:
    extra = _pending(full)
    if not extra["path"] and not extra["usage"] and not extra["made"]:
        return snapshot
    values = dict(snapshot.values or {})
    values["made"] = {**extra["made"], **(values.get("made") or {})}
    for key in ("path", "events", "handoffs", "tool_calls"):
        values[key] = [*(values.get(key) or []), *extra[key]]
    values["usage"] = add_counts(values.get("usage") or {}, extra["usage"])
    return _Snapshot(values, getattr(snapshot, "interrupts", ()), getattr(snapshot, "next", ()))


def _with_half_done(snapshot: Any, half: list[dict[str, Any]], cut: bool) -> Any:
    """An interrupted (or budget-``cut``) run's state plus its half-done turns
    (``graphs._nodes.waiting_turns``): the agent waiting or cut off inside its turn, a
    pattern used as a tool stopped inside."""
    interrupts = getattr(snapshot, "interrupts", ())
    if not half or not (interrupts or cut):
        return snapshot
    values = dict(snapshot.values or {})
    values["path"] = [*(values.get("path") or []), *(a for h in half for a in h["path"])]
    for h in half:
        values["usage"] = add_counts(values.get("usage") or {}, h["usage"])
    return _Snapshot(values, interrupts, getattr(snapshot, "next", ()))


def settled(pattern: Pattern, graph: Any, config: Any, snapshot: Any = None,
            half: list[dict[str, Any]] | None = None, cut: bool = False) -> Any:
    """The thread's state (``snapshot`` if given) with its nested runs' progress (and, when
    it stopped for a human or was ``cut`` by its budget, the half-done turns ``half``)."""
    if snapshot is None:
        snapshot = graph.get_state(config)
    if pattern.patterns:
        snapshot = _with_pending(snapshot, graph.get_state(config, subgraphs=True))
    return _with_half_done(snapshot, half or [], cut)


async def asettled(pattern: Pattern, graph: Any, config: Any, snapshot: Any = None,
                   half: list[dict[str, Any]] | None = None, cut: bool = False) -> Any:
    """The ``async`` twin of :func:`settled`."""
    if snapshot is None:
        snapshot = await graph.aget_state(config)
    if pattern.patterns:
        snapshot = _with_pending(snapshot, await graph.aget_state(config, subgraphs=True))
    return _with_half_done(snapshot, half or [], cut)


def _begin(plan: Plan, graph: Any) -> Any:
    """The graph input (a resume reads the thread's state for it first)."""
    with sdk_hint(plan, graph):
        return plan.begin(settled(plan.pattern, graph, plan.config) if plan.resume else None)


async def _abegin(plan: Plan, graph: Any) -> Any:
    snapshot = await asettled(plan.pattern, graph, plan.config) if plan.resume else None
    with sdk_hint(plan, graph):
        return plan.begin(snapshot)


@contextmanager
def sdk_hint(plan: Plan, graph: Any) -> Iterator[None]:
    """A resume refused for a thread the SDK runtime ran last says to use ``resume_sdk``."""
    try:
        yield
    except ResumeError as exc:
        from agentpatterns.run.sdk_runs import sdk_resume_hint

        hint = sdk_resume_hint(graph.checkpointer, plan.thread_id)
        if hint is None:
            raise
        raise ResumeError(hint) from exc


def _invoke(plan: Plan, graph: Any, payload: Any) -> RunResult:
    config, half = waiting_turns(plan.config)
    try:
        out = graph.invoke(payload, config, version="v2")
    except BudgetExceeded as exc:  # the thread stays at its last completed step
        exc.result = _result(plan, settled(plan.pattern, graph, plan.config, half=half,
                                           cut=True))
        raise
    snapshot = _Output(out) if isinstance(out.value, Mapping) else graph.get_state(plan.config)
    if snapshot.interrupts:
        snapshot = settled(plan.pattern, graph, plan.config, snapshot, half)
    return _finish(plan, snapshot)


async def _ainvoke(plan: Plan, graph: Any, payload: Any) -> RunResult:
    config, half = waiting_turns(plan.config)
    try:
        out = await graph.ainvoke(payload, config, version="v2")
    except BudgetExceeded as exc:
        exc.result = _result(plan, await asettled(plan.pattern, graph, plan.config,
                                                  half=half, cut=True))
        raise
    snapshot = (_Output(out) if isinstance(out.value, Mapping)
                else await graph.aget_state(plan.config))
    if snapshot.interrupts:
        snapshot = await asettled(plan.pattern, graph, plan.config, snapshot, half)
    return _finish(plan, snapshot)


def _scopes(pattern: Pattern) -> dict[str, tuple[str, ...]]:
    """Each agent's nested pattern path below the top (``AgentStarted.patterns``)."""
    if not pattern.patterns:
        return {}
    return {agent: where[1:] for agent, where in pattern.scopes().items()}


def stream_events(plan: Plan, graph: Any, payload: Any) -> Iterator[Event]:
    """Blocking event stream of one invocation; see ``Runner.run_streamed``."""
    from agentpatterns.events import RunFinished
    from agentpatterns.run.stream import STREAM_MODES, LangGraphEvents

    translate = LangGraphEvents(_scopes(plan.pattern))
    config, half = waiting_turns(plan.config)
    try:  # subgraphs: the agents of nested patterns stream their progress too
        for ns, mode, chunk in graph.stream(payload, config,
                                            stream_mode=list(STREAM_MODES), subgraphs=True):
            yield from translate.feed(mode, chunk, ns=ns)
    except BudgetExceeded as exc:
        exc.result = _result(plan, settled(plan.pattern, graph, plan.config, half=half,
                                           cut=True))
        raise
    yield RunFinished(result=_finish(plan, settled(plan.pattern, graph, plan.config,
                                                   half=half)))


async def _astream_events(plan: Plan, graph: Any, payload: Any) -> AsyncIterator[Event]:
    from agentpatterns.events import RunFinished
    from agentpatterns.run.stream import STREAM_MODES, LangGraphEvents

    translate = LangGraphEvents(_scopes(plan.pattern))
    config, half = waiting_turns(plan.config)
    try:
        async for ns, mode, chunk in graph.astream(payload, config,
                                                   stream_mode=list(STREAM_MODES),
                                                   subgraphs=True):
            for event in translate.feed(mode, chunk, ns=ns):
                yield event
    except BudgetExceeded as exc:
        exc.result = _result(plan, await asettled(plan.pattern, graph, plan.config,
                                                  half=half, cut=True))
        raise
    yield RunFinished(result=_finish(plan, await asettled(plan.pattern, graph, plan.config,
                                                          half=half)))


def printed(plan: Plan, graph: Any, payload: Any, show: Callable[[Any], None]) -> RunResult:
    """Stream the run, handing each event but the last to ``show`` (a ``ProgressPrinter``);
    returns the result."""
    from agentpatterns.events import RunFinished

    for event in stream_events(plan, graph, payload):
        if isinstance(event, RunFinished):
            return event.result
        show(event)
    raise AssertionError("a stream that ends normally ends with RunFinished")


def run_blocking(plan: Plan) -> RunResult:
    """``run_sync`` / ``resume_sync``: ``invoke``, or - with progress shown - ``stream``
    with each event printed (:mod:`agentpatterns.run.progress`)."""
    with opened(plan) as graph:
        payload = _begin(plan, graph)
        if not plan.progress:
            return _invoke(plan, graph, payload)
        from agentpatterns.run.progress import ProgressPrinter, progress_console

        return printed(plan, graph, payload, ProgressPrinter(progress_console()))


async def arun(plan: Plan) -> RunResult:
    """``run`` / ``resume``: ``ainvoke``, or ``astream`` with each event printed."""
    async with aopened(plan) as graph:
        payload = await _abegin(plan, graph)
        if not plan.progress:
            return await _ainvoke(plan, graph, payload)
        from agentpatterns.events import RunFinished
        from agentpatterns.run.progress import ProgressPrinter, progress_console

        show = ProgressPrinter(progress_console())
        async for event in _astream_events(plan, graph, payload):
            if isinstance(event, RunFinished):
                return event.result
            show(event)
        raise AssertionError("a stream that ends normally ends with RunFinished")


async def aevents(plan: Plan) -> AsyncIterator[Event]:
    """``run_streamed`` / ``resume_streamed``."""
    async with aopened(plan) as graph:
        async for event in _astream_events(plan, graph, await _abegin(plan, graph)):
            yield event
