"""``handoff(agent, ...)``: a handoff with options, as the OpenAI Agents SDK's ``handoff()``.

``Agent(handoffs=[handoff(billing, on_handoff=..., input_type=Escalation)])``. The options:

* ``tool_name_override`` / ``tool_description_override``: the tool the model is offered
  (default ``transfer_to_<name>`` and the target's ``handoff_description``);
* ``on_handoff(context)`` or, with ``input_type``, ``on_handoff(context, payload)``: called
  when the handoff is taken, the model's arguments validated into ``input_type`` (the
  tool's parameters are its JSON schema); a payload that does not validate raises
  ``ModelBehaviorError`` (the SDK's behaviour);
* ``input_filter(data) -> data``: what the next agent sees. ``data`` is a
  :class:`HandoffInputData` of LangChain messages split as the SDK splits a run
  (``input_history``: the run's input - the conversation up to its last user message;
  ``pre_handoff_items``: the run's earlier turns, other agents' included; ``new_items``: this
  turn, the handoff call and its result included; ``run_context``: a
  ``RunContextWrapper`` of the run's ``context=``); the filtered conversation replaces the
  thread's;
* ``is_enabled``: a bool, or ``(context, agent) -> bool`` (sync or async) asked at the
  start of each turn; a disabled handoff is not offered.

``context`` is the object guardrails get (:class:`~agentpatterns.nodes.guardrails.
GuardrailContext`). ``agent.handoffs`` holds the target agents (so topology code sees
agents); the options are kept in ``agent.handoff_options`` by target name. SDK ``handoff()``
objects of an imported agent become these, calling the SDK's own functions.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, HumanMessage

if TYPE_CHECKING:
    from agentpatterns.nodes.agent import Agent

__all__ = ["Handoff", "HandoffInputData", "handoff"]


@dataclass(frozen=True)
class HandoffInputData:
    """What an ``input_filter`` gets and returns (LangChain messages; see the module doc)."""

    input_history: tuple[Any, ...]
    pre_handoff_items: tuple[Any, ...] = ()
    new_items: tuple[Any, ...] = ()
    #: the run's context (a ``RunContextWrapper`` whose ``context`` is the run's ``context=``)
    run_context: Any = field(default=None, compare=False)

    def clone(self, **changes: Any) -> HandoffInputData:
        """A copy with some fields changed (as the SDK's ``clone``)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True, eq=False)
class Handoff:
    """A handoff to ``agent`` with options (made by :func:`handoff`).

    Attributes:
        agent: The target.
        tool_name: The tool the model calls (``None``: ``transfer_to_<name>``).
        tool_description: Its description (``None``: the target's handoff description).
        input_json_schema: The tool's parameters (empty: none).
        on_invoke: ``(context, arguments_json)`` called when the handoff is taken (sync or
            async); it validates the arguments and calls ``on_handoff``.
        input_filter: ``(HandoffInputData) -> HandoffInputData`` (sync or async), or None.
        is_enabled: A bool, or ``(context, agent) -> bool`` (sync or async).
    """

    agent: Agent
    tool_name: str | None = None
    tool_description: str | None = None
    input_json_schema: Mapping[str, Any] = field(default_factory=dict)
    on_invoke: Callable[[Any, str], Any] | None = None
    input_filter: Callable[[Any], Any] | None = None
    is_enabled: bool | Callable[[Any, Any], Any] = True


def handoff(agent: Agent, *, tool_name_override: str | None = None,
            tool_description_override: str | None = None,
            on_handoff: Callable[..., Any] | None = None, input_type: Any = None,
            input_filter: Callable[[Any], Any] | None = None,
            is_enabled: bool | Callable[[Any, Any], Any] = True) -> Handoff:
    """A handoff to ``agent`` with the SDK's options (see the module docstring).

    Raises:
        TypeError: ``input_type`` without ``on_handoff``, or an ``on_handoff`` taking the
            wrong number of arguments (as the SDK checks).

    Example:
        >>> from agentpatterns import Agent
        >>> billing = Agent(name="Billing", instructions="Answer billing questions")
        >>> h = handoff(billing, tool_name_override="to_billing")
        >>> front = Agent(name="Front", instructions="Route", handoffs=[h])
        >>> [a.name for a in front.handoffs], front.handoff_options["Billing"].tool_name
        (['Billing'], 'to_billing')
    """
    from pydantic import TypeAdapter

    from agentpatterns.errors import ModelBehaviorError

    wanted = 2 if input_type is not None else 1
    if input_type is not None and on_handoff is None:
        raise TypeError("handoff(): input_type needs on_handoff (context, input)")
    if on_handoff is not None and len(inspect.signature(on_handoff).parameters) != wanted:
        raise TypeError(f"handoff(): on_handoff must take {wanted} argument(s): "
                        + ("context and input" if wanted == 2 else "context"))
    adapter = TypeAdapter(input_type) if input_type is not None else None
    schema: dict[str, Any] = adapter.json_schema() if adapter is not None else {}

    async def invoke(context: Any, arguments: str) -> None:
        if on_handoff is None:
            return
        if adapter is None:
            out = on_handoff(context)
        else:
            try:
                payload = adapter.validate_json(arguments or "{}")
            except ValueError as exc:
                raise ModelBehaviorError(f"the handoff to {agent.name!r} got input that is not "
                                         f"a valid {input_type!r}: {exc}") from exc
            out = on_handoff(context, payload)
        if inspect.isawaitable(out):
            await out

    return Handoff(agent=agent, tool_name=tool_name_override,
                   tool_description=tool_description_override, input_json_schema=schema,
                   on_invoke=invoke if on_handoff is not None else None,
                   input_filter=input_filter, is_enabled=is_enabled)


def tool_schema(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI function-tool dict of a handoff."""
    params = dict(parameters) if parameters and parameters.get("properties") is not None else {
        "type": "object", "properties": {}, "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": params}}


def arguments_json(args: Any) -> str:
    """The model's handoff arguments as the JSON text the SDK passes on."""
    return json.dumps(args or {})


def enabled(spec: Handoff, context: Any, agent: Any) -> Any:
    """Generator (of a turn): whether the handoff is offered this turn (``is_enabled``)."""
    from agentpatterns.nodes.tool_use import UserCall

    if isinstance(spec.is_enabled, bool):
        return spec.is_enabled
    return bool((yield UserCall(spec.is_enabled, (context, agent), "is_enabled",
                                spec.agent.name)))


def filtered(input_filter: Callable[[Any], Any], history: Any, new: Any) -> Any:
    """Generator (of a turn): the conversation the next agent gets from ``input_filter``."""
    from agentpatterns.nodes.context import RunContextWrapper, current_context
    from agentpatterns.nodes.tool_use import UserCall

    # as the SDK splits a run: its input (up to the last user message), the items of the
    # run's earlier turns, and this turn's (the handoff call included)
    # (an SDK turn is one model call: this agent's earlier round trips are "pre" items)
    start = next((i + 1 for i in range(len(history) - 1, -1, -1)
                  if isinstance(history[i], HumanMessage)), 0)
    cut = next((i for i in range(len(new) - 1, -1, -1) if isinstance(new[i], AIMessage)), 0)
    data = HandoffInputData(input_history=tuple(history[:start]),
                            pre_handoff_items=(*history[start:], *new[:cut]),
                            new_items=tuple(new[cut:]),
                            run_context=RunContextWrapper(context=current_context()))
    out = yield UserCall(input_filter, (data,), "input_filter",
                         getattr(input_filter, "__name__", ""))
    if not isinstance(out, HandoffInputData):
        raise TypeError(f"the handoff input_filter {input_filter!r} returned {out!r}; return "
                        "the HandoffInputData it got (data.clone(...))")
    return [*out.input_history, *out.pre_handoff_items, *out.new_items]
