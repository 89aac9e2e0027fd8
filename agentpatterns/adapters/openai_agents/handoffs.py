"""``handoff()`` objects across the two runtimes (both directions).

* SDK -> ours (``from_sdk_agent``): an SDK ``Handoff`` becomes our
  :class:`~agentpatterns.nodes.handoff.Handoff` with its tool name, description and input
  schema; on LangGraph its own ``on_invoke_handoff`` (input validation + ``on_handoff``),
  ``is_enabled`` and ``input_filter`` run with SDK arguments (a ``RunContextWrapper``; the
  filter gets the SDK's ``HandoffInputData``: the conversation before the turn as input
  items, the turn as run items - handoff and tool calls typed as the SDK types them). A plain
  agent in ``handoffs`` gets the SDK's default tool name and description.
* ours -> SDK (``to_sdk_agent`` / ``run_sdk``): an imported handoff is the SDK's own object
  again (pointing at the run's copy of the target); a native one becomes an SDK ``Handoff``
  calling our functions with our arguments.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import agents
from agents.handoffs import Handoff as SDKHandoff
from agents.handoffs import HandoffInputData as SDKData
from agents.items import (
    HandoffCallItem,
    HandoffOutputItem,
    MessageOutputItem,
    ToolCallItem,
    ToolCallOutputItem,
)
from agents.run_context import RunContextWrapper
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from agentpatterns.adapters.openai_agents.tools import sdk_context
from agentpatterns.errors import UnsupportedError
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.context import RunContextWrapper as OurRunContextWrapper
from agentpatterns.nodes.guardrails import GuardrailContext
from agentpatterns.nodes.handoff import Handoff, HandoffInputData
from agentpatterns.nodes.items import items_to_messages, messages_to_items
from agentpatterns.nodes.tools import ToolArgumentsError, read_arguments

__all__ = ["USER_ON_HANDOFF", "our_handoff", "run_items", "sdk_handoff"]

#: attribute of our Handoff made from an SDK one: the SDK object
SOURCE = "_agentpatterns_sdk_handoff"
#: attribute of an SDK ``Handoff`` made by :func:`sdk_handoff` whose invoker calls a user's
#: ``on_handoff`` (ours given ``on_handoff=``; an imported SDK handoff: always, as LangGraph
#: journals it): a journaled run calls it once (``replay_calls``)
USER_ON_HANDOFF = "_agentpatterns_on_handoff"


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _ctx(context: Any) -> RunContextWrapper[Any]:
    # the run's context= object (on our GuardrailContext) in the SDK's wrapper
    return sdk_context(getattr(context, "context", None))


def run_items(messages: Sequence[Any], source: agents.Agent[Any], target: agents.Agent[Any],
               handoff_names: set[str]) -> tuple[Any, ...] | None:
    """One turn's messages as SDK run items (``None`` when one has no run-item form)."""
    out: list[Any] = []
    handoff_calls: set[str] = set()
    items = messages_to_items(messages)
    # an earlier agent's handoff (pre-handoff items): its result names the next agent
    taken = {i.get("call_id") for i in items if i.get("type") == "function_call_output"
             and _handed_to(i.get("output"))}
    for item in items:
        kind, role = item.get("type"), item.get("role")
        if kind == "message" and role == "assistant":
            out.append(MessageOutputItem(agent=source, raw_item=ResponseOutputMessage(**item)))
        elif kind == "function_call":
            call = ResponseFunctionToolCall(**item)
            if call.name in handoff_names or call.call_id in taken:
                handoff_calls.add(call.call_id)
                out.append(HandoffCallItem(agent=source, raw_item=call))
            else:
                out.append(ToolCallItem(agent=source, raw_item=call))
        elif kind == "function_call_output":
            if item.get("call_id") in handoff_calls:
                out.append(HandoffOutputItem(agent=source, raw_item=item,  # type: ignore[arg-type]
                                             source_agent=source, target_agent=target))
            else:
                out.append(ToolCallOutputItem(agent=source, raw_item=item,
                                              output=item.get("output")))
        else:
            return None
    return tuple(out)


def _handed_to(output: Any) -> bool:
    """A handoff's tool result as LangGraph writes it (``{"assistant": <agent>}``)."""
    try:
        value = json.loads(output) if isinstance(output, str) else None
    except ValueError:
        return False
    return isinstance(value, dict) and list(value) == ["assistant"]


def _to_input(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [v.to_input_item() if hasattr(v, "to_input_item") else v for v in value]


def our_handoff(owner: agents.Agent[Any], item: Any) -> Handoff | None:
    """Our handoff options for an SDK handoff of ``owner`` (None: a plain agent, whose
    default tool is made by :func:`default_handoff`)."""
    if not isinstance(item, SDKHandoff):
        return None
    if item.nest_handoff_history:
        raise UnsupportedError(
            f"SDK agent {owner.name!r}: nest_handoff_history on handoff {item.tool_name!r} "
            "cannot be mapped to an agentpatterns Agent; remove it (the next agent then "
            "sees the conversation itself)")
    target = item._agent_ref() if item._agent_ref is not None else None
    if not isinstance(target, agents.Agent):
        raise UnsupportedError(f"SDK agent {owner.name!r}: handoff {item.tool_name!r} (its "
                               "agent is not reachable) cannot be mapped; build it with "
                               "agents.handoff(agent)")
    names = {h.tool_name if isinstance(h, SDKHandoff) else SDKHandoff.default_tool_name(h)
             for h in owner.handoffs}

    async def invoke(context: Any, arguments: str) -> None:
        # the SDK's own: validates input_type, calls on_handoff(ctx[, payload])
        await item.on_invoke_handoff(_ctx(context), arguments)

    is_enabled: Any = item.is_enabled
    if callable(is_enabled):
        sdk_check = is_enabled

        async def check(context: Any, _agent: Any) -> bool:
            return bool(await _maybe(sdk_check(_ctx(context), owner)))

        is_enabled = check
    input_filter = None
    if item.input_filter is not None:
        sdk_filter = item.input_filter

        async def apply(data: HandoffInputData) -> HandoffInputData:
            # the SDK's split: the run's input, its earlier turns' run items, this turn's
            new = run_items(data.new_items, owner, target, names)
            pre = run_items(data.pre_handoff_items, owner, target, names)
            history: Any = tuple(messages_to_items(data.input_history))
            if pre is None:  # an item with no run-item form: kept as input history
                history, pre = history + tuple(messages_to_items(data.pre_handoff_items)), ()
            context = _ctx(data.run_context)
            sdk_data = (SDKData(input_history=history, pre_handoff_items=pre, new_items=new,
                                run_context=context) if new is not None else
                        SDKData(input_history=history + tuple(messages_to_items(
                            [*data.pre_handoff_items, *data.new_items])),
                                pre_handoff_items=(), new_items=(), run_context=context))
            out = await _maybe(sdk_filter(sdk_data))
            items = [*_to_input(out.input_history), *_to_input(out.pre_handoff_items),
                     *_to_input(out.input_items if out.input_items is not None
                                else out.new_items)]
            return HandoffInputData(input_history=tuple(items_to_messages(None, items)))

        input_filter = apply
    ours = Handoff(agent=_placeholder(target), tool_name=item.tool_name,
                   tool_description=item.tool_description,
                   input_json_schema=dict(item.input_json_schema or {}),
                   on_invoke=invoke, input_filter=input_filter, is_enabled=is_enabled)
    object.__setattr__(ours, SOURCE, item)
    return ours


class _Pending:
    """Stands for the target until our agents exist (``agent_from_sdk`` builds in two phases)."""

    def __init__(self, sdk: agents.Agent[Any]) -> None:
        self.sdk = sdk
        self.name = sdk.name


def _placeholder(target: agents.Agent[Any]) -> Any:
    return _Pending(target)


def default_handoff(target: agents.Agent[Any]) -> Handoff:
    """The SDK's default tool for a plain agent in ``handoffs`` (name and description)."""
    return Handoff(agent=_placeholder(target), tool_name=SDKHandoff.default_tool_name(target),
                   tool_description=SDKHandoff.default_tool_description(target))


def resolve(spec: Handoff, ours: Mapping[int, Agent]) -> Handoff:
    """``spec`` pointing at our agent for its SDK target."""
    pending = spec.agent
    if isinstance(pending, _Pending):
        resolved = dataclasses.replace(spec, agent=ours[id(pending.sdk)])
        source = getattr(spec, SOURCE, None)
        if source is not None:
            object.__setattr__(resolved, SOURCE, source)
        return resolved
    return spec


def sdk_handoff(spec: Handoff | None, target: agents.Agent[Any], default_name: str,
                default_description: str) -> Any:
    """The SDK handoff to the run's copy ``target`` for our options ``spec``."""
    if spec is None:
        return agents.handoff(target, tool_name_override=default_name,
                              tool_description_override=default_description)
    source = getattr(spec, SOURCE, None)
    if isinstance(source, SDKHandoff):
        async def invoke_source(ctx: Any, arguments: str) -> agents.Agent[Any]:
            # on_handoff, typed input (the arguments as LangGraph reads them)
            await source.on_invoke_handoff(ctx, _strict(source.tool_name, arguments))
            return target

        made = dataclasses.replace(source, on_invoke_handoff=invoke_source)
        made._agent_ref = weakref.ref(target)
        setattr(made, USER_ON_HANDOFF, True)
        return made
    on_invoke = spec.on_invoke

    async def invoke(ctx: Any, arguments: str) -> agents.Agent[Any]:
        if on_invoke is not None:
            await _maybe(on_invoke(_context_of(ctx, target),
                                   _strict(spec.tool_name or default_name, arguments)))
        return target

    is_enabled: Any = spec.is_enabled
    if callable(is_enabled):
        ours_check = is_enabled

        async def check(ctx: Any, agent: Any) -> bool:
            return bool(await _maybe(ours_check(_context_of(ctx, agent), agent)))

        is_enabled = check
    made = SDKHandoff(tool_name=spec.tool_name or default_name,
                      tool_description=spec.tool_description or default_description,
                      input_json_schema=dict(spec.input_json_schema),
                      on_invoke_handoff=invoke, agent_name=target.name,
                      input_filter=_sdk_filter(spec.input_filter), strict_json_schema=False,
                      is_enabled=is_enabled)
    made._agent_ref = weakref.ref(target)
    setattr(made, USER_ON_HANDOFF, on_invoke is not None)
    return made


def _strict(name: str, arguments: str) -> str:
    """The model's handoff arguments as strict JSON, read as LangGraph reads them (a raw
    newline in a string is accepted); malformed ones as they are (the guard answered them
    in a guarded run; an exported agent's handoff raises on them, as the SDK's)."""
    try:
        return json.dumps(read_arguments(name, arguments))
    except ToolArgumentsError:
        return arguments


def _context_of(ctx: Any, agent: Any) -> GuardrailContext:
    context = getattr(ctx, "context", None)
    return GuardrailContext(agent=getattr(agent, "name", ""), runtime="openai-agents",
                            context=context,
                            state=context if isinstance(context, Mapping) else {})


def _sdk_filter(input_filter: Callable[[Any], Any] | None) -> Any:
    if input_filter is None:
        return None

    async def apply(data: SDKData) -> SDKData:
        history = items_to_messages(None, _to_input(data.input_history))
        pre = items_to_messages(None, _to_input(data.pre_handoff_items))
        new = items_to_messages(None, _to_input(data.new_items))
        context = getattr(data.run_context, "context", None)
        out = await _maybe(input_filter(HandoffInputData(
            input_history=tuple(history), pre_handoff_items=tuple(pre), new_items=tuple(new),
            run_context=OurRunContextWrapper(context=context))))
        kept = [*out.input_history, *out.pre_handoff_items, *out.new_items]
        # the next agent's model sees what was kept; the turn's items stay in the run's
        # history (``input_items`` is the SDK's way to say so), so its path shows the turn
        return data.clone(input_history=tuple(messages_to_items(kept)), pre_handoff_items=(),
                          input_items=())

    return apply
