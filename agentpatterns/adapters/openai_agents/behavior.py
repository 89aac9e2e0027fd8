"""Model settings and ``tool_use_behavior`` across the two runtimes (both directions).

* ``model_settings``: ours -> ``agents.ModelSettings`` (same field names); the SDK's -> ours,
  refusing fields that have no LangChain form. Settings an SDK agent got implicitly from
  its model name (the SDK's GPT-5 defaults) are not the user's: they are not imported.
* ``tool_use_behavior``: strings and ``StopAtTools`` are the same on both sides; a function
  is wrapped so each side calls it with its own argument types (our
  :class:`~agentpatterns.nodes.tool_use.FunctionToolResult` on LangGraph, the SDK's on
  the SDK runtime), and an imported SDK function runs unwrapped on the SDK runtime.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

import agents
from agents import ModelSettings as SDKModelSettings

from agentpatterns.adapters.openai_agents.tools import sdk_context
from agentpatterns.errors import UnsupportedError
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.guardrails import GuardrailContext
from agentpatterns.nodes.settings import ModelSettings, to_model_settings
from agentpatterns.nodes.tool_use import FunctionToolResult, checked

__all__ = ["our_model_settings", "our_tool_use", "sdk_model_settings", "sdk_tool_use",
           "settings_of"]

#: attribute of our wrappers around an SDK function: the function itself
SOURCE = "_agentpatterns_sdk_source"


def sdk_model_settings(agent: Agent, implied: SDKModelSettings | None = None) -> Any:
    """``agents.ModelSettings`` for our agent (``implied``: e.g. a ChatOpenAI temperature,
    under the agent's own settings); ``None`` when nothing is set."""
    ours = agent.model_settings.values() if agent.model_settings is not None else {}
    if not ours:
        return implied
    base = {f.name: getattr(implied, f.name) for f in dataclasses.fields(implied)
            if getattr(implied, f.name) is not None} if implied is not None else {}
    return SDKModelSettings(**{**base, **ours})


def settings_of(sdk_settings: Any) -> ModelSettings | None:
    """The SDK ``ModelSettings`` of a model call as ours (fields with no LangChain form are
    left to the SDK's own models: the bridge cannot send them)."""
    if sdk_settings is None:
        return None
    fields = {f.name for f in dataclasses.fields(ModelSettings)}
    given = {f.name: getattr(sdk_settings, f.name) for f in dataclasses.fields(sdk_settings)
             if f.name in fields and getattr(sdk_settings, f.name) is not None}
    if not isinstance(given.get("tool_choice", ""), str):
        given.pop("tool_choice")
    return ModelSettings(**given) if given else None


def _implicit(sdk: agents.Agent[Any]) -> bool:
    from agents import agent as sdk_agent_module

    match = getattr(sdk_agent_module, "_model_settings_match_implicit_model_defaults", None)
    if match is not None:
        return bool(match(sdk.model, sdk.model_settings))
    from agents.models.default_models import get_default_model_settings

    return bool(sdk.model_settings == get_default_model_settings())


def our_model_settings(sdk: agents.Agent[Any]) -> ModelSettings | None:
    """An SDK agent's ``model_settings`` as ours.

    Raises:
        UnsupportedError: A field set that has no LangChain form, naming the agent.
    """
    if _implicit(sdk):
        return None
    try:
        return to_model_settings(sdk.model_settings, agent=sdk.name)
    except TypeError as exc:
        raise UnsupportedError(f"SDK agent {sdk.name!r}: {exc}") from exc


def _context_of(ctx: Any, agent: str) -> GuardrailContext:
    context = getattr(ctx, "context", None)
    return GuardrailContext(agent=agent, runtime="openai-agents", context=context,
                            state=context if isinstance(context, Mapping) else {})


def sdk_tool_use(agent: Agent) -> Any:
    """Our agent's ``tool_use_behavior`` for the SDK agent."""
    behavior = agent.tool_use_behavior
    if not callable(behavior):
        return behavior
    original = getattr(behavior, SOURCE, None)
    if original is not None:
        return original

    async def decide(ctx: Any, results: list[Any]) -> agents.ToolsToFinalOutputResult:
        ours = [FunctionToolResult(tool=getattr(r.tool, "_agentpatterns_source", r.tool),
                                   output=r.output) for r in results]
        value = behavior(_context_of(ctx, agent.name), ours)
        if inspect.isawaitable(value):
            value = await value
        out = checked(value, agent.name)
        return agents.ToolsToFinalOutputResult(is_final_output=out.is_final_output,
                                               final_output=out.final_output)

    return decide


def our_tool_use(sdk: agents.Agent[Any]) -> Any:
    """An SDK agent's ``tool_use_behavior`` for ours (a function gets SDK arguments)."""
    behavior = sdk.tool_use_behavior
    if not callable(behavior):
        return behavior
    tools = {getattr(t, "name", ""): t for t in sdk.tools}

    async def decide(context: GuardrailContext, results: list[FunctionToolResult]) -> Any:
        from agents.tool import FunctionToolResult as SDKResult

        ctx = sdk_context(context.context)
        sdk_results = [SDKResult(tool=tools.get(r.tool.name, r.tool), output=r.output,
                                 run_item=None) for r in results]
        value = behavior(ctx, sdk_results)
        return await value if inspect.isawaitable(value) else value

    setattr(decide, SOURCE, behavior)
    return decide
