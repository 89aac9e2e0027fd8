"""The drivers of an agent turn: blocking (``graph.invoke``) and ``async`` (``ainvoke``).

A turn (:func:`agentpatterns.nodes.runtime.agent_turn`) yields requests; a driver executes
them - model calls (with the run's budget checked before each one, and a raising model
reported back to the turn as a :class:`~agentpatterns.nodes.protocol.ModelFailure`), tool
calls, agents used as tools, guardrails, progress events - and sends the results back.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Generator
from contextlib import nullcontext
from functools import partial
from typing import Any, cast

from langgraph.errors import GraphBubbleUp

from agentpatterns._sync import block_on
from agentpatterns.errors import AgentPatternsError, BudgetExceeded, StorageError, ThreadBusyError
from agentpatterns.nodes._tap import tapped
from agentpatterns.nodes.approvals import Approval, ApprovalCheck, ask, needs_approval
from agentpatterns.nodes.budget import Budget
from agentpatterns.nodes.compat import fill_usage
from agentpatterns.nodes.context import ToolContext, current_context
from agentpatterns.nodes.guardrails import check_result
from agentpatterns.nodes.hooks import Hook
from agentpatterns.nodes.journal import TurnJournal, early_record, idempotency_key, nested_run
from agentpatterns.nodes.models import resolve_model
from agentpatterns.nodes.protocol import (
    Emit,
    GuardrailRun,
    ModelCall,
    ModelFailure,
    Notify,
    Request,
    SubFailure,
    ToolRun,
    TurnResult,
)
from agentpatterns.nodes.runtime import AGENT_KEY, sub_turn
from agentpatterns.nodes.tool_use import UserCall
from agentpatterns.nodes.tools import FunctionTool, failure_message, tool_output_text
from agentpatterns.redaction import remember_secrets

__all__ = ["adrive", "drive"]


_BOUND: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _bound(model: Any, request: ModelCall) -> Any:
    """The chat model with the call's tools, ``tool_choice``, response format and the
    agent's other model settings bound (cached: binding is not free)."""
    tools, response_format, settings = request.tools, request.response_format, request.settings
    choice = request.tool_choice if tools else None
    if not tools and response_format is None and settings is None:
        return model
    key = (id(model), tuple(t["function"]["name"] for t in tools), id(response_format),
           settings.cache_key() if settings is not None else "", choice)
    hit = _BOUND.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    runnable = (model.bind_tools(list(tools), **({"tool_choice": choice} if choice else {}))
                if tools else model)
    extra = settings.call_kwargs() if settings is not None else {}
    if response_format is not None:
        extra["response_format"] = response_format
    if extra:
        runnable = runnable.bind(**extra)
    if len(_BOUND) > 512:
        _BOUND.clear()
    _BOUND[key] = (model, runnable)
    return runnable


def _tool_context(request: ToolRun) -> ToolContext[Any]:
    """The ``ToolContext`` of the call in ``request``."""
    return ToolContext(context=current_context(), tool_name=request.tool.name,
                       tool_call_id=request.call_id, tool_arguments=request.raw,
                       agent=request.agent, idempotency_key=idempotency_key())


#: errors of a nested agent's run that stop the whole run, whatever its tool's
#: failure_error_function (an interrupt, a budget stop, storage trouble)
_STOPS = (GraphBubbleUp, BudgetExceeded, StorageError, ThreadBusyError)


class _Hooks:
    """The hooks a driver holds back: ``before`` hooks wait for the effect they report and
    are dropped when the journal answers it; the others fire when the last effect was live.
    Shared by a turn and the turns of its agents used as tools."""

    def __init__(self) -> None:
        self.pending: list[Hook] = []
        self.live = True

    def take(self) -> list[Hook]:
        pending, self.pending = self.pending, []
        return pending


def _fire(hook: Hook) -> None:
    try:
        for value in hook.invocations():
            if inspect.isawaitable(value):
                block_on(_await(value))
    except Exception as exc:
        error = hook.failed(exc)
        if error is exc:
            raise
        raise error from exc


async def _afire(hook: Hook) -> None:
    try:
        for value in hook.invocations():
            if inspect.isawaitable(value):
                await value
    except Exception as exc:
        error = hook.failed(exc)
        if error is exc:
            raise
        raise error from exc


def drive(turn: Generator[Request, Any, TurnResult], run_model: Any = None, *,
          emit: Emit | None = None, budget: Budget | None = None,
          journal: TurnJournal | None = None, hooks: _Hooks | None = None) -> TurnResult:
    """Execute a turn with blocking calls (``graph.invoke``).

    Args:
        turn: The turn (``agent_turn(...)``).
        run_model: The run's ``model=`` override.
        emit: Receives the turn's progress events (agent started, tool called/result).
        budget: Checked before, and charged after, every model call.
        journal: Records every completed model call, tool call and guardrail before the
            turn goes on, and answers them from the record when the task runs again.
        hooks: (internal) the hook state a sub-turn shares with its caller.
    """
    value: Any = None
    held = hooks or _Hooks()
    while True:
        try:
            request = turn.send(value)
        except StopIteration as stop:
            for hook in held.take():  # a start hook no effect followed (none in practice)
                _fire(hook)
            return cast(TurnResult, stop.value)
        if isinstance(request, ModelCall):
            if budget is not None:  # a replayed call counts as made: it was, and was paid for
                budget.before_call(request.agent.name)
            value = _step(journal, "model", request.agent.name,
                          partial(_call_model, request, run_model, budget), held)
            if budget is not None and not isinstance(value, ModelFailure):
                budget.charge(getattr(value, "usage_metadata", None))
        elif isinstance(request, ToolRun):
            value = _step(journal, "tool", request.tool.name,
                          partial(_run_tool, request, journal), held)
        elif isinstance(request, ApprovalCheck):
            value = _call(journal, "approval", request.call.tool.name,
                          partial(_run_call, needs_approval, (request,), bool))
        elif isinstance(request, Approval):
            value = ask(request)
        elif isinstance(request, GuardrailRun):
            value = _step(journal, "guardrail", request.guardrail.get_name(),
                          partial(_run_guardrail, request), held)
        elif isinstance(request, Notify):
            value = None
            if emit is not None:
                emit(request.event)
        elif isinstance(request, UserCall):  # is_enabled, on_handoff, tool_use_behavior, ...
            value = _call(journal, "call", f"{request.what}:{request.name}",
                          partial(_run_call, request.fn, request.args))
        elif isinstance(request, Hook):
            value = None
            if request.before:
                held.pending.append(request)
            elif held.live:
                _fire(request)
        else:
            try:
                value = drive(sub_turn(request), run_model, emit=emit, budget=budget,
                              journal=journal, hooks=held)
            except _STOPS:
                raise
            except Exception as exc:  # the calling turn applies failure_error_function
                value = SubFailure(exc)


def _step(journal: TurnJournal | None, kind: str, name: str, run: Callable[[], Any],
          held: _Hooks) -> Any:
    if held.pending:  # hooks reporting this effect: called when (and only if) it runs
        pending, effect = held.take(), run

        def run() -> Any:
            for hook in pending:
                _fire(hook)
            return effect()

    if journal is None:
        return run()
    replayed = journal.replayed
    value = journal.step(kind, name, run)
    held.live = journal.replayed == replayed  # a replayed effect's hooks ran when it did
    return value


def _call_model(request: ModelCall, run_model: Any, budget: Budget | None) -> Any:
    model = resolve_model(run_model, request.agent.model)
    try:
        with _tap(model, request, budget):
            reply = _bound(model, request).invoke(
                request.messages, config=_call_config(request))
    except (AgentPatternsError, GraphBubbleUp):
        raise
    except Exception as exc:  # the turn retries once, then falls back or fails
        remember_secrets(model)  # a key given in code, echoed by the server, is redacted too
        return ModelFailure(exc)
    if _estimates(model, budget):  # a server that reported no usage: estimated
        fill_usage(reply, request.messages)
    return reply


def _tap(model: Any, request: ModelCall, budget: Budget | None) -> Any:
    # a run keeping an effect log: the reply is written ahead from the model's on_llm_end
    early = early_record()
    if early is None:
        return nullcontext()
    return tapped(early, request.messages if _estimates(model, budget) else None)


def _estimates(model: Any, budget: Budget | None) -> bool:
    # an OpenAI-protocol server's stream may carry no usage; any model's missing usage is
    # estimated when a token budget depends on it (other models' own accounting is kept)
    return type(model).__name__ == "ChatOpenAI" or (
        budget is not None and budget.max_tokens is not None)


def _key(journal: TurnJournal | None) -> Any:
    return journal.key if journal is not None else None


def _run_tool(request: ToolRun, journal: TurnJournal | None = None) -> Any:
    # a function tool's journaled result is the text the model gets, so a replay gives the
    # turn exactly that; a pattern used as a tool runs a graph of its own (journaled whole)
    function = isinstance(request.tool, FunctionTool)
    ctx = _tool_context(request)
    try:
        with nullcontext() if function else nested_run(_key(journal)):
            value = request.tool.invoke(ctx, request.args, request.raw)
            if inspect.isawaitable(value):
                value = block_on(_await(value))
    except (AgentPatternsError, GraphBubbleUp):  # a budget stop, an interrupt: the run's
        raise
    except Exception as exc:  # reported to the model, as the SDK (failure_error_function)
        message = failure_message(request.tool, ctx, exc)
        return tool_output_text(block_on(_await(message)) if inspect.isawaitable(message)
                                else message)
    return tool_output_text(value) if function else value


def _call(journal: TurnJournal | None, kind: str, name: str, run: Callable[[], Any]) -> Any:
    # a user callable (is_enabled, needs_approval, on_handoff, ...): journaled, but no
    # lifecycle hook reports it, so the hooks held for the next model/tool call stay held
    return run() if journal is None else journal.step(kind, name, run)


async def _acall(journal: TurnJournal | None, kind: str, name: str,
                 run: Callable[[], Awaitable[Any]]) -> Any:
    return await run() if journal is None else await journal.astep(kind, name, run)


def _run_call(fn: Callable[..., Any], args: tuple[Any, ...],
              then: Callable[[Any], Any] | None = None) -> Any:
    """A user's callable (sync or async), its result through ``then``."""
    value = fn(*args)
    if inspect.isawaitable(value):
        value = block_on(_await(value))
    return value if then is None else then(value)


async def _arun_call(fn: Callable[..., Any], args: tuple[Any, ...],
                     then: Callable[[Any], Any] | None = None) -> Any:
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value if then is None else then(value)


def _run_guardrail(request: GuardrailRun) -> Any:
    value = request.guardrail(request.context, request.agent, request.value)
    if inspect.isawaitable(value):
        value = block_on(_await(value))
    return check_result(value, request.guardrail, request.agent.name)


async def adrive(turn: Generator[Request, Any, TurnResult], run_model: Any = None, *,
                 emit: Emit | None = None, budget: Budget | None = None,
                 journal: TurnJournal | None = None, hooks: _Hooks | None = None) -> TurnResult:
    """Execute a turn with awaited calls (``graph.ainvoke``); arguments as for :func:`drive`."""
    value: Any = None
    held = hooks or _Hooks()
    while True:
        try:
            request = turn.send(value)
        except StopIteration as stop:
            for hook in held.take():
                await _afire(hook)
            return cast(TurnResult, stop.value)
        if isinstance(request, ModelCall):
            if budget is not None:
                budget.before_call(request.agent.name)
            value = await _astep(journal, "model", request.agent.name,
                                 partial(_acall_model, request, run_model, budget), held)
            if budget is not None and not isinstance(value, ModelFailure):
                budget.charge(getattr(value, "usage_metadata", None))
        elif isinstance(request, ToolRun):
            value = await _astep(journal, "tool", request.tool.name,
                                 partial(_arun_tool, request, journal), held)
        elif isinstance(request, ApprovalCheck):
            value = await _acall(journal, "approval", request.call.tool.name,
                                 partial(_arun_call, needs_approval, (request,), bool))
        elif isinstance(request, Approval):
            value = ask(request)
        elif isinstance(request, GuardrailRun):
            value = await _astep(journal, "guardrail", request.guardrail.get_name(),
                                 partial(_arun_guardrail, request), held)
        elif isinstance(request, Notify):
            value = None
            if emit is not None:
                emit(request.event)
        elif isinstance(request, UserCall):
            value = await _acall(journal, "call", f"{request.what}:{request.name}",
                                 partial(_arun_call, request.fn, request.args))
        elif isinstance(request, Hook):
            value = None
            if request.before:
                held.pending.append(request)
            elif held.live:
                await _afire(request)
        else:
            try:
                value = await adrive(sub_turn(request), run_model, emit=emit, budget=budget,
                                     journal=journal, hooks=held)
            except _STOPS:
                raise
            except Exception as exc:
                value = SubFailure(exc)


async def _astep(journal: TurnJournal | None, kind: str, name: str,
                 run: Callable[[], Awaitable[Any]], held: _Hooks) -> Any:
    if held.pending:
        pending, effect = held.take(), run

        async def run() -> Any:
            for hook in pending:
                await _afire(hook)
            return await effect()

    if journal is None:
        return await run()
    replayed = journal.replayed
    value = await journal.astep(kind, name, run)
    held.live = journal.replayed == replayed
    return value


async def _acall_model(request: ModelCall, run_model: Any, budget: Budget | None) -> Any:
    model = resolve_model(run_model, request.agent.model)
    try:
        with _tap(model, request, budget):
            reply = await _bound(model, request).ainvoke(
                request.messages, config=_call_config(request))
    except (AgentPatternsError, GraphBubbleUp):
        raise
    except Exception as exc:
        remember_secrets(model)
        return ModelFailure(exc)
    if _estimates(model, budget):
        fill_usage(reply, request.messages)
    return reply


async def _arun_tool(request: ToolRun, journal: TurnJournal | None = None) -> Any:
    function = isinstance(request.tool, FunctionTool)
    ctx = _tool_context(request)
    try:
        with nullcontext() if function else nested_run(_key(journal)):
            value = request.tool.invoke(ctx, request.args, request.raw)
            if inspect.isawaitable(value):
                value = await value
    except (AgentPatternsError, GraphBubbleUp):
        raise
    except Exception as exc:
        message = failure_message(request.tool, ctx, exc)
        return tool_output_text(await message if inspect.isawaitable(message) else message)
    return tool_output_text(value) if function else value


async def _arun_guardrail(request: GuardrailRun) -> Any:
    value = request.guardrail(request.context, request.agent, request.value)
    if inspect.isawaitable(value):
        value = await value
    return check_result(value, request.guardrail, request.agent.name)


def _call_config(request: ModelCall) -> dict[str, Any]:
    # the agent's name rides along in the run metadata: streamed tokens are attributed by it
    return {"metadata": {AGENT_KEY: request.agent.name}}


async def _await(value: Any) -> Any:
    return await value

