"""Our guardrails as OpenAI Agents SDK guardrails, and the SDK's tripwires as our errors.

The calling convention is the SDK's already (``(context, agent, value) ->
GuardrailFunctionOutput``); the mapping adds what keeps both runtimes alike:

* the guardrail function gets a :class:`~agentpatterns.nodes.guardrails.GuardrailContext`
  (``runtime="openai-agents"``, the SDK run context as ``context``) and *our* ``Agent``;
* input guardrails are blocking (``run_in_parallel=False``): a tripped wire stops the run
  before the agent's first model call, as on LangGraph;
* input guardrails get the text the agent starts on. A run starts on new input when its
  input is a string, or items ending with a user message (the SDK streams and sessions hand
  guardrails item lists): the guardrail gets that message's text. Items ending otherwise
  continue a conversation (the next step of a ``sequence``, the triage fallback, given the
  previous agent's output), which - as on LangGraph, where an agent taking over a
  conversation does not re-check it - passes unchecked.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from typing import Any

import agents

from agentpatterns.adapters.openai_agents.bridge import _content_text, _plain
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.context import current_state
from agentpatterns.nodes.guardrails import (
    GuardrailContext,
    InputGuardrail,
    OutputGuardrail,
    check_result,
    storable,
    to_input_guardrail,
    to_output_guardrail,
    tripwire_error,
)

__all__ = ["from_sdk_tripwire", "started_on", "to_sdk_guardrails"]

#: attribute set on the SDK guardrails made here: the name of the agent they belong to
AGENT = "_agentpatterns_agent"


async def _check(guardrail: InputGuardrail | OutputGuardrail, ctx: Any, agent: Agent,
                 value: Any) -> agents.GuardrailFunctionOutput:
    context = getattr(ctx, "context", None)
    ours = GuardrailContext(agent=agent.name, runtime="openai-agents", context=context,
                            state=current_state())
    out = guardrail(ours, agent, value)
    if inspect.isawaitable(out):
        out = await out
    checked = check_result(out, guardrail, agent.name)
    return agents.GuardrailFunctionOutput(output_info=checked.output_info,
                                          tripwire_triggered=checked.tripwire_triggered)


def started_on(value: Any) -> str | None:
    """The text a run starts on (see the module docstring); ``None`` for a continuation."""
    if isinstance(value, str):
        return value
    items = [_plain(item) for item in value or ()]
    if not items:
        return None
    last = items[-1]
    if last.get("role") == "user" and last.get("type") in (None, "message"):
        return _content_text(last.get("content"))
    return None


#: the request a nested handoff network's entry agent checks when it takes over a
#: conversation (as on LangGraph, where it checks the nested pattern's request)
TAKEOVER: ContextVar[str | None] = ContextVar("agentpatterns_sdk_takeover", default=None)


def _input(agent: Agent, guardrail: InputGuardrail) -> agents.InputGuardrail[Any]:
    async def check(ctx: Any, _sdk_agent: Any, value: Any) -> agents.GuardrailFunctionOutput:
        text = started_on(value)
        if text is None:
            text = TAKEOVER.get()
        if text is None:  # a continued conversation: see the module docstring
            return agents.GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)
        return await _check(guardrail, ctx, agent, text)

    sdk: agents.InputGuardrail[Any] = agents.InputGuardrail(
        guardrail_function=check, name=guardrail.get_name(), run_in_parallel=False)
    setattr(sdk, AGENT, agent.name)
    return sdk


def _output(agent: Agent, guardrail: OutputGuardrail) -> agents.OutputGuardrail[Any]:
    async def check(ctx: Any, _sdk_agent: Any, value: Any) -> agents.GuardrailFunctionOutput:
        return await _check(guardrail, ctx, agent, value)

    sdk: agents.OutputGuardrail[Any] = agents.OutputGuardrail(guardrail_function=check,
                                                              name=guardrail.get_name())
    setattr(sdk, AGENT, agent.name)
    return sdk


def to_sdk_guardrails(agent: Agent) -> tuple[list[agents.InputGuardrail[Any]],
                                             list[agents.OutputGuardrail[Any]]]:
    """The SDK ``input_guardrails`` and ``output_guardrails`` for ``agent``.

    Example:
        >>> from agentpatterns import Agent
        >>> from agentpatterns.nodes.guardrails import GuardrailFunctionOutput, input_guardrail
        >>> @input_guardrail
        ... def polite(context, agent, text):
        ...     return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)
        >>> ins, outs = to_sdk_guardrails(Agent(name="Desk", input_guardrails=[polite]))
        >>> [g.get_name() for g in ins], ins[0].run_in_parallel, outs
        (['polite'], False, [])
    """
    return ([_input(agent, to_input_guardrail(g)) for g in agent.input_guardrails],
            [_output(agent, to_output_guardrail(g)) for g in agent.output_guardrails])


def from_sdk_tripwire(exc: BaseException) -> Exception | None:
    """Our tripwire exception for an SDK tripwire in ``exc`` or its causes, else ``None``.

    The causes are searched because a driver may wrap it (a parallel branch's
    ``BranchError``).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, agents.InputGuardrailTripwireTriggered |
                      agents.OutputGuardrailTripwireTriggered):
            result = current.guardrail_result
            output_side = isinstance(current, agents.OutputGuardrailTripwireTriggered)
            agent = (result.agent.name if output_side  # type: ignore[union-attr]
                     else getattr(result.guardrail, AGENT, ""))
            return tripwire_error({"kind": "output" if output_side else "input",
                                   "agent": agent, "guardrail": result.guardrail.get_name(),
                                   "info": storable(result.output.output_info)})
        current = current.__cause__ or current.__context__
    return None
