"""What every ``Runner`` entry point does before the graph runs: one :class:`Plan`.

``run`` / ``run_sync`` / ``run_streamed`` and the three ``resume`` twins (and the command
line) differ only in how they drive the compiled graph (:mod:`agentpatterns.run.invoke`);
the input, the models, the budget, the config and the opened storage are prepared here,
once, by :func:`prepare` and :func:`opened` / :func:`aopened`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import HumanMessage

from agentpatterns.errors import InputError, ResumeError
from agentpatterns.graphs.handoffs import as_pattern
from agentpatterns.graphs.human_approval import normalize_decision
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.budget import BUDGET_KEY, Budget, has_limits
from agentpatterns.nodes.context import CONTEXT_KEY
from agentpatterns.nodes.hooks import HOOKS_KEY
from agentpatterns.nodes.models import check_models
from agentpatterns.nodes.runtime import MAX_TURNS_KEY, MODEL_KEY
from agentpatterns.run.locks import athread_lock, thread_lock
from agentpatterns.run.threads import DONE, snapshot_status
from agentpatterns.state import fresh_run_update

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from agentpatterns.run.session import SQLiteSession

__all__ = ["MISSING", "Plan", "aopened", "compiled", "input_messages", "opened", "prepare",
           "start_input"]

#: ``resume(decision=...)`` not given (``None`` is a decision of its own: rejected).
MISSING: Any = object()


def _max_turns(value: Any) -> int:
    """``max_turns=`` checked: a whole number >= 1.

    Raises:
        InputError: Anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"max_turns={value!r}: give a whole number >= 1 (the most model "
                         "calls the run's turns may make, as agents.Runner.run(max_turns=))")
    return value


def _config(thread_id: str, model: Any, recursion_limit: int | None,
            extra: Mapping[str, Any] | None, *, budget: Budget | None = None,
            context: Any = None, hooks: Any = None,
            max_turns: int | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if model is not None:
        configurable[MODEL_KEY] = model
    if context is not None:  # the user's object: in the config, never in the checkpoint
        configurable[CONTEXT_KEY] = context
    if hooks is not None:  # likewise: the run's RunHooks
        configurable[HOOKS_KEY] = hooks
    if max_turns is not None:
        configurable[MAX_TURNS_KEY] = _max_turns(max_turns)
    configurable.update(extra or {})
    if budget is not None:
        configurable[BUDGET_KEY] = budget
    config: dict[str, Any] = {"configurable": configurable}
    if recursion_limit is not None:
        config["recursion_limit"] = recursion_limit
    return cast("RunnableConfig", config)


def input_messages(user_input: Any) -> tuple[list[Any], str]:
    """A run's input as messages and the request text: a string, or a list of SDK input
    items (``[{"role": "user", "content": ...}]``, ``result.to_input_list()``) as
    ``agents.Runner.run`` takes them; the request is the last user message's text.

    Raises:
        InputError: Empty input, or a list with no user message, or items that cannot be
            converted (naming the item).
    """
    from agentpatterns.errors import UnsupportedError
    from agentpatterns.nodes.items import items_to_messages, last_user_text

    if isinstance(user_input, str):
        if not user_input.strip():
            raise InputError("the input is empty; pass the user's request as a non-empty "
                             "string or a list of input items")
        return [HumanMessage(user_input)], user_input
    if not isinstance(user_input, list | tuple) or not user_input:
        raise InputError(f"the input {user_input!r} is neither a non-empty string nor a list "
                         "of input items ([{'role': 'user', 'content': '...'}])")
    try:
        messages = items_to_messages(None, list(user_input))
    except UnsupportedError as exc:
        raise InputError(f"the input items cannot be run: {exc}") from exc
    request = last_user_text(messages)
    if not request.strip():
        raise InputError("the input items hold no user message; add "
                         "{'role': 'user', 'content': '...'}")
    return messages, request


def start_input(user_input: Any, *, new_thread: bool = False) -> dict[str, Any]:
    """The graph input that starts a run: the messages, and (on a thread that ran before)
    the per-run keys of the earlier run reset."""
    messages, request = input_messages(user_input)
    if new_thread:  # a thread id made for this run: no earlier run's keys to reset
        return {"messages": messages, "input": request}
    return fresh_run_update(request, messages)


def compiled(pattern: Pattern, saver: Any, store: Any) -> Any:
    """The pattern's graph compiled with ``saver`` and ``store`` (cached per object pair)."""
    # compiling is cheap but not free; reuse per (saver, store) object pair
    cache: dict[tuple[int, int], tuple[Any, Any, Any]] = pattern.__dict__.setdefault(
        "_compiled", {})
    key = (id(saver), id(store))
    hit = cache.get(key)
    if hit is not None and hit[0] is saver and hit[1] is store:
        return hit[2]
    graph = pattern.graph().compile(checkpointer=saver, store=store, name=pattern.name)
    if len(cache) > 32:
        cache.clear()
    cache[key] = (saver, store, graph)
    return graph


def _session_args(session: SQLiteSession | None, thread_id: str | None, checkpointer: Any,
                  store: Any) -> tuple[str | None, Any, Any]:
    if session is None:
        return thread_id, checkpointer, store
    if thread_id is not None and thread_id != session.thread_id:
        raise InputError("pass either session= or thread_id=, not both")
    return session.thread_id, checkpointer or session.url, store or session.url


def _with_user(session: SQLiteSession | None,
               configurable: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if session is None or session.user_id is None:
        return configurable
    return {"user_id": session.user_id, **(configurable or {})}


def _resume_command(snapshot: Any, thread_id: str, decision: Any) -> Any:
    from langgraph.types import Command

    if not snapshot.values and not snapshot.next and not getattr(snapshot, "tasks", ()):
        raise ResumeError(f"thread {thread_id!r} has no run in this database; check the "
                          "thread id (see `agentpatterns threads`) and the --db")
    interrupts = tuple(getattr(snapshot, "interrupts", ()) or ())
    if snapshot_status(snapshot) == DONE:
        raise ResumeError(f"thread {thread_id!r} already finished; start a new run instead")
    if interrupts:
        if decision is MISSING:
            raise ResumeError(f"thread {thread_id!r} is waiting for a decision; pass "
                              "decision=True (approve), False (reject) or a dict with feedback")
        return Command(resume=normalize_decision(decision))
    if decision is not MISSING:
        raise ResumeError(f"thread {thread_id!r} is not waiting for a decision; resume it "
                          "without one to continue a run that was cut off")
    return None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One run or resume, prepared: what the graph gets and where it is stored.

    Attributes:
        pattern: The pattern that runs.
        thread_id: The thread it runs on.
        config: The LangGraph config (thread, model, budget, context, extras).
        checkpointer: Saver object or URL, as given.
        store: Store object or URL, as given.
        model: The ``model=`` override (or ``None``).
        budget: The run's ``Budget`` (``None`` without limits).
        payload: A run's graph input (``None`` for a resume).
        resume: Whether this continues the thread (``decision`` answers its interrupt).
        decision: The resume's decision (``MISSING`` when none was given).
        progress: Show live progress (``progress=None`` resolved: on in a notebook).
    """

    pattern: Pattern
    thread_id: str
    config: Any
    checkpointer: Any
    store: Any
    model: Any
    budget: Budget | None
    payload: Any = None
    resume: bool = False
    decision: Any = MISSING
    progress: bool = False

    def begin(self, snapshot: Any) -> Any:
        """The graph input, with the budget started: a run's ``payload``, or the resume
        command for the thread's ``snapshot`` (validated; the thread is not touched)."""
        if not self.resume:
            if self.budget is not None:
                self.budget.start({})  # a new run: nothing spent yet
            return self.payload
        command = _resume_command(snapshot, self.thread_id, self.decision)
        if self.budget is not None:  # budgets count the whole run, earlier resumes included
            self.budget.start(snapshot.values or {})
        return command


def prepare(target: Pattern | Agent, input: Any = None, *, resume: bool = False,
            thread_id: str | None = None, decision: Any = MISSING, checkpointer: Any = None,
            store: Any = None, model: Any = None, session: SQLiteSession | None = None,
            recursion_limit: int | None = None, configurable: Mapping[str, Any] | None = None,
            context: Any = None, max_model_calls: int | None = None,
            max_tokens: int | None = None, progress: bool | None = None,
            hooks: Any = None, max_turns: int | None = None) -> Plan:
    """The :class:`Plan` of a ``Runner`` call (its keyword arguments, as given).

    Everything that can be wrong with the call fails here, before any storage is opened
    or a checkpoint written: the input, the session, the models, the budget's limits.

    Raises:
        InputError: Bad input, ``session=`` with another ``thread_id=``, a budget limit that
            is not a whole number >= 1, a ``progress=`` that is not a bool or ``None``.
        ModelError: A model that cannot be used (e.g. no API key).
    """
    from agentpatterns.run.progress import shown

    pattern = as_pattern(target)
    show = shown(progress)
    payload = None
    if not resume:
        thread_id, checkpointer, store = _session_args(session, thread_id, checkpointer, store)
        payload = start_input(input, new_thread=thread_id is None)
        configurable = _with_user(session, configurable)
    check_models(pattern.agents, model)  # a model that cannot work fails before any checkpoint
    thread_id = thread_id or uuid.uuid4().hex
    budget = (Budget(max_model_calls=max_model_calls, max_tokens=max_tokens,
                     thread_id=thread_id)
              if has_limits(max_model_calls, max_tokens) else None)
    config = _config(thread_id, model, recursion_limit, configurable, budget=budget,
                     context=context, hooks=hooks, max_turns=max_turns)
    return Plan(pattern=pattern, thread_id=thread_id, config=config, checkpointer=checkpointer,
                store=store, model=model, budget=budget, payload=payload, resume=resume,
                decision=decision, progress=show)


@contextmanager
def opened(plan: Plan) -> Iterator[Any]:
    """Storage opened, the thread locked, and the compiled graph (blocking variants)."""
    from agentpatterns.storage import open_checkpointer, open_store

    with (open_checkpointer(plan.checkpointer) as saver, open_store(plan.store) as st,
          thread_lock(saver, plan.thread_id)):
        yield compiled(plan.pattern, saver, st)


@asynccontextmanager
async def aopened(plan: Plan) -> AsyncIterator[Any]:
    """Storage opened, the thread locked, and the compiled graph (async variants)."""
    from agentpatterns.storage import aopen_checkpointer, aopen_store

    async with (aopen_checkpointer(plan.checkpointer) as saver, aopen_store(plan.store) as st,
                athread_lock(saver, plan.thread_id)):
        yield compiled(plan.pattern, saver, st)
