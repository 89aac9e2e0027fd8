"""Turning an agent turn into a LangGraph node (sync and async from one definition)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any, cast

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import (
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINTER,
    CONFIG_KEY_DURABILITY,
    CONFIG_KEY_TASK_ID,
)
from langgraph._internal._runnable import RunnableCallable
from langgraph.errors import GraphInterrupt
from langgraph.graph import END, StateGraph
from langgraph.types import Command

from agentpatterns.errors import BudgetExceeded
from agentpatterns.nodes._drivers import adrive, drive
from agentpatterns.nodes.budget import BUDGET_KEY, Budget
from agentpatterns.nodes.context import context_of, using_context
from agentpatterns.nodes.hooks import hooks_of, using_hooks
from agentpatterns.nodes.journal import TaskKey, TurnJournal, nested_key, recording
from agentpatterns.nodes.protocol import ModelCall
from agentpatterns.nodes.runtime import MODEL_KEY, TurnResult, run_turns
from agentpatterns.storage.journal import journal_store

__all__ = ["STREAM_KEY", "WAITING_KEY", "add_step", "agent_node", "collecting", "report_waiting",
           "run_model", "stopped", "tripped", "turn_journal", "waiting_mark", "waiting_turns"]

#: Key of the progress events an agent node writes to LangGraph's ``custom`` stream.
STREAM_KEY = "agentpatterns"

TurnFactory = Callable[[Mapping[str, Any]], Generator[Any, Any, TurnResult]]
Finish = Callable[[Mapping[str, Any], TurnResult], Any]


def run_model(config: RunnableConfig | None) -> Any:
    """The run's ``model=`` override, carried in the config (never in the checkpoint)."""
    return ((config or {}).get("configurable") or {}).get(MODEL_KEY)


def _budget(config: RunnableConfig | None, state: Mapping[str, Any]) -> Budget | None:
    budget = ((config or {}).get("configurable") or {}).get(BUDGET_KEY)
    if isinstance(budget, Budget):
        budget.start(state)
        return budget
    return None


def _emit(event: dict[str, Any]) -> None:
    # a no-op unless the graph is streamed with stream_mode including "custom"
    from langgraph.config import get_stream_writer

    get_stream_writer()({STREAM_KEY: event})


def turn_journal(config: RunnableConfig | None) -> TurnJournal | None:
    """The journal of the task running this node (``None`` without a checkpointer).

    Model, tool and guardrail calls of the node's turn are recorded in the checkpointer's
    database as they complete and replayed when the same task runs again (after a crash, or
    an interrupt inside the turn); see :mod:`agentpatterns.nodes.journal`.
    """
    configurable = (config or {}).get("configurable") or {}
    saver = configurable.get(CONFIG_KEY_CHECKPOINTER)
    task_id = configurable.get(CONFIG_KEY_TASK_ID)
    thread_id = configurable.get("thread_id")
    wait = configurable.get(CONFIG_KEY_DURABILITY, "async") == "async"
    if not recording():  # a node of a pattern used as a tool: keyed by the calling turn
        meta = (config or {}).get("metadata") or {}
        where = f"{meta.get('langgraph_step')}:{meta.get('langgraph_path')}"
        inner = nested_key(str(configurable.get("checkpoint_ns", "")), where)
        return None if saver is None or inner is None else TurnJournal(
            journal_store(saver), inner, wait=wait)
    if saver is None or not task_id or thread_id is None:
        return None
    namespace = str(configurable.get("checkpoint_ns", ""))
    parent_ns = namespace.rsplit("|", 1)[0] if "|" in namespace else ""
    checkpoint_id = (configurable.get(CONFIG_KEY_CHECKPOINT_MAP) or {}).get(parent_ns, "")
    key = TaskKey(thread_id=str(thread_id), task_id=str(task_id), checkpoint_ns=namespace,
                  parent_ns=parent_ns, checkpoint_id=str(checkpoint_id or ""))
    # under "async" durability (LangGraph's default) the step's checkpoint may still be on
    # its way to the database; under "exit" there is no crash durability to protect
    return TurnJournal(journal_store(saver), key, wait=wait)


def stopped(state: Mapping[str, Any]) -> bool:
    """True once a guardrail (or a rejection) has stopped the run."""
    return bool(state.get("stopped"))


def tripped(res: TurnResult) -> Command[Any]:
    """The node's answer when a guardrail tripped: straight to the end, the reason recorded.

    The tripped turn's messages stay out of the conversation (a rejected output must not
    reach the next run on the thread); its model calls, usage and events are kept.
    """
    assert res.tripwire is not None
    return Command(goto=END, update={
        "path": res.path, "usage": res.state_update()["usage"], "events": res.events,
        "final_output": None, "last_agent": res.tripwire["agent"],
        "stopped": {"reason": "guardrail", **res.tripwire}})


#: Config key of the list collecting this invocation's half-done turns (``waiting_turns``)
WAITING_KEY = "__agentpatterns_waiting__"


def waiting_turns(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``config`` for one invocation of a graph that collects what the turns an
    ``interrupt()`` (or the run's budget) stopped half-way had done - an agent waiting on
    a tool approval, or on a pattern used as a tool stopped inside (whose finished turns
    have no checkpoint of their own) - and the list it collects them in, as
    ``{"path": [...], "usage": {...}}`` entries in run order. Their nodes did not finish,
    so the thread's state does not show them; the interrupted or cut-off result does."""
    out: list[dict[str, Any]] = []
    return {**config, "configurable": {**(config.get("configurable") or {}),
                                       WAITING_KEY: out}}, out


def _waiting(config: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    log = ((config or {}).get("configurable") or {}).get(WAITING_KEY)
    return log if isinstance(log, list) else None


def collecting(config: Mapping[str, Any] | None) -> bool:
    """Whether this invocation collects half-done turns (see :func:`waiting_turns`)."""
    return _waiting(config) is not None


def waiting_mark(config: Mapping[str, Any] | None) -> int:
    """Where the progress of work starting now goes among the waiting entries."""
    log = _waiting(config)
    return len(log) if log is not None else 0


def report_waiting(config: Mapping[str, Any] | None, mark: int, path: list[str],
                   usage: Mapping[str, Any]) -> None:
    """Record half-done work before the entries of the work it started (see ``mark``)."""
    log = _waiting(config)
    if log is not None and (path or usage):
        log.insert(min(mark, len(log)), {"path": list(path), "usage": dict(usage)})


def drop_waiting(config: Mapping[str, Any] | None, mark: int) -> None:
    """Forget the entries reported since ``mark`` (the work they belong to finished)."""
    log = _waiting(config)
    if log is not None:
        del log[mark:]


def _observed(turn: Generator[Any, Any, TurnResult], seen: TurnResult
              ) -> Generator[Any, Any, TurnResult]:
    """``turn``, noting each model reply it gets in ``seen`` (calls, usage, agents)."""
    value: Any = None
    while True:
        try:
            request = turn.send(value)
        except StopIteration as stop:
            return cast(TurnResult, stop.value)
        value = yield request
        if isinstance(request, ModelCall) and isinstance(value, AIMessage):
            name = request.agent.name
            if not seen.path:
                seen.path.append(name)
            seen.count(name, value)
        elif isinstance(value, TurnResult):  # a sub-turn (an agent or pattern used as a tool)
            seen.absorb(value)


def _report(config: RunnableConfig, turn: TurnResult, mark: int) -> None:
    usage = {name: {**bucket, "calls": turn.calls.get(name, 0)}
             for name, bucket in turn.usage.items()}
    report_waiting(config, mark, turn.path, usage)


def _done(config: RunnableConfig, res: TurnResult) -> None:
    # inside a pattern used as a tool a finished turn has no checkpoint: reported, so a
    # stop later inside the tool still shows it (dropped when the tool returns)
    if not recording() and collecting(config):
        _report(config, res, waiting_mark(config))


def agent_node(name: str, make_turn: TurnFactory, finish: Finish) -> RunnableCallable:
    """A node that runs ``make_turn(state)`` and turns the result into an update/Command.

    The same node works under ``invoke`` (blocking model calls) and ``ainvoke`` (awaited
    model calls, so parallel branches really overlap). A tripped guardrail ends the run
    (``tripped``) instead of ``finish``; the turn's progress goes to the ``custom`` stream;
    the run's budget (if any) is checked before every model call.
    """

    def run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        with using_context(context_of(config)), using_hooks(hooks_of(config)), \
                run_turns(config, state):
            return _run(state, config)

    def _end(state: Mapping[str, Any], config: RunnableConfig, res: TurnResult) -> Any:
        _done(config, res)
        return tripped(res) if res.tripwire is not None else finish(state, res)

    def _turn(state: Mapping[str, Any], config: RunnableConfig, seen: TurnResult) -> Any:
        return _observed(make_turn(state), seen) if collecting(config) else make_turn(state)

    def _run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        budget = _budget(config, state)
        journal = turn_journal(config)
        seen, mark = TurnResult(agent=name), waiting_mark(config)
        try:
            if budget is None:
                res = drive(_turn(state, config, seen), run_model(config), emit=_emit,
                            journal=journal)
                return _end(state, config, res)
            with budget.turn():
                res = drive(_turn(state, config, seen), run_model(config), emit=_emit,
                            budget=budget, journal=journal)
                return _end(state, config, res)
        except (GraphInterrupt, BudgetExceeded):
            _report(config, seen, mark)
            raise

    async def arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        with using_context(context_of(config)), using_hooks(hooks_of(config)), \
                run_turns(config, state):
            return await _arun(state, config)

    async def _arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        budget = _budget(config, state)
        journal = turn_journal(config)
        seen, mark = TurnResult(agent=name), waiting_mark(config)
        try:
            if budget is None:
                res = await adrive(_turn(state, config, seen), run_model(config), emit=_emit,
                                   journal=journal)
                return _end(state, config, res)
            async with budget.aturn():
                res = await adrive(_turn(state, config, seen), run_model(config), emit=_emit,
                                   budget=budget, journal=journal)
                return _end(state, config, res)
        except (GraphInterrupt, BudgetExceeded):
            _report(config, seen, mark)
            raise

    return RunnableCallable(run, arun, name=name)


def add_step(graph: StateGraph[Any, Any, Any, Any], source: str, target: str, *,
             guarded: bool) -> None:
    """``source -> target``; when ``source`` may be stopped by a guardrail, a conditional
    edge that goes to the end instead (a static edge would still run ``target`` after the
    node's ``Command(goto=END)``), so the stop shows in ``get_graph()`` too."""
    if not guarded:
        graph.add_edge(source, target)
        return

    def route(state: Mapping[str, Any]) -> str:
        return END if stopped(state) else target

    graph.add_conditional_edges(source, route, [target, END])
