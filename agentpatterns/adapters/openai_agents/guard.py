"""How an SDK run copes with a misbehaving model, as a LangGraph turn does (``nodes/runtime``).

Every agent of an ``run_sdk`` run gets its model wrapped in a :class:`GuardedModel` (one
per agent and run) that shares the run's :class:`RunGuard`:

* **budget** - ``max_model_calls`` / ``max_tokens`` are checked before every model call (the
  same :class:`~agentpatterns.nodes.budget.Budget` as on LangGraph: reserved before the
  call, tokens charged after it); going over raises :class:`BudgetStop` inside the SDK run;
* **a failing model call** is retried once (``model_error_retry``); a second failure
  (``model_error``) goes to the pattern's fallback agent, else raises ``ModelCallError``;
* **a tool or handoff name that does not exist**: with a fallback the run is stopped at
  once and the conversation goes to the fallback agent (``fallback``); without one the SDK
  returns a corrective tool output worded as on LangGraph (``RunConfig(
  tool_not_found_behavior="return_error_to_model", tool_error_formatter=...)``) and the
  model tries again (``unknown_retry``); a second unknown name raises our
  ``ModelBehaviorError`` naming the agent and what it asked for.

The SDK has no hook to hand a running conversation to another agent, so a fallback stops
the SDK run with :class:`Reroute` (an ``AgentsException``: the SDK attaches the run's items,
``run_data``) and the driver continues with the fallback agent on the conversation so far.
Strikes count per agent over one ``run_sdk`` call (LangGraph counts them per turn).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.exceptions import AgentsException
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.tool import FunctionTool as SDKFunctionTool
from openai.types.responses import ResponseFunctionToolCall

from agentpatterns.adapters.openai_agents.replay import (
    Journal,
    dump_response,
    load_response,
    replay_key,
)
from agentpatterns.adapters.openai_agents.tools import ORIGINAL
from agentpatterns.errors import (
    AgentPatternsError,
    BudgetExceeded,
    ModelBehaviorError,
    ModelCallError,
)
from agentpatterns.nodes.budget import Budget, has_limits
from agentpatterns.nodes.compat import estimate_tokens, is_transient
from agentpatterns.nodes.runtime import model_error_message
from agentpatterns.nodes.tools import ToolArgumentsError, read_arguments
from agentpatterns.redaction import redact, redacted_error, remember_secrets

__all__ = ["BudgetStop", "DoorModel", "EnterPattern", "GuardedModel", "Reroute", "RunGuard",
           "SDKBudget", "checked_tool", "make_budget"]


class Reroute(AgentsException):
    """Stops an SDK run so that the driver hands its conversation to the fallback agent.

    Attributes:
        agent: The agent whose turn failed.
        reason: ``"unknown_name"`` or ``"model_error"`` (as in LangGraph's ``fallback`` event).
        asked_for: The name the model asked for (``None`` for a failing model call).
        to: The fallback agent.
        items: Input items to add after the run's items: the failed reply and an output
            for each of its calls, so the next model sees a well-formed conversation.
    """

    def __init__(self, agent: str, reason: str, asked_for: str | None, to: str,
                 items: Sequence[Any] = ()) -> None:
        super().__init__(f"agent {agent!r}: {reason}; handing to {to}")
        self.agent, self.reason, self.asked_for, self.to = agent, reason, asked_for, to
        self.items = list(items)


class EnterPattern(AgentsException):
    """Stops an SDK run that handed off to a nested pattern, so that the driver runs it.

    A handoff to a pattern goes to a stand-in SDK agent named after it (the handoff tool is
    the one LangGraph offers); its "model" raises this at once, the SDK attaches the run's
    items (``run_data``) and the network driver runs the pattern on the conversation so far.

    Attributes:
        pattern: The nested pattern's name.
    """

    def __init__(self, pattern: str) -> None:
        super().__init__(f"handing the conversation to nested pattern {pattern!r}")
        self.pattern = pattern


class DoorModel(Model):
    """The "model" of a nested pattern's stand-in agent: it stops the SDK run at once, so
    that the driver runs the pattern (:class:`EnterPattern`); never a model call."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        raise EnterPattern(self.pattern)

    async def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise EnterPattern(self.pattern)
        yield  # pragma: no cover - an async generator that never yields


class BudgetStop(AgentsException):
    """Carries our ``BudgetExceeded`` (or another error of ours raised inside a tool, which
    the SDK would wrap) out of an SDK run (the SDK attaches ``run_data``)."""

    def __init__(self, error: AgentPatternsError) -> None:
        super().__init__(str(error))
        self.error = error


class SDKBudget(Budget):
    """The LangGraph ``Budget``, its message naming the SDK runtime's resume.

    Attributes:
        resumable: The pattern's SDK driver can continue a cut-off run (handoff networks).
    """

    resumable: bool = False

    def _error(self, budget: str, limit: int, used: int, agent: str,
               what: str) -> BudgetExceeded:
        thread = self.thread_id or "<thread>"
        how = (f"the run is saved at its last completed step - resume it with a larger "
               f"budget: resume_sdk(..., thread_id={thread!r}, {budget}=N)" if self.resumable
               else "this pattern's SDK driver keeps its loop in Python, not in an SDK "
               "RunState, so the run cannot be continued - run it again with a larger budget "
               "(or on LangGraph, where Runner.resume continues it)")
        return BudgetExceeded(f"budget reached: {what}; {how}", budget=budget, limit=limit,
                              used=used, agent=agent, thread_id=self.thread_id)


def make_budget(max_model_calls: Any, max_tokens: Any, thread_id: str, *,
                resumable: bool) -> SDKBudget | None:
    """The run's budget (``None`` without limits), validated as ``Runner.run`` does.

    Raises:
        InputError: A limit that is not a whole number >= 1.
    """
    if not has_limits(max_model_calls, max_tokens):
        return None
    budget = SDKBudget(max_model_calls=max_model_calls, max_tokens=max_tokens,
                       thread_id=thread_id)
    budget.resumable = resumable
    return budget


def _calls(output: Sequence[Any]) -> list[ResponseFunctionToolCall]:
    return [item for item in output if isinstance(item, ResponseFunctionToolCall)]


@dataclass
class RunGuard:
    """What every ``GuardedModel`` of one run shares (see the module docstring).

    Attributes:
        events: The run log's event list (incidents are appended in order).
        budget: The run's budget, or ``None``.
        fallback: The pattern's fallback agent, or ``None``.
        no_fallback: Agents the fallback does not cover (itself, agents used only as tools).
        count: ``count(agent, response)`` records a model call the SDK will not see end
            (its reply stops the run); the run log's ``count``.
        refused: Ids of tool calls answered with a correction (the run log's).
    """

    events: list[dict[str, Any]]
    budget: Budget | None = None
    fallback: str | None = None
    no_fallback: frozenset[str] = frozenset()
    count: Callable[[str, Any], None] | None = None
    strikes: dict[tuple[str, str], int] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)
    #: ids of tool calls answered with a correction (not run: not in ``tool_calls``)
    refused: set[str] = field(default_factory=set)
    #: a composition's journal: completed model calls are recorded, and answered from it
    #: when the run is replayed (see :mod:`~agentpatterns.adapters.openai_agents.replay`)
    journal: Journal | None = None

    def wrap(self, agent: str, model: Model) -> Model:
        """``model`` guarded for ``agent``."""
        return GuardedModel(model, agent, self)

    def fallback_for(self, agent: str) -> str | None:
        """The agent that takes over when ``agent`` fails, if any."""
        if self.fallback is None or agent == self.fallback or agent in self.no_fallback:
            return None
        return self.fallback

    def format_error(self, args: Any) -> str | None:
        """``RunConfig.tool_error_formatter``: LangGraph's wording for an unknown name."""
        if getattr(args, "kind", "") != "tool_not_found":
            return None
        return self.corrections.pop(str(args.call_id), None)

    def before_call(self, agent: str) -> None:
        """Reserve a model call in the budget, or stop the run."""
        if self.budget is None:
            return
        try:
            self.budget.before_call(agent)
        except BudgetExceeded as exc:
            raise BudgetStop(exc) from None

    def charge(self, total_tokens: Any) -> None:
        """Add a finished call's tokens to the budget."""
        if self.budget is not None:
            self.budget.charge({"total_tokens": int(total_tokens or 0)})

    def failed(self, agent: str, exc: Exception, *, retry: bool) -> None:
        """Record a failed model call; raise unless it is retried (a deterministic refusal,
        e.g. HTTP 400, is never retried)."""
        transient = is_transient(exc)
        retry = retry and transient
        error = redact(f"{type(exc).__name__}: {exc}")
        self.events.append({"type": "model_error_retry" if retry else "model_error",
                            "agent": agent, "error": error})
        if retry:
            return
        to = self.fallback_for(agent)
        if to is not None:
            self.events.append({"type": "fallback", "agent": agent, "reason": "model_error",
                                "asked_for": None, "to": to})
            raise Reroute(agent, "model_error", None, to) from exc
        raise ModelCallError(model_error_message(agent, error, transient)
                             ) from redacted_error(exc)

    def bad_arguments(self, agent: str, tool: str, detail: str,
                      items: Sequence[Any] | None = None) -> str:
        """Malformed arguments from ``agent`` for tool or handoff ``tool``: the corrective
        tool output the first time (``arguments_retry``), then the fallback agent
        (:class:`Reroute`), else our ``ModelBehaviorError`` - as on LangGraph.

        ``items`` (a handoff: its call cannot return a tool output) is the failed reply with
        an output per call; the first time the same agent is asked again on them (a
        :class:`Reroute` to itself).
        """
        key = (agent, "arguments")
        self.strikes[key] = self.strikes.get(key, 0) + 1
        first = self.strikes[key] == 1
        self.events.append({"type": "arguments_retry" if first else "arguments",
                            "agent": agent, "asked_for": tool, "detail": detail})
        if first:
            if items is not None:
                raise Reroute(agent, "arguments", tool, agent, items)
            return f"Error: {detail}. Call it again with valid arguments."
        to = self.fallback_for(agent)
        if to is not None:
            self.events.append({"type": "fallback", "agent": agent, "reason": "arguments",
                                "asked_for": tool, "to": to})
            raise Reroute(agent, "arguments", tool, to, items or ())
        raise BudgetStop(ModelBehaviorError(
            f"agent {agent!r}: {detail}, again after a corrective message; fix its "
            "instructions or add a fallback agent"))

    def check_handoff_arguments(self, agent: str, response: Any,
                                handoffs: Sequence[Any]) -> None:
        """Malformed arguments in a handoff call of ``response``: the SDK would take the
        handoff (or raise its own error), so the reply is answered here, as on LangGraph
        (see :meth:`bad_arguments`)."""
        names = {h.tool_name for h in handoffs}
        calls = _calls(response.output)
        for call in calls:
            if call.name not in names:
                continue
            try:
                read_arguments(call.name, call.arguments)
            except ToolArgumentsError as exc:
                bad, detail = call, str(exc)
                break
        else:
            return
        if self.count is not None:  # the call was made; the SDK will not count it
            self.count(agent, response)
        items: list[Any] = [item.model_dump(exclude_none=True) for item in response.output]
        items += [{"type": "function_call_output", "call_id": c.call_id,
                   "output": (f"Error: {detail}. Call it again with a JSON object."
                              if c is bad else "Not run: the reply is asked for again.")}
                  for c in calls]
        self.bad_arguments(agent, bad.name, detail, items)

    def check_names(self, agent: str, response: Any, tools: Sequence[Any],
                    handoffs: Sequence[Any]) -> None:
        """Act on calls of names the agent was not offered (see the module docstring)."""
        output = response.output
        calls = _calls(output)
        if not calls:
            return
        table = [getattr(t, "name", "") for t in tools] + [h.tool_name for h in handoffs]
        unknown = [c for c in calls if c.name not in table]
        if not unknown:
            return
        to = self.fallback_for(agent)
        if to is not None:
            if self.count is not None:  # the call was made; the SDK will not count it
                self.count(agent, response)
            name = unknown[0].name
            self.events.append({"type": "fallback", "agent": agent, "reason": "unknown_name",
                                "asked_for": name, "to": to})
            items: list[Any] = [item.model_dump(exclude_none=True) for item in output]
            items += [{"type": "function_call_output", "call_id": c.call_id,
                       "output": (f"There is no {c.name!r}; handing to {to}."
                                  if c in unknown else f"Ignored: handing to {to}.")}
                      for c in calls]
            raise Reroute(agent, "unknown_name", name, to, items)
        available = ", ".join(table) or "none"
        for call in unknown:
            key = (agent, "unknown")
            self.strikes[key] = self.strikes.get(key, 0) + 1
            detail = f"there is no tool or handoff named {call.name!r} (available: {available})"
            first = self.strikes[key] == 1
            self.events.append({"type": "unknown_retry" if first else "unknown",
                                "agent": agent, "asked_for": call.name, "detail": detail})
            if not first:
                if self.count is not None:
                    self.count(agent, response)
                raise ModelBehaviorError(f"agent {agent!r}: {detail}, again after a corrective "
                                         "message; fix its instructions or add a fallback agent")
            self.corrections[call.call_id] = (
                f"Error: there is no tool or handoff named {call.name!r}. "
                f"Available: {available}.")


#: stream events that carry no output yet: a failure after them can still be retried
_PREAMBLE = frozenset({"response.created", "response.in_progress"})


def _retryable(exc: BaseException) -> bool:
    # our own errors (a script that ran out, a budget) and the SDK's are not model failures
    return isinstance(exc, Exception) and not isinstance(
        exc, AgentPatternsError | AgentsException | asyncio.CancelledError)


class GuardedModel(Model):
    """An SDK ``Model`` with the run's budget, retry and name checks around it.

    Args:
        inner: The model that answers.
        agent: The agent it answers for.
        guard: The run's shared :class:`RunGuard`.
    """

    def __init__(self, inner: Model, agent: str, guard: RunGuard) -> None:
        self.inner, self.agent, self.guard = inner, agent, guard

    def __repr__(self) -> str:
        return f"GuardedModel({self.inner!r}, agent={self.agent!r})"

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any,
                           tools: Any, output_schema: Any, handoffs: Any, tracing: Any,
                           **kwargs: Any) -> ModelResponse:
        """The inner model's response, after the budget check, retried once on failure."""
        journal = self.guard.journal
        key = replay_key(self.agent, system_instructions, input) if journal else ""
        for attempt in (1, 2):
            self.guard.before_call(self.agent)
            recorded = journal.replayed(key) if journal is not None else None
            if recorded is not None:  # a replay: the call the first run completed
                response = load_response(recorded)
                self.guard.charge(response.usage.total_tokens)
                self.guard.check_names(self.agent, response, tools, handoffs)
                self.guard.check_handoff_arguments(self.agent, response, handoffs)
                return response
            if journal is not None:
                journal.check()
            try:
                response = await self.inner.get_response(
                    system_instructions, input, model_settings, tools, output_schema,
                    handoffs, tracing, **kwargs)
            except Exception as exc:
                if not _retryable(exc):
                    raise
                self._remember_secrets()
                self.guard.failed(self.agent, exc, retry=attempt == 1)
                continue
            if not response.usage.total_tokens and self._estimates():
                self._estimate(response, system_instructions, input)
            if journal is not None:
                journal.remember(key, dump_response(response))
            self.guard.charge(response.usage.total_tokens)
            self.guard.check_names(self.agent, response, tools, handoffs)
            self.guard.check_handoff_arguments(self.agent, response, handoffs)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def stream_response(self, system_instructions: Any, input: Any, model_settings: Any,
                              tools: Any, output_schema: Any, handoffs: Any, tracing: Any,
                              **kwargs: Any) -> AsyncIterator[Any]:
        """The inner model's stream; a call that fails before its first event is retried."""
        for attempt in (1, 2):
            self.guard.before_call(self.agent)
            if self.guard.journal is not None:
                self.guard.journal.check()
            started = False
            final: Any = None
            try:
                async for event in self.inner.stream_response(
                        system_instructions, input, model_settings, tools, output_schema,
                        handoffs, tracing, **kwargs):
                    kind = getattr(event, "type", "")
                    started = started or kind not in _PREAMBLE
                    if kind == "response.completed":
                        final = getattr(event, "response", None)
                        if final is not None and self._estimates() and not getattr(
                                final.usage, "total_tokens", 0):
                            self._estimate(final, system_instructions, input)
                    yield event
            except Exception as exc:
                if not _retryable(exc):
                    raise
                self._remember_secrets()
                # what was streamed cannot be taken back: only a silent failure is retried
                self.guard.failed(self.agent, exc, retry=attempt == 1 and not started)
                continue
            if final is not None:
                if self.guard.journal is not None:
                    self.guard.journal.remember(
                        replay_key(self.agent, system_instructions, input),
                        dump_response(_Response(final)))
                usage = getattr(final, "usage", None)
                self.guard.charge(getattr(usage, "total_tokens", 0))
                self.guard.check_names(self.agent, _Response(final), tools, handoffs)
                self.guard.check_handoff_arguments(self.agent, _Response(final), handoffs)
            return


    def _remember_secrets(self) -> None:
        """After a failed call: the credentials the model was given in code (an
        ``AsyncOpenAI(api_key=...)`` client, a LangChain model's ``SecretStr``) are redacted
        from then on, so a server echoing the key puts it in no error, event or output
        (:func:`agentpatterns.redaction.remember_secrets`, as the LangGraph drivers do)."""
        remember_secrets(self.inner)
        wrapped = getattr(self.inner, "model", None)  # a LangChainModel's chat model
        if wrapped is not None and not isinstance(wrapped, str):
            remember_secrets(wrapped)

    def _estimates(self) -> bool:
        """Whether missing usage is estimated: a server's (an OpenAI model), or any model's
        when a token budget depends on it - as on LangGraph."""
        from agentpatterns.adapters.openai_agents.bridge import LangChainModel

        budget = self.guard.budget
        return not isinstance(self.inner, LangChainModel) or (
            budget is not None and budget.max_tokens is not None)

    def _estimate(self, response: Any, system: Any, input: Any) -> None:
        """Fill in the usage a server did not report (characters/4), and say so."""
        from agents.usage import Usage
        from openai.types.responses import ResponseUsage
        from openai.types.responses.response_usage import (
            InputTokensDetails,
            OutputTokensDetails,
        )

        out = estimate_tokens(json.dumps([_plain_item(i) for i in response.output],
                                         default=str))
        if not response.output:
            return
        sent = estimate_tokens(str(system or "") + json.dumps(input, default=str))
        if isinstance(response, ModelResponse):
            response.usage = Usage(requests=1, input_tokens=sent, output_tokens=out,
                                   total_tokens=sent + out)
        else:
            response.usage = ResponseUsage(
                input_tokens=sent, output_tokens=out, total_tokens=sent + out,
                input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
                output_tokens_details=OutputTokensDetails(reasoning_tokens=0))
        if not any(e["type"] == "usage_estimated" and e["agent"] == self.agent
                   for e in self.guard.events):
            self.guard.events.append({"type": "usage_estimated", "agent": self.agent,
                                      "detail": "the server reported no token usage; "
                                                "estimated as characters/4"})


def _plain_item(item: Any) -> Any:
    return item.model_dump(exclude_none=True) if hasattr(item, "model_dump") else item


class _Response:
    """A streamed ``Response`` read like a ``ModelResponse`` (``output``, ``usage``)."""

    def __init__(self, response: Any) -> None:
        from agents.usage import Usage

        usage = getattr(response, "usage", None)
        self.output = response.output
        self.usage = Usage(requests=1, input_tokens=getattr(usage, "input_tokens", 0) or 0,
                           output_tokens=getattr(usage, "output_tokens", 0) or 0,
                           total_tokens=getattr(usage, "total_tokens", 0) or 0)


def checked_tool(tool: SDKFunctionTool, caller: str, guard: RunGuard | None,
                 parse: Callable[[dict[str, Any]], Any] | None = None) -> SDKFunctionTool:
    """A per-run copy of ``tool`` that reads the model's arguments as LangGraph does before
    the tool runs - every tool an SDK run offers goes through it (function tools, agents as
    tools, a supervisor's ``assign_to_*``, a pattern used as a tool).

    The arguments are read by :func:`~agentpatterns.nodes.tools.read_arguments` (lenient
    JSON) and checked by ``parse`` (e.g. our tool's schema); malformed ones get
    :meth:`RunGuard.bad_arguments` (without a guard: a corrective tool output). The tool
    itself gets them re-encoded as strict JSON, so the SDK's own parsers accept what
    LangChain accepts.
    """
    inner = tool.on_invoke_tool

    async def invoke(ctx: Any, raw: str) -> Any:
        try:
            args = read_arguments(tool.name, raw)
            if parse is not None:
                parse(args)
        except ToolArgumentsError as exc:
            if guard is None:
                return f"Error: {exc}. Call it again with valid arguments."
            guard.refused.add(str(getattr(ctx, "tool_call_id", "")))
            return guard.bad_arguments(caller, tool.name, str(exc))
        return await inner(ctx, json.dumps(args))

    checked = copy.copy(tool)
    object.__setattr__(checked, "on_invoke_tool", invoke)
    # SDK hooks are shown the user's tool, not this per-run copy (adapters/.../hooks.py)
    object.__setattr__(checked, ORIGINAL, getattr(tool, ORIGINAL, tool))
    return checked


def conversation(data: Any, extra: Sequence[Any] = ()) -> list[Any]:
    """The input items of a stopped SDK run (``exc.run_data``), plus ``extra``."""
    start = data.input
    items: list[Any] = ([{"role": "user", "content": start}] if isinstance(start, str)
                        else list(start))
    items += [item.to_input_item() for item in data.new_items]
    return items + list(extra)


def tool_only(options: Mapping[str, Any], fallback: str | None) -> frozenset[str]:
    """Agents the fallback does not cover."""
    names = set(options.get("tool_only") or ())
    return frozenset(names | ({fallback} if fallback else set()))

