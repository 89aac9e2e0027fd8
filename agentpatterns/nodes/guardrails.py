"""Guardrails: checks on an agent's input and final output that can stop a run.

The shapes are the OpenAI Agents SDK's, so guardrail code reads the same on both runtimes:
a guardrail function takes ``(context, agent, value)`` and returns a
``GuardrailFunctionOutput(output_info=..., tripwire_triggered=...)``; it may be ``async``.
``@input_guardrail`` / ``@output_guardrail`` (bare or with ``name=``) make guardrail objects,
and ``Agent(input_guardrails=[...], output_guardrails=[...])`` also accepts plain functions.

When they run (the SDK's rules):

* **input guardrails** check the input an agent *starts* on, before its first model call:
  the user's request for a run's entry agent; the text a pattern hands an agent as a fresh
  input (each step of ``sequential``, reflection drafts and reviews, parallel branches, the
  synthesizer, supervisor workers, dynamic specialists, planner and executor); the task an
  agent used as a tool is given. An agent reached by a **handoff** takes over the conversation
  as it stands and does not re-check it, as in the SDK.
* **output guardrails** check an agent's final output (text, or its ``output_type``
  instance) when its turn ends with an answer - not when it hands off or assigns work.

A tripped wire stops the run: the graph goes to its end with ``stopped = {"reason":
"guardrail", ...}`` in the state, and ``Runner.run`` raises
``InputGuardrailTripwireTriggered`` / ``OutputGuardrailTripwireTriggered`` (as the SDK does).

Example:
    >>> from agentpatterns import Agent, InputGuardrailTripwireTriggered, Runner
    >>> @input_guardrail
    ... def no_homework(context, agent, text):
    ...     return GuardrailFunctionOutput(output_info={"homework": "homework" in text},
    ...                                    tripwire_triggered="homework" in text)
    >>> tutor = Agent(name="Tutor", instructions="Explain things", input_guardrails=[no_homework])
    >>> Runner.run_sync(tutor, "explain tides").path
    ['Tutor']
    >>> try:
    ...     Runner.run_sync(tutor, "do my homework")
    ... except InputGuardrailTripwireTriggered as exc:
    ...     print(exc)
    ...     print(exc.result.values["stopped"]["guardrail"], exc.result.calls)
    input guardrail 'no_homework' of agent 'Tutor' tripped: {'homework': True}
    no_homework {}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

from pydantic import BaseModel

if TYPE_CHECKING:
    from agentpatterns.nodes.agent import Agent

__all__ = [
    "GuardrailContext",
    "GuardrailFunctionOutput",
    "GuardrailResult",
    "InputGuardrail",
    "OutputGuardrail",
    "can_trip",
    "input_guardrail",
    "output_guardrail",
    "to_input_guardrail",
    "to_output_guardrail",
    "tripwire_error",
]

GuardrailKind = Literal["input", "output"]


@dataclass(frozen=True)
class GuardrailFunctionOutput:
    """What a guardrail function returns (the SDK's ``GuardrailFunctionOutput``).

    Attributes:
        output_info: Anything the guardrail wants to report (kept in the run's ``stopped``
            record and on the raised exception when the wire trips).
        tripwire_triggered: True stops the run.
    """

    output_info: Any
    tripwire_triggered: bool


@dataclass(frozen=True, kw_only=True)
class GuardrailContext:
    """The first argument a guardrail function gets.

    Attributes:
        agent: Name of the agent being checked.
        runtime: ``"langgraph"`` or ``"openai-agents"``.
        state: The run's graph state on LangGraph (read only); empty on the SDK.
        context: The SDK run's user context (``RunContextWrapper.context``); ``None`` on
            LangGraph.
    """

    agent: str
    runtime: str = "langgraph"
    state: Mapping[str, Any] = field(default_factory=dict)
    context: Any = None


GuardrailFunction = Callable[[Any, Any, Any], "GuardrailFunctionOutput | Awaitable[Any]"]


@dataclass(frozen=True, kw_only=True)
class _Guardrail:
    guardrail_function: Callable[..., Any]
    name: str | None = None

    def get_name(self) -> str:
        """The guardrail's name: ``name=``, else the function's name."""
        return self.name or str(getattr(self.guardrail_function, "__name__", "guardrail"))

    def __call__(self, context: Any, agent: Any, value: Any) -> Any:
        """Call the guardrail function (the result may be awaitable)."""
        return self.guardrail_function(context, agent, value)


@dataclass(frozen=True, kw_only=True)
class InputGuardrail(_Guardrail):
    """A check on the input an agent starts on (see the module docstring for when it runs).

    Attributes:
        guardrail_function: ``(context, agent, input_text) -> GuardrailFunctionOutput``, sync
            or async.
        name: Shown in errors, events and the ``stopped`` record (default: function name).
    """

    kind: GuardrailKind = field(default="input", init=False)


@dataclass(frozen=True, kw_only=True)
class OutputGuardrail(_Guardrail):
    """A check on an agent's final output (see the module docstring for when it runs).

    Attributes:
        guardrail_function: ``(context, agent, output) -> GuardrailFunctionOutput``, sync or
            async; ``output`` is the text, or the ``output_type`` instance.
        name: Shown in errors, events and the ``stopped`` record (default: function name).
    """

    kind: GuardrailKind = field(default="output", init=False)


@overload
def input_guardrail(func: Callable[..., Any], /) -> InputGuardrail: ...
@overload
def input_guardrail(
    *, name: str | None = None
) -> Callable[[Callable[..., Any]], InputGuardrail]: ...
def input_guardrail(func: Callable[..., Any] | None = None, /, *,
                    name: str | None = None) -> Any:
    """An input guardrail of a function: ``@input_guardrail`` or ``@input_guardrail(name=...)``.
    """

    def wrap(fn: Callable[..., Any]) -> InputGuardrail:
        return InputGuardrail(guardrail_function=fn, name=name)

    return wrap(func) if func is not None else wrap


@overload
def output_guardrail(func: Callable[..., Any], /) -> OutputGuardrail: ...
@overload
def output_guardrail(
    *, name: str | None = None
) -> Callable[[Callable[..., Any]], OutputGuardrail]: ...
def output_guardrail(func: Callable[..., Any] | None = None, /, *,
                     name: str | None = None) -> Any:
    """An output guardrail of a function: ``@output_guardrail`` or ``@output_guardrail(name=...)``.
    """

    def wrap(fn: Callable[..., Any]) -> OutputGuardrail:
        return OutputGuardrail(guardrail_function=fn, name=name)

    return wrap(func) if func is not None else wrap


def _convert(value: Any, cls: type[_Guardrail], where: str) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, _Guardrail):
        raise TypeError(f"{where} holds {value.kind} guardrail {value.get_name()!r}; "  # type: ignore[attr-defined]
                        f"put it in {value.kind}_guardrails=")  # type: ignore[attr-defined]
    # an OpenAI Agents SDK guardrail object: same function signature, same name rule
    sdk_fn = getattr(value, "guardrail_function", None)
    if callable(sdk_fn):
        return cls(guardrail_function=sdk_fn, name=getattr(value, "name", None))
    if callable(value):
        return cls(guardrail_function=value)
    raise TypeError(f"{where} holds {value!r}, which is not a guardrail; pass functions "
                    "(context, agent, value) -> GuardrailFunctionOutput")


def to_input_guardrail(value: Any, *, agent: str = "") -> InputGuardrail:
    """An ``InputGuardrail`` of a guardrail object, an SDK guardrail, or a plain function.

    Raises:
        TypeError: Not callable, or an output guardrail.
    """
    return _convert(value, InputGuardrail, f"Agent {agent!r}: input_guardrails=")  # type: ignore[no-any-return]


def to_output_guardrail(value: Any, *, agent: str = "") -> OutputGuardrail:
    """An ``OutputGuardrail`` of a guardrail object, an SDK guardrail, or a plain function.

    Raises:
        TypeError: Not callable, or an input guardrail.
    """
    return _convert(value, OutputGuardrail, f"Agent {agent!r}: output_guardrails=")  # type: ignore[no-any-return]


def can_trip(agent: Agent) -> bool:
    """True when a turn of ``agent`` may be stopped by a guardrail (its own or a tool agent's)."""
    from agentpatterns.nodes.tools import AgentTool

    seen: set[int] = set()
    todo = [agent]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.input_guardrails or current.output_guardrails:
            return True
        for t in current.tools:
            if isinstance(t, AgentTool):  # a pattern used as a tool: any of its agents
                inner: Any = t.agent
                todo.extend(inner.all_agents() if getattr(inner, "is_pattern", False)
                            else [inner])
    return False


def check_result(value: Any, guardrail: _Guardrail, agent: str) -> GuardrailFunctionOutput:
    """The guardrail function's return value as a ``GuardrailFunctionOutput``.

    Accepts ours or the SDK's (anything with ``tripwire_triggered`` and ``output_info``).

    Raises:
        RunError: Anything else, naming the guardrail and the agent.
    """
    from agentpatterns.errors import RunError

    if isinstance(value, GuardrailFunctionOutput):
        return value
    if hasattr(value, "tripwire_triggered"):
        return GuardrailFunctionOutput(output_info=getattr(value, "output_info", None),
                                       tripwire_triggered=bool(value.tripwire_triggered))
    raise RunError(f"guardrail {guardrail.get_name()!r} of agent {agent!r} returned {value!r}; "
                   "return GuardrailFunctionOutput(output_info=..., tripwire_triggered=...)")


def storable(info: Any) -> Any:
    """``output_info`` in a form the checkpoint can store (JSON values; else its ``repr``)."""
    if isinstance(info, BaseModel):
        return info.model_dump(mode="json")
    if dataclasses.is_dataclass(info) and not isinstance(info, type):
        info = dataclasses.asdict(info)
    try:
        return json.loads(json.dumps(info))
    except (TypeError, ValueError):
        return repr(info)


@dataclass(frozen=True, kw_only=True)
class GuardrailResult:
    """The SDK's ``InputGuardrailResult`` / ``OutputGuardrailResult`` shape, on LangGraph.

    Attributes:
        guardrail: The guardrail object that tripped (``None`` if the agent no longer has it).
        output: Its ``GuardrailFunctionOutput``.
        agent: The agent checked (output guardrails), as in the SDK.
        agent_output: The checked output (not kept in the saved state: ``None`` there).
    """

    guardrail: Any
    output: GuardrailFunctionOutput
    agent: Any = None
    agent_output: Any = None


def tripwire_error(stop: Mapping[str, Any], agent: Agent | None = None) -> Exception:
    """The exception for a ``stopped`` record of a tripped guardrail (input or output).

    ``agent`` (the agent checked) lets ``guardrail_result.guardrail`` be the guardrail object.
    """
    from agentpatterns.errors import (
        InputGuardrailTripwireTriggered,
        OutputGuardrailTripwireTriggered,
    )

    kind = stop.get("kind", "input")
    cls = InputGuardrailTripwireTriggered if kind == "input" else OutputGuardrailTripwireTriggered
    name, guardrail, info = str(stop.get("agent")), str(stop.get("guardrail")), stop.get("info")
    pool = (agent.input_guardrails if kind == "input" else agent.output_guardrails) if agent \
        else ()
    found = next((g for g in pool if getattr(g, "get_name", lambda: "")() == guardrail), None)
    result = GuardrailResult(guardrail=found, output=GuardrailFunctionOutput(
        output_info=info, tripwire_triggered=True), agent=agent if kind == "output" else None)
    return cls(f"{kind} guardrail {guardrail!r} of agent {name!r} tripped: {info!r}",
               agent=name, guardrail=guardrail, info=info, guardrail_result=result)
