"""One SDK run set up: the pattern's driver, session, budget guard and ``RunConfig``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from agents import RunConfig

from agentpatterns.adapters.openai_agents.drivers import DRIVERS, NETWORK_KINDS
from agentpatterns.adapters.openai_agents.durable import durable_spec
from agentpatterns.adapters.openai_agents.guard import RunGuard, make_budget, tool_only
from agentpatterns.adapters.openai_agents.nested import journaled
from agentpatterns.adapters.openai_agents.replay import Journal
from agentpatterns.adapters.openai_agents.run import Run, RunLog
from agentpatterns.adapters.openai_agents.session import CheckpointSession, facts_filter
from agentpatterns.errors import InputError, UnsupportedError
from agentpatterns.graphs.handoffs import as_pattern
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.run.session import SQLiteSession

DEFAULT_MAX_TURNS = 10


def _session_of(session: Any, thread_id: str | None, checkpointer: Any, store: Any,
                kind: str) -> tuple[Any, str, Any, str | None]:
    """(SDK session or None, thread id, store spec, user id)."""
    user_id = None
    if session is not None and thread_id is not None:
        raise InputError("pass either session= or thread_id=, not both")
    if isinstance(session, SQLiteSession):
        user_id = session.user_id
        sdk_session: Any = CheckpointSession(session.thread_id, checkpointer or session.url)
        return sdk_session, session.thread_id, store or session.url, user_id
    if session is not None:
        if not hasattr(session, "get_items") or not hasattr(session, "add_items"):
            raise InputError(f"session={session!r} is neither an agentpatterns SQLiteSession "
                             "nor an OpenAI Agents SDK Session")
        sid = getattr(session, "session_id", None) or uuid.uuid4().hex
        return session, str(sid), store, user_id
    if store is None and isinstance(checkpointer, str):
        store = checkpointer
    if thread_id is not None and kind in NETWORK_KINDS:
        # a thread is a conversation on both runtimes: the SDK run reads and extends it
        return CheckpointSession(thread_id, checkpointer), thread_id, store, user_id
    return None, thread_id or uuid.uuid4().hex, store, user_id


def _guarded(pattern: Pattern, thread_id: str, max_model_calls: Any, max_tokens: Any,
             log: RunLog, *, durable: bool = False) -> tuple[RunGuard, RunConfig]:
    """The run's guard (budget, retry, fallback) and the ``RunConfig`` that goes with it.

    A cut-off run can be continued when it is crash-durable (``durable``: ``resume_sdk``
    replays its journal) or when it is a handoff network without nested patterns (its
    ``RunState`` is saved)."""
    fallback = pattern.options.get("fallback") if pattern.kind in NETWORK_KINDS else None
    guard = RunGuard(events=log.events, fallback=fallback,
                     no_fallback=tool_only(pattern.options, fallback),
                     budget=make_budget(max_model_calls, max_tokens, thread_id,
                                        resumable=durable or (
                                            pattern.kind in NETWORK_KINDS
                                            and nested_part(pattern) is None)))
    # an unknown tool or handoff name is answered with LangGraph's corrective message (the
    # guard raises on the second one, or routes to the fallback on the first)
    config = RunConfig(tracing_disabled=True, workflow_name=f"agentpatterns:{pattern.name}",
                       tool_not_found_behavior="return_error_to_model",
                       tool_error_formatter=guard.format_error)
    return guard, config


def nested_part(pattern: Pattern) -> Pattern | None:
    """The first pattern nested in ``pattern`` (as a participant or as a tool), if any."""
    tools: list[Any] = [getattr(t, "agent", None) for a in pattern.all_agents() for t in a.tools]
    return next(iter(pattern.patterns), None) or next(
        (t for t in tools if isinstance(t, Pattern)), None)


def refuse_nested(pattern: Pattern) -> None:
    """A composition is no single SDK agent network: refuse, naming the nested part.

    Raises:
        UnsupportedError: ``pattern`` nests a pattern (as a participant or as a tool).
    """
    nested = nested_part(pattern)
    if nested is None:
        return
    raise UnsupportedError(
        f"pattern {pattern.name!r} nests pattern {nested.name!r} ({nested.kind}), which is "
        "no SDK agent: a composition is not one agents.Agent network; run it with "
        "run_sdk(pattern, ...) (the nested pattern runs as part of the same run), or convert "
        "the nested patterns' agents one by one with to_sdk_agents(...)")


def run_state(context: Any, request: str) -> dict[str, Any]:
    """The run state one-argument instruction functions get on the SDK runtime: the
    request as ``input``, and the keys of a mapping ``context=``."""
    return {**(context if isinstance(context, Mapping) else {}), "input": request}


def _prepare(target: Pattern | Agent, *, model: Any, thread_id: str | None, session: Any,
             checkpointer: Any, store: Any, max_turns: int, context: Any,
             configurable: Mapping[str, Any] | None, request: str,
             max_model_calls: int | None = None, max_tokens: int | None = None,
             hooks: Any = None) -> Run:
    pattern = as_pattern(target)
    if pattern.kind not in DRIVERS:
        raise UnsupportedError(f"pattern kind {pattern.kind!r} has no OpenAI Agents SDK driver")
    sdk_session, thread, store, user_id = _session_of(session, thread_id, checkpointer, store,
                                                      pattern.kind)
    user_id = user_id or (configurable or {}).get("user_id")
    log = RunLog()
    durable = durable_spec(checkpointer, store)
    guard, config = _guarded(pattern, thread, max_model_calls, max_tokens, log,
                             durable=durable is not None)
    if guard.budget is not None:
        guard.budget.start({})  # a new run: nothing spent yet
    if journaled(pattern):  # resumed by a replay (see replay.py)
        guard.journal = Journal()
    if pattern.kind == "memory" and user_id:
        config.call_model_input_filter = facts_filter(store, str(user_id), request)
    return Run(pattern=pattern, request=request, thread_id=thread, run_model=model,
               max_turns=max_turns, context=context, state=run_state(context, request),
               log=log, session=sdk_session, store=store, user_id=user_id, config=config,
               guard=guard, hooks=hooks, durable=durable)
