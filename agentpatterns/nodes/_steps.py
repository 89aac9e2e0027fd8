"""The steps of a turn, out of its loop: a final answer, a handoff call, a tool call, the
answer from tools (``tool_use_behavior``), a guardrail, and the strike count of a misbehaving
model. Each is a generator yielding the turn's requests (:mod:`agentpatterns.nodes.protocol`);
:func:`agentpatterns.nodes.runtime.agent_turn` drives them with ``yield from``.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from agentpatterns.errors import ModelBehaviorError, OutputValidationError
from agentpatterns.nodes._text import message_text
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.context import RunContextWrapper, ToolContext, current_context
from agentpatterns.nodes.guardrails import GuardrailContext, storable
from agentpatterns.nodes.handoff import Handoff, arguments_json, filtered, tool_schema
from agentpatterns.nodes.hooks import TurnHooks
from agentpatterns.nodes.output import OutputSchema, output_schema
from agentpatterns.nodes.protocol import (
    GuardrailRun,
    Notify,
    Request,
    SubAgent,
    SubFailure,
    ToolRun,
    TurnResult,
)
from agentpatterns.nodes.tool_use import FunctionToolResult, UserCall, final_from_tools
from agentpatterns.nodes.tools import AgentTool, AgentToolRun, failure_message, tool_output_text

__all__ = [
    "call_tool",
    "final_answer",
    "guard",
    "handoff_call",
    "handoff_input",
    "is_handoff_target",
    "model_error_message",
    "response_format",
    "schema_of",
    "strike",
    "tools_answer",
]


def response_format(agent: Agent) -> Any:
    """The ``response_format`` of the agent's model calls (None: plain text)."""
    schema = output_schema(agent.output_type)
    return None if schema is None else schema.response_format()


def _parse_output(schema: OutputSchema, text: str) -> tuple[Any, Any]:
    """(the output as its type, its JSON-able form for the state)."""
    raw = text.strip()
    if raw.startswith("```"):
        raw = raw.strip("`").removeprefix("json").strip()
    value = schema.validate_json(raw)
    return value, schema.dump(value, raw)


def final_answer(result: TurnResult, agent: Agent, state: Mapping[str, Any], reply: AIMessage,
                 strikes: dict[str, int], hooks: TurnHooks | None = None,
                 ) -> Generator[Request, Any, bool]:
    """A reply without tool calls: parse it into ``output_type`` and run the output
    guardrails. True when the turn is over; False after a corrective message (ask again)."""
    text = message_text(reply)
    result.text = text
    schema = output_schema(agent.output_type)
    final: Any = text
    if schema is not None:
        try:
            final, result.output = _parse_output(schema, text)
        except (ValidationError, ValueError) as exc:
            strikes["output"] += 1
            result.events.append({"type": "output_retry", "agent": agent.name,
                                  "error": str(exc).splitlines()[0]})
            if strikes["output"] > 1:
                raise OutputValidationError(
                    f"the output of agent {agent.name!r} does not validate as "
                    f"{schema.name()} after a retry: "
                    f"{str(exc).splitlines()[0]}; check its instructions or the model"
                ) from exc
            result.messages.append(HumanMessage(
                f"Your answer did not validate as {schema.name()}: {exc}. "
                "Reply with only a JSON object matching the schema."))
            return False
    if hooks is not None:  # before the output guardrails, as in the SDK
        yield hooks.agent_end(RunContextWrapper(context=current_context()), agent, final)
    for guardrail in agent.output_guardrails:
        if (yield from guard(result, guardrail, agent, state, final)):
            break
    return True


def handoff_call(result: TurnResult, target: Any, spec: Handoff | None, call: Mapping[str, Any],
                 call_id: str, context: GuardrailContext) -> Generator[Request, Any, None]:
    """The model called a handoff: run its ``on_handoff`` and take it (the first one of a
    reply; a second one is answered and ignored, as in the SDK)."""
    if result.handoff is not None:
        result.messages.append(ToolMessage("Ignored: only one handoff per turn.",
                                           tool_call_id=call_id))
        return
    if spec is not None and spec.on_invoke is not None:  # on_handoff(ctx[, input])
        yield UserCall(spec.on_invoke, (context, arguments_json(call["args"])), "on_handoff",
                       target.name)
    result.handoff = target.name
    result.messages.append(ToolMessage(json.dumps({"assistant": target.name}),
                                       tool_call_id=call_id))
    if spec is not None and spec.input_filter is not None:
        result.handoff_filter = spec.input_filter


def handoff_input(result: TurnResult, history: Sequence[BaseMessage],
                  ) -> Generator[Request, Any, None]:
    """A taken handoff's ``input_filter`` decides what the next agent sees."""
    if result.handoff_filter is not None:
        result.replace_messages = yield from filtered(result.handoff_filter, history,
                                                      result.messages)


def tools_answer(result: TurnResult, agent: Agent, state: Mapping[str, Any],
                 context: GuardrailContext, results: list[FunctionToolResult],
                 hooks: TurnHooks | None = None) -> Generator[Request, Any, bool]:
    """Whether the tools' output is the answer (``tool_use_behavior``); if so it is set on
    ``result`` and the output guardrails check it. True when the turn is over."""
    if not results or agent.tool_use_behavior == "run_llm_again":
        return False
    final = yield from final_from_tools(agent, context, results)
    if final is None:
        return False
    result.text, result.output, value = final
    if hooks is not None:
        yield hooks.agent_end(RunContextWrapper(context=current_context()), agent, value)
    for guardrail in agent.output_guardrails:
        if (yield from guard(result, guardrail, agent, state, value)):
            break
    return True


def call_tool(result: TurnResult, agent: Agent, entry: Any, args: dict[str, Any],
              call_id: str, raw: str, results: list[FunctionToolResult],
              hooks: TurnHooks | None = None) -> Generator[Request, Any, bool]:
    """Run one tool call (a function, or an agent used as a tool) and add its result to the
    turn's messages (and to ``results``, for ``tool_use_behavior``); True when an agent used
    as a tool was stopped by a guardrail."""
    name = entry.name
    yield Notify({"type": "tool_called", "agent": agent.name, "tool": name,
                  "args": args, "call_id": call_id})
    tool_ctx = ToolContext(context=current_context(), tool_name=name, tool_call_id=call_id,
                           tool_arguments=raw, agent=agent.name)
    if hooks is not None:
        yield hooks.tool_start(tool_ctx, agent, entry)
    if isinstance(entry, AgentTool):
        task = entry.task_of(args)
        sub: TurnResult | SubFailure = yield SubAgent(entry, task)
        failure = None
        if isinstance(sub, SubFailure):
            failure = sub.error
        else:
            if sub.tripwire is not None and callable(entry.failure_error_function):
                # as the SDK, where a nested run's tripwire is an error its tool handles
                failure, sub.tripwire = tripwire_error(sub.tripwire), None
            result.absorb(sub)
            if sub.tripwire is not None:
                return True
        if failure is not None:
            result.events.append({"type": "tool_failed", "agent": agent.name, "tool": name,
                                  "error": f"{type(failure).__name__}: {failure}"})
            if callable(entry.failure_error_function):  # the user's: (ctx, error) -> str
                message = yield UserCall(entry.failure_error_function, (tool_ctx, failure),
                                         "failure_error_function", name)
            else:
                message = failure_message(entry, tool_ctx, failure)  # None: raises
            content = value = tool_output_text(message)
        else:
            assert isinstance(sub, TurnResult)
            output = sub.output if sub.output is not None else sub.text
            content = value = output if isinstance(output, str) else json.dumps(output)
            if entry.custom_output_extractor is not None:
                run = AgentToolRun(input=task, final_output=_typed(entry.agent, sub),
                                   last_agent=entry.agent, new_messages=list(sub.messages),
                                   tool_name=name, tool_call_id=call_id, tool_arguments=raw)
                content = value = tool_output_text((yield UserCall(
                    entry.custom_output_extractor, (run,), "custom_output_extractor", name)))
    else:
        value = yield ToolRun(entry, args, call_id, agent.name, raw)
        content = tool_output_text(value)
    if hooks is not None:
        yield hooks.tool_end(tool_ctx, agent, entry, content)
    yield Notify({"type": "tool_result", "agent": agent.name, "tool": name,
                  "output": content, "call_id": call_id})
    # the arguments as the model sent them (``raw`` is their JSON, fit for the checkpoint)
    result.tool_calls.append({"agent": agent.name, "tool": name, "args": json.loads(raw),
                              "result": content, "call_id": call_id})
    result.messages.append(ToolMessage(content, tool_call_id=call_id, name=name))
    results.append(FunctionToolResult(tool=entry, output=value, arguments=args,
                                      call_id=call_id))
    return False


def _typed(agent: Any, sub: TurnResult) -> Any:
    """A nested turn's final output as its agent's ``output_type``."""
    schema = output_schema(getattr(agent, "output_type", None))
    if schema is None or sub.output is None:
        return sub.text
    return schema.restore(sub.output)


def tripwire_error(tripwire: Mapping[str, Any]) -> Exception:
    """A guardrail trip inside an agent used as a tool, as the error the SDK raises."""
    from agentpatterns.errors import (
        InputGuardrailTripwireTriggered,
        OutputGuardrailTripwireTriggered,
    )

    cls = (OutputGuardrailTripwireTriggered if tripwire["kind"] == "output"
           else InputGuardrailTripwireTriggered)
    return cls(f"guardrail {tripwire['guardrail']!r} of agent {tripwire['agent']!r} tripped",
               agent=tripwire["agent"], guardrail=tripwire["guardrail"],
               info=tripwire.get("info"))


def model_error_message(agent: str, error: str, transient: bool) -> str:
    """Why a model call failed for good, and what to do (both runtimes word it so)."""
    if transient:
        return (f"the model call of agent {agent!r} failed twice ({error}); check the model "
                "and its server, or give the pattern a fallback agent")
    return (f"the server refused the model call of agent {agent!r} ({error}); not retried, "
            "since the same request fails the same way - check the request (context size, "
            "max tokens, schema) and the server, or give the pattern a fallback agent")


def guard(result: TurnResult, guardrail: Any, agent: Agent, state: Mapping[str, Any],
          value: Any) -> Generator[Request, Any, bool]:
    """Run one guardrail; on a tripped wire record it in ``result`` and return True."""
    context = GuardrailContext(agent=agent.name, state=state, context=current_context())
    out = yield GuardrailRun(guardrail, context, agent, value)
    if not out.tripwire_triggered:
        return False
    result.tripwire = {"kind": guardrail.kind, "agent": agent.name,
                       "guardrail": guardrail.get_name(), "info": storable(out.output_info)}
    result.events.append({"type": "guardrail", **result.tripwire})
    return True


def strike(result: TurnResult, strikes: dict[str, int], kind: str, agent: Agent, name: str,
           detail: str, *, fallback: bool = False) -> bool:
    """Count a strike; True on the second one when a fallback can take over, else raise."""
    strikes[kind] += 1
    result.events.append({"type": f"{kind}_retry" if strikes[kind] == 1 else kind,
                          "agent": agent.name, "asked_for": name, "detail": detail})
    if strikes[kind] == 1:
        return False
    if fallback:
        return True
    raise ModelBehaviorError(f"agent {agent.name!r}: {detail}, again after a corrective "
                             "message; fix its instructions or add a fallback agent")


def is_handoff_target(entry: Any) -> bool:
    """An agent, or a nested pattern (``Agent(handoffs=[pattern])``) a turn may hand to."""
    return isinstance(entry, Agent) or bool(getattr(entry, "is_pattern", False))


def schema_of(name: str, entry: Any, spec: Handoff | None = None) -> dict[str, Any]:
    """The tool schema the model is offered for a table entry (tool, handoff, control)."""
    if is_handoff_target(entry):
        description = (spec.tool_description if spec is not None else None) or \
            entry.handoff_description or f"Handoff to the {entry.name} agent"
        return tool_schema(name, description, spec.input_json_schema if spec else {})
    return dict(entry.openai_schema())
