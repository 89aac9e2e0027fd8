"""Turning an agent turn into a LangGraph node (sync and async from one definition)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable

from agentpatterns.nodes.runtime import MODEL_KEY, TurnResult, adrive, drive

__all__ = ["agent_node", "run_model"]

TurnFactory = Callable[[Mapping[str, Any]], Generator[Any, Any, TurnResult]]
Finish = Callable[[Mapping[str, Any], TurnResult], Any]


def run_model(config: RunnableConfig | None) -> Any:
    """The run's ``model=`` override, carried in the config (never in the checkpoint)."""
    return ((config or {}).get("configurable") or {}).get(MODEL_KEY)


def agent_node(name: str, make_turn: TurnFactory, finish: Finish) -> RunnableCallable:
    """A node that runs ``make_turn(state)`` and turns the result into an update/Command.

    The same node works under ``invoke`` (blocking model calls) and ``ainvoke`` (awaited
    model calls, so parallel branches really overlap).
    """

    def run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        return finish(state, drive(make_turn(state), run_model(config)))

    async def arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        return finish(state, await adrive(make_turn(state), run_model(config)))

    return RunnableCallable(run, arun, name=name)
