"""The run context: the user's own object, given to a run with ``context=``.

As in the OpenAI Agents SDK, ``Runner.run(..., context=obj)`` takes any object (a dataclass,
a pydantic model, a plain class, a dict). Dynamic instructions, tools whose first parameter
is a :class:`RunContextWrapper` / :class:`ToolContext`, guardrails, hooks and handoff
callbacks get *that* object as ``ctx.context`` and may change it; later steps of the same
run see the change.

It is **not checkpointed** (the SDK does not persist a custom context either): it lives in
the run's config (``config["configurable"][CONTEXT_KEY]``), never in the graph state. A run
resumed later - after an approval, from another process - gets the ``context=`` given to
``resume``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "CONTEXT_KEY",
    "RunContextWrapper",
    "ToolContext",
    "context_of",
    "current_context",
    "current_state",
    "using_context",
]

#: ``config["configurable"][CONTEXT_KEY]`` carries the run's ``context=`` into the nodes.
CONTEXT_KEY = "agentpatterns_context"

TContext = TypeVar("TContext")

_CURRENT: ContextVar[Any] = ContextVar("agentpatterns_run_context", default=None)
_STATE: ContextVar[Mapping[str, Any] | None] = ContextVar("agentpatterns_run_state",
                                                          default=None)


@dataclass
class RunContextWrapper(Generic[TContext]):
    """What callables of a run get as their first argument (the SDK's ``RunContextWrapper``).

    Attributes:
        context: The object passed as ``context=`` (``None`` when none was).
    """

    context: TContext


@dataclass
class ToolContext(RunContextWrapper[TContext]):
    """The first argument of a tool that asks for the context (the SDK's ``ToolContext``).

    Attributes:
        tool_name: The tool being called.
        tool_call_id: The model's id of this call.
        tool_arguments: The call's arguments as the model sent them (JSON text).
        agent: The name of the agent calling the tool.
        idempotency_key: The same for this call when it is run again after a crash (pass
            it to a service that must act once); ``None`` without a checkpointer. See
            :func:`agentpatterns.idempotency_key`.
    """

    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""
    agent: str = ""
    idempotency_key: str | None = None


def current_context() -> Any:
    """The context object of the run whose node is executing (``None`` outside one)."""
    return _CURRENT.get()


def current_state() -> Mapping[str, Any]:
    """The run state that one-argument instruction functions get on the SDK runtime
    (``{"input": <request>, ...}``; on LangGraph they get the graph state itself)."""
    return _STATE.get() or {}


def context_of(config: Mapping[str, Any] | None) -> Any:
    """The run's ``context=`` object from a LangGraph config."""
    return ((config or {}).get("configurable") or {}).get(CONTEXT_KEY)


@contextlib.contextmanager
def using_context(context: Any, state: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Make ``context`` the current run context for the block (a graph node's turn, an SDK
    ``Runner.run``); ``state`` is what :func:`current_state` returns there."""
    token = _CURRENT.set(context)
    state_token = _STATE.set(state) if state is not None else None
    try:
        yield
    finally:
        if state_token is not None:
            _STATE.reset(state_token)
        _CURRENT.reset(token)
