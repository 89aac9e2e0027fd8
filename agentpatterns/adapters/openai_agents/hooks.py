"""Lifecycle hooks across the two runtimes (see :mod:`agentpatterns.nodes.hooks`).

The rule: hooks that are instances of the SDK's classes (``agents.RunHooks``,
``agents.AgentHooks``) get the SDK's objects on both runtimes - the SDK agents and tools
they were written for when the network was imported, SDK contexts, an SDK
``ModelResponse``; any other hooks object gets ours (our ``Agent`` and tools, our
``RunContextWrapper``/``ToolContext``, our ``ModelResponse``) on both runtimes.

* LangGraph: :func:`sdk_view` (registered with :func:`agentpatterns.nodes.hooks.register_view`
  when this adapter is imported) translates the turn's arguments for SDK hooks.
* SDK runtime: :func:`sdk_agent_hooks` puts an agent's hooks on the SDK agent, and
  :class:`RunHooksChain` calls the run's own log, then the user's hooks; both translate the
  SDK's arguments for hooks that are not the SDK's, and neither calls the user's hooks again
  for a call a replay answers from the journal (:mod:`.replay_hooks`).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import weakref
from typing import Any

import agents
from agents.items import ModelResponse as SDKModelResponse
from agents.lifecycle import AgentHooksBase, RunHooksBase
from agents.run_context import AgentHookContext
from agents.tool_context import ToolContext as SDKToolContext

from agentpatterns.adapters.openai_agents.bridge import _usage, message_to_items
from agentpatterns.adapters.openai_agents.replay_hooks import gated
from agentpatterns.adapters.openai_agents.tools import ORIGINAL, SOURCE, sdk_context
from agentpatterns.nodes import hooks as our_hooks
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.context import RunContextWrapper, ToolContext
from agentpatterns.nodes.hooks import ModelResponse, Usage

__all__ = ["ORIGINALS", "RunHooksChain", "is_sdk_hooks", "sdk_agent_hooks", "sdk_view"]

#: our Agent -> the SDK agent ``from_sdk_agent`` made it from (what SDK hooks are shown)
ORIGINALS: weakref.WeakKeyDictionary[Agent, agents.Agent[Any]] = weakref.WeakKeyDictionary()

_METHODS = ("on_agent_start", "on_agent_end", "on_llm_start", "on_llm_end", "on_handoff",
            "on_tool_start", "on_tool_end", "on_start", "on_end")


def is_sdk_hooks(obj: Any) -> bool:
    """An instance of the SDK's hook classes."""
    return isinstance(obj, RunHooksBase | AgentHooksBase)


# ------------------------------------------------------------------ LangGraph: ours -> SDK


def _to_sdk(value: Any, method: str) -> Any:
    if isinstance(value, ToolContext):
        return SDKToolContext(context=value.context, tool_name=value.tool_name,
                              tool_call_id=value.tool_call_id,
                              tool_arguments=value.tool_arguments)
    if isinstance(value, RunContextWrapper):
        if method in ("on_agent_start", "on_agent_end", "on_start", "on_end"):
            return AgentHookContext(context=value.context, turn_input=[])
        return sdk_context(value.context)
    if isinstance(value, Agent):
        return ORIGINALS.get(value, value)
    if isinstance(value, ModelResponse):
        message = value.message
        if message is None:
            return value
        return SDKModelResponse(output=message_to_items(message), usage=_usage(message),
                                response_id=None)
    source = getattr(value, "source", None)
    if source is not None and not isinstance(value, str) and hasattr(source, "name"):
        return source  # an imported tool: the SDK tool itself
    return value


def sdk_view(obj: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The SDK's arguments for SDK hooks called on LangGraph (None for other hooks)."""
    if not is_sdk_hooks(obj):
        return None
    return (tuple(_to_sdk(a, method) for a in args),
            {k: _to_sdk(v, method) for k, v in kwargs.items()})


our_hooks.register_view(sdk_view)


# ------------------------------------------------------------------ SDK runtime


def _original(value: Any) -> Any:
    """For SDK hooks on the SDK runtime: a run's SDK agent/tool -> the user's original."""
    value = getattr(value, ORIGINAL, value)  # a per-run copy of a tool
    ours = getattr(value, SOURCE, None)
    if isinstance(ours, Agent):
        return ORIGINALS.get(ours, value)
    source = getattr(ours, "source", None)
    return source if source is not None and hasattr(source, "name") else value


def _to_ours(value: Any) -> Any:
    """For other hooks on the SDK runtime: the SDK's arguments -> ours."""
    if isinstance(value, SDKToolContext):
        agent = getattr(value, "agent", None)
        return ToolContext(context=value.context, tool_name=value.tool_name,
                           tool_call_id=value.tool_call_id, tool_arguments=value.tool_arguments,
                           agent=str(getattr(agent, "name", "") or ""))
    if isinstance(value, agents.RunContextWrapper):
        return RunContextWrapper(context=value.context)
    if isinstance(value, SDKModelResponse):
        usage = value.usage
        return ModelResponse(
            output=[item.model_dump(exclude_unset=True)
                    for item in value.output],
            usage=Usage(requests=usage.requests, input_tokens=usage.input_tokens,
                        output_tokens=usage.output_tokens, total_tokens=usage.total_tokens),
            response_id=value.response_id)
    value = getattr(value, ORIGINAL, value)
    ours = getattr(value, SOURCE, None)
    return ours if ours is not None else value


async def _call(hooks: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    fn = getattr(hooks, method, None)
    if fn is None:
        return

    async def call() -> None:
        convert = _original if is_sdk_hooks(hooks) else _to_ours
        result = fn(*(convert(a) for a in args), **{k: convert(v) for k, v in kwargs.items()})
        if hasattr(result, "__await__"):
            await result

    await gated(method, args, kwargs, call)  # (not again for a replayed call)


class _AgentHooks(agents.AgentHooks[Any]):
    """An agent's hooks on the SDK runtime, each call translated for them."""

    def __init__(self, hooks: Any) -> None:
        self.hooks = hooks

    async def on_start(self, context: Any, agent: Any) -> None:
        await _call(self.hooks, "on_start", (context, agent), {})

    async def on_end(self, context: Any, agent: Any, output: Any) -> None:
        await _call(self.hooks, "on_end", (context, agent, output), {})

    async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
        await _call(self.hooks, "on_handoff", (context,), {"agent": agent, "source": source})

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        await _call(self.hooks, "on_tool_start", (context, agent, tool), {})

    async def on_tool_end(self, context: Any, agent: Any, tool: Any,
                          result: object) -> None:
        await _call(self.hooks, "on_tool_end", (context, agent, tool, result), {})

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: str | None,
                           input_items: list[Any]) -> None:
        await _call(self.hooks, "on_llm_start", (context, agent, system_prompt, input_items), {})

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        await _call(self.hooks, "on_llm_end", (context, agent, response), {})


def sdk_agent_hooks(hooks: Any) -> Any:
    """What the SDK agent built from ours gets as ``hooks`` (None stays None)."""
    return None if hooks is None else _AgentHooks(hooks)


class RunHooksChain(agents.RunHooks[Any]):
    """The run's own log (``first``), then the user's ``hooks=`` (translated for them)."""

    def __init__(self, first: Any, hooks: Any) -> None:
        self.first = first
        self.hooks = hooks

    async def _both(self, method: str, *args: Any, **kwargs: Any) -> None:
        await getattr(self.first, method)(*args, **kwargs)
        acting = kwargs.get("from_agent") if method == "on_handoff" else (
            args[1] if len(args) > 1 else None)
        if getattr(acting, "name", None) in getattr(self.first, "skip", ()):
            return  # the run's own stand-ins (an approval gate, a door to a nested pattern)
        await _call(self.hooks, method, args, kwargs)

    async def on_agent_start(self, context: Any, agent: Any) -> None:
        await self._both("on_agent_start", context, agent)

    async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
        await self._both("on_agent_end", context, agent, output)

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: str | None,
                           input_items: list[Any]) -> None:
        await self._both("on_llm_start", context, agent, system_prompt, input_items)

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        await self._both("on_llm_end", context, agent, response)

    async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
        await self._both("on_handoff", context=context, from_agent=from_agent,
                         to_agent=to_agent)

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        await self._both("on_tool_start", context, agent, tool)

    async def on_tool_end(self, context: Any, agent: Any, tool: Any,
                          result: object) -> None:
        await self._both("on_tool_end", context, agent, tool, result)
