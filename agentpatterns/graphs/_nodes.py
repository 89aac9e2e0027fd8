"""Turning an agent turn into a LangGraph node (sync and async from one definition)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import (
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINTER,
    CONFIG_KEY_DURABILITY,
    CONFIG_KEY_TASK_ID,
)
from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import END, StateGraph
from langgraph.types import Command

from agentpatterns.nodes._drivers import adrive, drive
from agentpatterns.nodes.budget import BUDGET_KEY, Budget
from agentpatterns.nodes.context import context_of, using_context
from agentpatterns.nodes.hooks import hooks_of, using_hooks
from agentpatterns.nodes.journal import TaskKey, TurnJournal, recording
from agentpatterns.nodes.runtime import MODEL_KEY, TurnResult, run_turns
from agentpatterns.storage.journal import journal_store

__all__ = ["STREAM_KEY", "add_step", "agent_node", "run_model", "stopped", "tripped",
           "turn_journal"]

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
    if saver is None or not task_id or thread_id is None or not recording():
        return None
    namespace = str(configurable.get("checkpoint_ns", ""))
    parent_ns = namespace.rsplit("|", 1)[0] if "|" in namespace else ""
    checkpoint_id = (configurable.get(CONFIG_KEY_CHECKPOINT_MAP) or {}).get(parent_ns, "")
    key = TaskKey(thread_id=str(thread_id), task_id=str(task_id), checkpoint_ns=namespace,
                  parent_ns=parent_ns, checkpoint_id=str(checkpoint_id or ""))
    # under "async" durability (LangGraph's default) the step's checkpoint may still be on
    # its way to the database; under "exit" there is no crash durability to protect
    wait = configurable.get(CONFIG_KEY_DURABILITY, "async") == "async"
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

    def _run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        budget = _budget(config, state)
        journal = turn_journal(config)
        if budget is None:
            res = drive(make_turn(state), run_model(config), emit=_emit, journal=journal)
            return tripped(res) if res.tripwire is not None else finish(state, res)
        with budget.turn():
            res = drive(make_turn(state), run_model(config), emit=_emit, budget=budget,
                        journal=journal)
            return tripped(res) if res.tripwire is not None else finish(state, res)

    async def arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        with using_context(context_of(config)), using_hooks(hooks_of(config)), \
                run_turns(config, state):
            return await _arun(state, config)

    async def _arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        budget = _budget(config, state)
        journal = turn_journal(config)
        if budget is None:
            res = await adrive(make_turn(state), run_model(config), emit=_emit, journal=journal)
            return tripped(res) if res.tripwire is not None else finish(state, res)
        async with budget.aturn():
            res = await adrive(make_turn(state), run_model(config), emit=_emit, budget=budget,
                               journal=journal)
            return tripped(res) if res.tripwire is not None else finish(state, res)

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
