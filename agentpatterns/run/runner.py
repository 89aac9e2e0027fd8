"""``Runner`` and ``RunResult``: run, resume and inspect a pattern on LangGraph."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import HumanMessage

from agentpatterns.errors import BudgetExceeded, InputError, ResumeError
from agentpatterns.graphs.handoffs import as_pattern
from agentpatterns.graphs.human_approval import normalize_decision
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.budget import BUDGET_KEY, Budget, has_limits
from agentpatterns.nodes.context import CONTEXT_KEY
from agentpatterns.nodes.models import check_models, describe_model, resolve_model
from agentpatterns.nodes.runtime import MODEL_KEY
from agentpatterns.run.locks import athread_lock, thread_lock
from agentpatterns.run.result import RunResult, Step
from agentpatterns.run.threads import DONE, api_fork, api_history, api_threads, snapshot_status
from agentpatterns.state import add_counts, fresh_run_update

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from agentpatterns.events import Event
    from agentpatterns.run.session import SQLiteSession

__all__ = ["RunResult", "Runner"]

_MISSING: Any = object()


def _config(thread_id: str, model: Any, recursion_limit: int | None,
            extra: Mapping[str, Any] | None, *, budget: Budget | None = None,
            context: Any = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if model is not None:
        configurable[MODEL_KEY] = model
    if context is not None:  # the user's object: in the config, never in the checkpoint
        configurable[CONTEXT_KEY] = context
    configurable.update(extra or {})
    if budget is not None:
        configurable[BUDGET_KEY] = budget
    config: dict[str, Any] = {"configurable": configurable}
    if recursion_limit is not None:
        config["recursion_limit"] = recursion_limit
    return cast("RunnableConfig", config)


def _budget(max_model_calls: int | None, max_tokens: int | None,
            thread_id: str) -> Budget | None:
    """The run's ``Budget`` (``None`` without limits).

    Raises:
        InputError: A limit that is not a whole number >= 1.
    """
    if not has_limits(max_model_calls, max_tokens):
        return None
    return Budget(max_model_calls=max_model_calls, max_tokens=max_tokens, thread_id=thread_id)


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


def _start_input(user_input: Any, *, new_thread: bool = False) -> dict[str, Any]:
    messages, request = input_messages(user_input)
    if new_thread:  # a thread id made for this run: no earlier run's keys to reset
        return {"messages": messages, "input": request}
    return fresh_run_update(request, messages)


def _compiled(pattern: Pattern, saver: Any, store: Any) -> Any:
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


def _interruption(pattern: Pattern, value: Any) -> Any:
    """The interrupt's value; a nested approval also says where it is (``patterns``)."""
    if isinstance(value, Mapping) and value.get("pattern") and pattern.patterns:
        return {**value, "patterns": list(pattern.pattern_path(str(value["pattern"])))}
    return value


def _result(pattern: Pattern, snapshot: Any, thread_id: str, model: Any) -> RunResult:
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
        thread_id=thread_id,
        interrupted=bool(interrupts),
        interruption=_interruption(pattern, interrupts[0].value) if interrupts else None,
        steps=tuple(Step(agent=a, patterns=p) for a, p in pattern.steps(path)),
        model=describe_model(resolve_model(model, entry_agent.model)),
        calls={a: int(u["calls"]) for a, u in usage.items() if u.get("calls")},
        usage={a: {k: v for k, v in u.items() if k != "calls"} for a, u in usage.items()},
        handoffs=list(values.get("handoffs") or []),
        events=list(values.get("events") or []),
        tool_calls=list(values.get("tool_calls") or []),
        values=values,
    )


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

    if not snapshot.values and not snapshot.next and not snapshot.tasks:
        raise ResumeError(f"thread {thread_id!r} has no run in this database; check the "
                          "thread id (see `agentpatterns threads`) and the --db")
    interrupts = tuple(getattr(snapshot, "interrupts", ()) or ())
    if snapshot_status(snapshot) == DONE:
        raise ResumeError(f"thread {thread_id!r} already finished; start a new run instead")
    if interrupts:
        if decision is _MISSING:
            raise ResumeError(f"thread {thread_id!r} is waiting for a decision; pass "
                              "decision=True (approve), False (reject) or a dict with feedback")
        return Command(resume=normalize_decision(decision))
    if decision is not _MISSING:
        raise ResumeError(f"thread {thread_id!r} is not waiting for a decision; resume it "
                          "without one to continue a run that was cut off")
    return None


def _finish(pattern: Pattern, snapshot: Any, thread_id: str, model: Any) -> RunResult:
    """The run's result; raises the tripwire exception if a guardrail stopped it."""
    from agentpatterns.nodes.guardrails import tripwire_error

    result = _result(pattern, snapshot, thread_id, model)
    stop = result.values.get("stopped")
    if isinstance(stop, Mapping) and stop.get("reason") == "guardrail":
        exc = tripwire_error(stop, pattern.agent_map.get(str(stop.get("agent"))))
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
                           "tool_calls": []}
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
    return out


def _with_pending(snapshot: Any, full: Any) -> Any:
    extra = _pending(full)
    if not extra["path"] and not extra["usage"]:
        return snapshot
    values = dict(snapshot.values or {})
    for key in ("path", "events", "handoffs", "tool_calls"):
        values[key] = [*(values.get(key) or []), *extra[key]]
    values["usage"] = add_counts(values.get("usage") or {}, extra["usage"])
    return _Snapshot(values, getattr(snapshot, "interrupts", ()), getattr(snapshot, "next", ()))


def settled(pattern: Pattern, graph: Any, config: Any, snapshot: Any = None) -> Any:
    """The thread's state (``snapshot`` if given) with its nested runs' progress."""
    if snapshot is None:
        snapshot = graph.get_state(config)
    if not pattern.patterns:
        return snapshot
    return _with_pending(snapshot, graph.get_state(config, subgraphs=True))


async def asettled(pattern: Pattern, graph: Any, config: Any, snapshot: Any = None) -> Any:
    """The ``async`` twin of :func:`settled`."""
    if snapshot is None:
        snapshot = await graph.aget_state(config)
    if not pattern.patterns:
        return snapshot
    return _with_pending(snapshot, await graph.aget_state(config, subgraphs=True))


def _invoke(pattern: Pattern, graph: Any, payload: Any, config: Any, thread_id: str,
            model: Any) -> RunResult:
    try:
        out = graph.invoke(payload, config, version="v2")
    except BudgetExceeded as exc:  # the thread stays at its last completed step
        exc.result = _result(pattern, settled(pattern, graph, config), thread_id, model)
        raise
    snapshot = _Output(out) if isinstance(out.value, Mapping) else graph.get_state(config)
    if snapshot.interrupts:
        snapshot = settled(pattern, graph, config, snapshot)
    return _finish(pattern, snapshot, thread_id, model)


async def _ainvoke(pattern: Pattern, graph: Any, payload: Any, config: Any, thread_id: str,
                   model: Any) -> RunResult:
    try:
        out = await graph.ainvoke(payload, config, version="v2")
    except BudgetExceeded as exc:
        exc.result = _result(pattern, await asettled(pattern, graph, config), thread_id, model)
        raise
    snapshot = _Output(out) if isinstance(out.value, Mapping) else await graph.aget_state(config)
    if snapshot.interrupts:
        snapshot = await asettled(pattern, graph, config, snapshot)
    return _finish(pattern, snapshot, thread_id, model)


def stream_events(pattern: Pattern, graph: Any, payload: Any, config: Any, thread_id: str,
                  model: Any) -> Iterator[Event]:
    """Blocking event stream of one invocation (the CLI's); see :meth:`Runner.run_streamed`."""
    from agentpatterns.events import RunFinished
    from agentpatterns.run.stream import STREAM_MODES, LangGraphEvents

    translate = LangGraphEvents()
    try:  # subgraphs: the agents of nested patterns stream their progress too
        for ns, mode, chunk in graph.stream(payload, config, stream_mode=list(STREAM_MODES),
                                            subgraphs=True):
            yield from translate.feed(mode, chunk, ns=ns)
    except BudgetExceeded as exc:
        exc.result = _result(pattern, settled(pattern, graph, config), thread_id, model)
        raise
    yield RunFinished(result=_finish(pattern, settled(pattern, graph, config), thread_id,
                                     model))


async def _astream_events(pattern: Pattern, graph: Any, payload: Any, config: Any,
                          thread_id: str, model: Any) -> AsyncIterator[Event]:
    from agentpatterns.events import RunFinished
    from agentpatterns.run.stream import STREAM_MODES, LangGraphEvents

    translate = LangGraphEvents()
    try:
        async for ns, mode, chunk in graph.astream(payload, config,
                                                   stream_mode=list(STREAM_MODES),
                                                   subgraphs=True):
            for event in translate.feed(mode, chunk, ns=ns):
                yield event
    except BudgetExceeded as exc:
        exc.result = _result(pattern, await asettled(pattern, graph, config), thread_id, model)
        raise
    yield RunFinished(result=_finish(pattern, await asettled(pattern, graph, config),
                                     thread_id, model))



@dataclass
class _Plan:
    """What every run/resume variant needs before it opens storage."""

    pattern: Pattern
    thread_id: str
    config: Any
    checkpointer: Any
    store: Any
    model: Any
    budget: Any
    payload: Any = None

    def start_budget(self, spent: Mapping[str, Any]) -> None:
        if self.budget is not None:
            self.budget.start(spent)

    def command(self, snapshot: Any, decision: Any) -> Any:
        """The resume payload for ``snapshot`` (validated), with the budget started."""
        command = _resume_command(snapshot, self.thread_id, decision)
        self.start_budget(snapshot.values or {})
        return command


def _plan_run(target: Pattern | Agent, user_input: Any, *, thread_id: str | None,
              checkpointer: Any, store: Any, model: Any, session: SQLiteSession | None,
              recursion_limit: int | None, configurable: Mapping[str, Any] | None,
              max_model_calls: int | None, max_tokens: int | None,
              context: Any = None) -> _Plan:
    pattern = as_pattern(target)
    thread_id, checkpointer, store = _session_args(session, thread_id, checkpointer, store)
    payload = _start_input(user_input, new_thread=thread_id is None)
    check_models(pattern.agents, model)  # a model that cannot work fails before any checkpoint
    thread_id = thread_id or uuid.uuid4().hex
    budget = _budget(max_model_calls, max_tokens, thread_id)
    config = _config(thread_id, model, recursion_limit, _with_user(session, configurable),
                     budget=budget, context=context)
    return _Plan(pattern, thread_id, config, checkpointer, store, model, budget, payload)


def _plan_resume(target: Pattern | Agent, *, thread_id: str, checkpointer: Any, store: Any,
                 model: Any, recursion_limit: int | None,
                 configurable: Mapping[str, Any] | None, max_model_calls: int | None,
                 max_tokens: int | None, context: Any = None) -> _Plan:
    pattern = as_pattern(target)
    check_models(pattern.agents, model)
    budget = _budget(max_model_calls, max_tokens, thread_id)
    config = _config(thread_id, model, recursion_limit, configurable, budget=budget,
                     context=context)
    return _Plan(pattern, thread_id, config, checkpointer, store, model, budget)


def _run_blocking(plan: _Plan, graph: Any, payload: Any, progress: bool | None) -> RunResult:
    """``invoke``, or - with progress shown - ``stream`` with each event printed."""
    from agentpatterns.run.progress import in_notebook

    if not (in_notebook() if progress is None else progress):
        return _invoke(plan.pattern, graph, payload, plan.config, plan.thread_id, plan.model)
    from agentpatterns.events import RunFinished
    from agentpatterns.run.progress import ProgressPrinter, progress_console

    show = ProgressPrinter(progress_console())
    result: RunResult | None = None
    for event in stream_events(plan.pattern, graph, payload, plan.config, plan.thread_id,
                               plan.model):
        if isinstance(event, RunFinished):
            result = event.result
        else:
            show(event)
    assert result is not None  # a stream that ends normally ends with RunFinished
    return result


@contextmanager
def _opened(plan: _Plan) -> Iterator[Any]:
    """Storage opened, the thread locked, and the compiled graph (blocking variants)."""
    from agentpatterns.storage import open_checkpointer, open_store

    with (open_checkpointer(plan.checkpointer) as saver, open_store(plan.store) as st,
          thread_lock(saver, plan.thread_id)):
        yield _compiled(plan.pattern, saver, st)


@asynccontextmanager
async def _aopened(plan: _Plan) -> AsyncIterator[Any]:
    """Storage opened, the thread locked, and the compiled graph (async variants)."""
    from agentpatterns.storage import aopen_checkpointer, aopen_store

    async with (aopen_checkpointer(plan.checkpointer) as saver, aopen_store(plan.store) as st,
                athread_lock(saver, plan.thread_id)):
        yield _compiled(plan.pattern, saver, st)


class Runner:
    """Run patterns (or single agents) on LangGraph; keyword-only options, like the SDK.

    Every method accepts a ``Pattern`` or an ``Agent`` (which becomes ``from_agent(agent)``).

    How a run can stop early:

    * **a guardrail trips**: the graph goes to its end with ``stopped = {"reason":
      "guardrail", "kind", "agent", "guardrail", "info"}`` in the saved state, and the method
      raises ``InputGuardrailTripwireTriggered`` / ``OutputGuardrailTripwireTriggered`` (as
      the SDK's ``Runner`` does; a tripped wire is not an answer). ``exc.result`` is the
      ``RunResult`` of the stopped run.
    * **a budget is reached** (``max_model_calls=``, ``max_tokens=``): ``BudgetExceeded``
      is raised before the call that would go over; the thread stays at its last completed
      step (``exc.result``), and ``resume(..., max_model_calls=<larger>)`` continues it,
      re-running only the step that was cut off. Budgets count the whole run, resumes
      included.
    """

    @staticmethod
    async def run(target: Pattern | Agent, input: str | list[Any], *, thread_id: str | None = None,
                  checkpointer: Any = None, store: Any = None, model: Any = None,
                  session: SQLiteSession | None = None, recursion_limit: int | None = None,
                  configurable: Mapping[str, Any] | None = None,
                  context: Any = None,
                  max_model_calls: int | None = None,
                  max_tokens: int | None = None) -> RunResult:
        """Run to the end (or to an interrupt) and return the result.

        Args:
            target: The pattern or agent.
            input: The user's request: a string, or a list of input items as
                ``agents.Runner.run`` takes them (``[{"role": "user", "content": ...}]``,
                ``result.to_input_list()`` of an earlier run plus a new user message). The
                run starts at the pattern's entry agent, as ``agents.Runner.run(agent, ...)``
                starts at the agent given; to continue with the agent that answered last
                (as the SDK's examples do with ``result.last_agent``), run
                ``pattern.agent(result.last_agent)``. On a thread the items are added to its
                conversation.
            thread_id: The thread to checkpoint under (new random id by default). Reusing a
                thread continues its conversation.
            checkpointer: Saver object or URL (``memory`` default, ``sqlite:///file``,
                ``postgresql://...``). The default in-memory saver is shared by the whole
                process and keeps every thread until it exits, so a later ``resume`` finds
                the run; a long-lived service should pass a SQLite or PostgreSQL URL.
            store: Long-term memory store (object or URL).
            model: Model for every agent (name or LangChain chat model); overrides theirs.
            session: A ``SQLiteSession``: thread and database for conversational memory.
            recursion_limit: LangGraph's bound on steps.
            configurable: Extra ``config["configurable"]`` entries (e.g. ``user_id``).
            context: Any object, as the SDK's ``Runner.run(context=)``: dynamic instructions,
                tools taking a ``RunContextWrapper``/``ToolContext``, guardrails and hooks get
                it as ``ctx.context`` and may change it. Not checkpointed (nor is it by the
                SDK): pass it again to ``resume``.
            max_model_calls: Most model calls the run may make (all agents, all resumes).
            max_tokens: Most tokens the run may use (checked before each model call).

        Raises:
            ThreadBusyError: Another run, in this or another process, is running the thread
                (one run at a time per thread; see ``agentpatterns.run.locks``).
            InputGuardrailTripwireTriggered: An input guardrail stopped the run (state saved).
            OutputGuardrailTripwireTriggered: An output guardrail stopped the run.
            BudgetExceeded: The budget would be exceeded; resume with a larger one.
        """
        plan = _plan_run(target, input, thread_id=thread_id, checkpointer=checkpointer,
                         store=store, model=model, session=session,
                         recursion_limit=recursion_limit, configurable=configurable,
                         context=context,
                         max_model_calls=max_model_calls, max_tokens=max_tokens)
        async with _aopened(plan) as graph:
            plan.start_budget({})  # a new run: nothing spent yet
            return await _ainvoke(plan.pattern, graph, plan.payload, plan.config,
                                  plan.thread_id, model)

    @staticmethod
    def run_sync(target: Pattern | Agent, input: str | list[Any], *, thread_id: str | None = None,
                 checkpointer: Any = None, store: Any = None, model: Any = None,
                 session: SQLiteSession | None = None, recursion_limit: int | None = None,
                 configurable: Mapping[str, Any] | None = None,
                 context: Any = None,
                 max_model_calls: int | None = None,
                 max_tokens: int | None = None,
                 progress: bool | None = None) -> RunResult:
        """Blocking ``run`` (uses LangGraph's ``invoke``; no event loop needed).

        ``progress``: show each agent turn, handoff and tool call as it happens
        (:mod:`agentpatterns.run.progress`); ``None`` (default) shows it in a Jupyter
        notebook only, ``False`` never.
        """
        plan = _plan_run(target, input, thread_id=thread_id, checkpointer=checkpointer,
                         store=store, model=model, session=session,
                         recursion_limit=recursion_limit, configurable=configurable,
                         context=context,
                         max_model_calls=max_model_calls, max_tokens=max_tokens)
        with _opened(plan) as graph:
            plan.start_budget({})
            return _run_blocking(plan, graph, plan.payload, progress)

    @staticmethod
    async def resume(target: Pattern | Agent, *, thread_id: str, decision: Any = _MISSING,
                     checkpointer: Any = None, store: Any = None, model: Any = None,
                     recursion_limit: int | None = None,
                     configurable: Mapping[str, Any] | None = None,
                     context: Any = None,
                     max_model_calls: int | None = None,
                     max_tokens: int | None = None) -> RunResult:
        """Continue a thread: answer its pending decision, or finish a run that was cut off.

        ``max_model_calls`` / ``max_tokens`` bound the whole run, what it spent before this
        resume included: a run stopped by its budget continues with a larger one.

        Raises:
            ResumeError: Unknown thread, a finished thread, a decision where none is awaited
                (or none where one is). The thread's state is not touched.
            ThreadBusyError: Another process (or run) is running or resuming the thread.
            InputError: A decision in a form that is not understood.
        """
        plan = _plan_resume(target, thread_id=thread_id, checkpointer=checkpointer, store=store,
                            model=model, recursion_limit=recursion_limit,
                            configurable=configurable,
                            context=context,
                            max_model_calls=max_model_calls, max_tokens=max_tokens)
        async with _aopened(plan) as graph:
            command = plan.command(await asettled(plan.pattern, graph, plan.config), decision)
            return await _ainvoke(plan.pattern, graph, command, plan.config,
                                  plan.thread_id, model)

    @staticmethod
    def resume_sync(target: Pattern | Agent, *, thread_id: str, decision: Any = _MISSING,
                    checkpointer: Any = None, store: Any = None, model: Any = None,
                    recursion_limit: int | None = None,
                    configurable: Mapping[str, Any] | None = None,
                    context: Any = None,
                    max_model_calls: int | None = None,
                    max_tokens: int | None = None,
                    progress: bool | None = None) -> RunResult:
        """Blocking ``resume``; ``progress`` as for :meth:`run_sync`."""
        plan = _plan_resume(target, thread_id=thread_id, checkpointer=checkpointer, store=store,
                            model=model, recursion_limit=recursion_limit,
                            configurable=configurable,
                            context=context,
                            max_model_calls=max_model_calls, max_tokens=max_tokens)
        with _opened(plan) as graph:
            command = plan.command(settled(plan.pattern, graph, plan.config), decision)
            return _run_blocking(plan, graph, command, progress)

    # durable threads, for notebooks: what `agentpatterns threads / history / fork` show
    threads = staticmethod(api_threads)
    history = staticmethod(api_history)
    fork = staticmethod(api_fork)

    @staticmethod
    async def run_streamed(target: Pattern | Agent, input: str | list[Any], *,
                           thread_id: str | None = None,
                           checkpointer: Any = None, store: Any = None, model: Any = None,
                           session: SQLiteSession | None = None,
                           recursion_limit: int | None = None,
                           configurable: Mapping[str, Any] | None = None,
                           context: Any = None,
                           max_model_calls: int | None = None,
                           max_tokens: int | None = None) -> AsyncIterator[Event]:
        """``run``, as an async iterator of typed events (:mod:`agentpatterns.events`).

        Built from LangGraph's ``updates``, ``messages`` and ``custom`` stream modes: agents
        starting, reply tokens, tool calls and results, handoffs, recorded incidents, a
        tripped guardrail, an interrupt; the last event is ``RunFinished(result)``. The
        options and the exceptions are those of :meth:`run` (a tripped guardrail yields
        ``GuardrailTripped`` and then raises).

        Example:
            >>> import asyncio
            >>> from agentpatterns.examples import example
            >>> async def kinds():
            ...     return [e.type for e in [e async for e in Runner.run_streamed(
            ...         example("triage"), "I need to book a table")] if e.type != "token_delta"]
            >>> asyncio.run(kinds())
            ['agent_started', 'handoff', 'agent_started', 'run_finished']
        """
        plan = _plan_run(target, input, thread_id=thread_id, checkpointer=checkpointer,
                         store=store, model=model, session=session,
                         recursion_limit=recursion_limit, configurable=configurable,
                         context=context,
                         max_model_calls=max_model_calls, max_tokens=max_tokens)
        async with _aopened(plan) as graph:
            plan.start_budget({})  # a new run: nothing spent yet
            async for event in _astream_events(plan.pattern, graph, plan.payload,
                                               plan.config, plan.thread_id, model):
                yield event

    @staticmethod
    async def resume_streamed(target: Pattern | Agent, *, thread_id: str,
                              decision: Any = _MISSING, checkpointer: Any = None,
                              store: Any = None, model: Any = None,
                              recursion_limit: int | None = None,
                              configurable: Mapping[str, Any] | None = None,
                              context: Any = None,
                              max_model_calls: int | None = None,
                              max_tokens: int | None = None) -> AsyncIterator[Event]:
        """``resume``, as an async iterator of typed events (see :meth:`run_streamed`)."""
        plan = _plan_resume(target, thread_id=thread_id, checkpointer=checkpointer, store=store,
                            model=model, recursion_limit=recursion_limit,
                            configurable=configurable,
                            context=context,
                            max_model_calls=max_model_calls, max_tokens=max_tokens)
        async with _aopened(plan) as graph:
            command = plan.command(await asettled(plan.pattern, graph, plan.config), decision)
            async for event in _astream_events(plan.pattern, graph, command, plan.config,
                                               plan.thread_id, model):
                yield event

