"""Our agents <-> OpenAI Agents SDK agents, and the models they run with.

Building an ``agents.Agent`` costs about half a millisecond (the SDK inspects type hints and
deep-copies default settings in ``__post_init__``), and the SDK slows down quadratically when
many concurrent runs share one ``agents.Agent`` (it tracks every run of an agent in one list).
So each of our agents gets one cached *template* SDK agent, and every run works on shallow
copies of the templates (microseconds each) with fresh handoffs and agents-as-tools wired
between the copies: no two runs share an SDK agent.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import copy
import inspect
import json
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import agents
from agents import ModelSettings
from agents.agent_output import AgentOutputSchema, AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.models.interface import Model
from agents.tool import FunctionTool as SDKFunctionTool
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, SecretStr

from agentpatterns.adapters.openai_agents.behavior import (
    our_model_settings,
    our_tool_use,
    sdk_model_settings,
    sdk_tool_use,
)
from agentpatterns.adapters.openai_agents.bridge import LangChainModel
from agentpatterns.adapters.openai_agents.extract import extractor_back, sdk_extractor
from agentpatterns.adapters.openai_agents.failures import failure_back, sdk_failure
from agentpatterns.adapters.openai_agents.handoffs import (
    default_handoff,
    our_handoff,
    resolve,
    sdk_handoff,
)
from agentpatterns.adapters.openai_agents.hooks import ORIGINALS, sdk_agent_hooks
from agentpatterns.adapters.openai_agents.tools import (
    SOURCE,
    agent_tool_options,
    function_tool_back,
    sdk_approval,
    sdk_context,
    sdk_enabled,
    sdk_function_tool,
    structured_parameters,
)
from agentpatterns.errors import UnsupportedError
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes._text import handoff_tool_name
from agentpatterns.nodes.agent import Agent, _takes_two
from agentpatterns.nodes.context import current_state
from agentpatterns.nodes.models import resolve_model, server_profile
from agentpatterns.nodes.runtime import system_prompt
from agentpatterns.nodes.tools import AgentTool, FunctionTool, HostedTool

__all__ = ["Network", "agent_from_sdk", "build_network", "sdk_model"]



# ------------------------------------------------------------------ models


_BRIDGES: dict[int, tuple[Any, Model]] = {}


def _openai_model(chat: Any) -> Model:
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
    from openai import AsyncOpenAI

    from agentpatterns.nodes.compat import http_clients, profile_for

    profile = server_profile(chat) or profile_for(chat.openai_api_base)
    key = chat.openai_api_key
    secret = key.get_secret_value() if hasattr(key, "get_secret_value") else key
    # the compat transport adapts the requests to the server and keeps one connection pool
    # per event loop: this model is cached and reused by one asyncio.run after another
    client = AsyncOpenAI(
        api_key=secret or "not-needed", base_url=chat.openai_api_base,
        organization=chat.openai_organization, default_headers=chat.default_headers,
        default_query=chat.default_query,
        max_retries=chat.max_retries if chat.max_retries is not None else 2,
        http_client=cast(Any, http_clients(profile)[1]),  # openai takes httpx and httpx2
        **({"timeout": chat.request_timeout} if chat.request_timeout is not None else {}))
    if chat.use_responses_api and profile.responses_api:
        return OpenAIResponsesModel(model=chat.model_name, openai_client=client)
    return OpenAIChatCompletionsModel(model=chat.model_name, openai_client=client)


def sdk_model(model: Any) -> Model:
    """The SDK ``Model`` for a resolved model.

    An ``agents.Model`` is used as is; langchain-openai's ``ChatOpenAI`` becomes the SDK's own
    ``OpenAIChatCompletionsModel`` (``OpenAIResponsesModel`` with ``use_responses_api``) on an
    ``AsyncOpenAI`` client with the same base URL and key; any other LangChain chat model
    (``OfflineModel`` included) is wrapped in :class:`LangChainModel`. One bridge per model
    object, reused by every run.
    """
    if isinstance(model, Model):
        return model
    if not isinstance(model, BaseChatModel):
        raise UnsupportedError(f"model {model!r} is neither an agents.Model nor a LangChain "
                               "chat model")
    hit = _BRIDGES.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    bridged = (_openai_model(model) if type(model).__name__ == "ChatOpenAI"
               and type(model).__module__.startswith("langchain_openai") else
               LangChainModel(model))
    if len(_BRIDGES) > 256:
        _BRIDGES.clear()
    _BRIDGES[id(model)] = (model, bridged)
    return bridged


def model_for(agent: Agent, run_model: Any) -> tuple[Model, ModelSettings | None]:
    """The SDK model an agent runs with (run's ``model=`` first, as on LangGraph)."""
    if isinstance(run_model, Model):
        return run_model, None
    if run_model is None and isinstance(agent.model, Model):
        return agent.model, None
    resolved = resolve_model(run_model, agent.model)
    settings = None
    if type(resolved).__name__ == "ChatOpenAI":
        # the same per-call limits as on LangGraph
        given = {"temperature": getattr(resolved, "temperature", None),
                 "max_tokens": getattr(resolved, "max_tokens", None)}
        given = {k: v for k, v in given.items() if v is not None}
        settings = ModelSettings(**given) if given else None
    return sdk_model(resolved), settings


# ------------------------------------------------------------------ tools


def output_text(value: Any) -> str:
    """An agent's final output as tool-result text (``output_type`` models as JSON)."""
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json"))
    return value if isinstance(value, str) else json.dumps(value, default=str)


# ------------------------------------------------------------------ templates and networks


def _instructions(agent: Agent) -> Any:
    if not callable(agent.instructions):
        return system_prompt(agent, {})

    def dynamic(ctx: Any, _sdk_agent: Any) -> str:
        # (ctx, agent) functions get the SDK's ctx, whose context is the caller's object;
        # one-argument ones the run state ({"input": ...}, set by Run.run)
        instructions: Any = agent.instructions
        if _takes_two(instructions):
            return str(instructions(ctx, agent))
        state = current_state() or (ctx.context if isinstance(ctx.context, Mapping) else {})
        return system_prompt(agent, state)

    return dynamic


_TEMPLATES: weakref.WeakKeyDictionary[Agent, agents.Agent[Any]] = weakref.WeakKeyDictionary()


def _template(agent: Agent) -> agents.Agent[Any]:
    cached = _TEMPLATES.get(agent)
    if cached is not None:
        return cached
    from agentpatterns.adapters.openai_agents.guardrails import to_sdk_guardrails

    input_guardrails, output_guardrails = to_sdk_guardrails(agent)
    sdk: agents.Agent[Any] = agents.Agent(
        name=agent.name, instructions=_instructions(agent),
        handoff_description=agent.handoff_description, output_type=agent.output_type,
        tools=[sdk_function_tool(t) if isinstance(t, FunctionTool) else t.source
               for t in agent.tools if isinstance(t, FunctionTool | HostedTool)],
        mcp_servers=list(agent.mcp_servers),  # untouched, with their config
        mcp_config=cast(Any, dict(agent.mcp_config)),
        input_guardrails=input_guardrails, output_guardrails=output_guardrails,
        tool_use_behavior=sdk_tool_use(agent), reset_tool_choice=agent.reset_tool_choice,
        hooks=sdk_agent_hooks(agent.hooks))
    settings = sdk_model_settings(agent)
    if settings is not None:
        object.__setattr__(sdk, "model_settings", settings)
    object.__setattr__(sdk, SOURCE, agent)
    _TEMPLATES[agent] = sdk
    return sdk


def _copy(template: agents.Agent[Any]) -> agents.Agent[Any]:
    # a shallow copy skips the SDK's costly __post_init__; the lists are replaced right after
    clone = copy.copy(template)
    object.__setattr__(clone, "tools", list(template.tools))
    object.__setattr__(clone, "handoffs", [])
    return clone


@dataclass
class Network:
    """The SDK agents of one run, by our agent names (strong references for the run).

    Attributes:
        by_name: The SDK agent per agent name (handoffs wired when asked for).
        tool_agents: Agent-as-tool tool name -> the wrapped agent's name, per caller.
    """

    by_name: dict[str, agents.Agent[Any]] = field(default_factory=dict)
    tool_agents: dict[tuple[str, str], str] = field(default_factory=dict)
    #: stand-in SDK agents for handoffs to nested patterns, by pattern name (see
    #: :class:`~agentpatterns.adapters.openai_agents.guard.EnterPattern`)
    doors: dict[str, agents.Agent[Any]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> agents.Agent[Any]:
        return self.by_name[name]


def _handoff_description(target: Agent | Pattern) -> str:
    # what the LangGraph runtime offers, so both runtimes show the model the same tool
    return target.handoff_description or f"Handoff to the {target.name} agent"


def _door(net: Network, pattern: Pattern) -> agents.Agent[Any]:
    """The stand-in SDK agent a handoff to the nested ``pattern`` goes to."""
    from agentpatterns.adapters.openai_agents.guard import DoorModel

    door = net.doors.get(pattern.name)
    if door is None:
        door = net.doors[pattern.name] = agents.Agent(
            name=pattern.name, handoff_description=pattern.description,
            model=DoorModel(pattern.name))
    return door


def build_network(
    roots: Iterable[Agent], *, run_model: Any = None, handoffs: bool = True,
    hooks: Any = None, extract: Callable[[Any], Any] | None = None, guard: Any = None,
    pattern_tool: Callable[[AgentTool, str], Any] | None = None,
    on_stream: Callable[[Any], Any] | None = None,
) -> Network:
    """Fresh SDK agents for ``roots`` and every agent they reach (handoffs, agents-as-tools).

    Args:
        roots: Our agents to start from.
        run_model: The run's ``model=`` (overrides every agent's model).
        handoffs: Wire handoffs between the agents (False: every agent answers by itself,
            as in the fresh turns of reflection, parallel, supervisor workers...).
        hooks: ``RunHooks`` given to the nested runs of agents used as tools.
        extract: Custom output extractor for agents-as-tools (records nested runs).
        guard: The run's ``RunGuard`` (budget, retry, unknown names): every agent's model
            is wrapped by ``guard.wrap(name, model)``.
        pattern_tool: ``pattern_tool(tool, caller)``: the SDK tool for a pattern used as a
            tool (``pattern.as_tool``) by agent ``caller``; without it such a tool is refused.
        on_stream: ``as_tool(on_stream=)`` of every agent used as a tool: its run is
            streamed to it (a streamed run reports the inner agent's turn and calls).

    Raises:
        UnsupportedError: A pattern used as a tool and no ``pattern_tool``.
    """
    from agentpatterns.graphs.pattern import collect_agents

    ours = collect_agents(list(roots))
    net = Network()
    for agent in ours:
        clone = _copy(_template(agent))
        model, settings = model_for(agent, run_model)
        if isinstance(model, LangChainModel):
            model = model.for_agent(agent.name)
        if guard is not None:
            model = guard.wrap(agent.name, model)
        object.__setattr__(clone, "model", model)
        if settings is not None:
            object.__setattr__(clone, "model_settings", sdk_model_settings(agent, settings))
        net.by_name[agent.name] = clone
    # an agent used as a tool answers the task it is given; its handoffs are not followed
    tool_variant: dict[str, agents.Agent[Any]] = {}
    for agent in ours:
        if handoffs and agent.handoffs and any(
                isinstance(t, AgentTool) and t.agent is agent for a in ours for t in a.tools):
            variant = _copy(net.by_name[agent.name])
            object.__setattr__(variant, "model", net.by_name[agent.name].model)
            tool_variant[agent.name] = variant
    for agent in ours:
        clone = net.by_name[agent.name]
        if handoffs:
            clone.handoffs.extend(
                sdk_handoff(agent.handoff_options.get(t.name),
                            _door(net, t) if isinstance(t, Pattern) else net.by_name[t.name],
                            handoff_tool_name(t.name), _handoff_description(t))
                for t in agent.handoffs)
        for tool in agent.tools:
            if isinstance(tool, AgentTool) and isinstance(tool.agent, Pattern):
                if pattern_tool is None:
                    raise UnsupportedError(
                        f"agent {agent.name!r} uses pattern {tool.agent.name!r} as the tool "
                        f"{tool.name!r}; a pattern is not an SDK agent: run the composition "
                        "with run_sdk(...), which runs it inside the tool call")
                clone.tools.append(pattern_tool(tool, agent.name))
                net.tool_agents[(agent.name, tool.name)] = tool.agent.name
            elif isinstance(tool, AgentTool):
                target = tool_variant.get(tool.agent.name) or net.by_name[tool.agent.name]
                # failure_error_function=None: a failing (or guardrail-stopped) agent used as
                # a tool fails the run, as on LangGraph, instead of becoming a tool message
                sdk_tool = target.as_tool(tool_name=tool.name, tool_description=tool.description,
                                          custom_output_extractor=sdk_extractor(tool, extract),
                                          hooks=hooks,
                                          failure_error_function=sdk_failure(tool),
                                          needs_approval=tool.needs_approval,
                                          is_enabled=tool.is_enabled, max_turns=tool.max_turns,
                                          on_stream=on_stream,
                                          **structured_parameters(tool))
                object.__setattr__(sdk_tool, SOURCE, tool)
                clone.tools.append(sdk_tool)
                net.tool_agents[(agent.name, tool.name)] = tool.agent.name
        object.__setattr__(clone, "tools", [_checked(t, agent.name, guard) for t in clone.tools])
    for name, variant in tool_variant.items():
        object.__setattr__(variant, "tools", list(net.by_name[name].tools))
    return net


def _checked(tool: Any, caller: str, guard: Any) -> Any:
    """``tool`` reading the model's arguments as LangGraph does (``guard.checked_tool``):
    every function tool of a run; an imported SDK tool only in a guarded run (an exported
    agent, ``to_sdk_agent``, keeps the SDK tool as it is)."""
    from agentpatterns.adapters.openai_agents.guard import checked_tool

    if not isinstance(tool, SDKFunctionTool):
        return tool  # hosted tools: the server runs them
    source = getattr(tool, SOURCE, None)
    if isinstance(source, FunctionTool | AgentTool):
        return checked_tool(tool, caller, guard, source.parse_arguments)
    return checked_tool(tool, caller, guard) if guard is not None else tool


# ------------------------------------------------------------------ SDK agents -> ours


def _unsupported(agent: agents.Agent[Any], what: str, fix: str) -> UnsupportedError:
    return UnsupportedError(f"SDK agent {agent.name!r}: {what} cannot be mapped to an "
                            f"agentpatterns Agent; {fix}")


def _our_model(agent: agents.Agent[Any]) -> Any:
    model = agent.model
    if model is None:
        return None
    if isinstance(model, str):
        return model if ":" in model else f"openai:{model}"
    if isinstance(model, LangChainModel):
        return model.model
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel

    if isinstance(model, OpenAIChatCompletionsModel | OpenAIResponsesModel):
        from langchain_openai import ChatOpenAI

        client = model._client
        return ChatOpenAI(model=str(model.model), base_url=str(client.base_url),
                          api_key=SecretStr(client.api_key),
                          use_responses_api=isinstance(model, OpenAIResponsesModel))
    raise _unsupported(agent, f"model {type(model).__name__}",
                       "use a model name, LangChainModel or an OpenAI model")


def _instructions_back(agent: agents.Agent[Any]) -> Any:
    text = agent.instructions
    if text is None or isinstance(text, str):
        return text  # as written: no prefix is added on either runtime
    if inspect.iscoroutinefunction(text) or inspect.iscoroutinefunction(
            getattr(text, "__call__", None)):  # noqa: B004 - async callable instances too
        raise _unsupported(agent, "async dynamic instructions",
                           "make the instructions function synchronous")

    def dynamic(ctx: Any, _agent: Any) -> str:
        # (ctx, agent): the SDK function gets an SDK context around the run's context=
        # object, and the SDK agent, on either runtime
        return str(text(sdk_context(ctx.context), agent))

    return dynamic


def _output_type_back(agent: agents.Agent[Any]) -> Any:
    """The SDK agent's ``output_type`` for ours: text stays text, and a type becomes the SDK's
    own ``AgentOutputSchema`` (strict schema, ``{"response": ...}`` wrapping, strict
    validation), so LangGraph asks for and reads the answer exactly as the SDK does."""
    out = agent.output_type
    if out is None or out is str or isinstance(out, AgentOutputSchemaBase):
        return out
    try:
        return AgentOutputSchema(out)
    except Exception as exc:  # the SDK's own error, e.g. a type with no strict schema
        raise _unsupported(agent, f"output_type {out!r} ({exc})",
                           "wrap it as AgentOutputSchema(T, strict_json_schema=False)") from exc


def _check(agent: agents.Agent[Any]) -> None:
    for guardrail in [*agent.input_guardrails, *agent.output_guardrails]:
        if not callable(getattr(guardrail, "guardrail_function", None)):
            raise _unsupported(agent, f"guardrail {guardrail!r} (no guardrail_function)",
                               "use agents.InputGuardrail / OutputGuardrail objects")
    if agent.prompt is not None:
        raise _unsupported(agent, "a Responses prompt template", "use instructions")


def _handoff_target(agent: agents.Agent[Any], item: Any) -> agents.Agent[Any]:
    if isinstance(item, agents.Agent):
        return item
    if isinstance(item, Handoff):
        target = item._agent_ref() if item._agent_ref is not None else None
        if isinstance(target, agents.Agent):
            return target
        raise _unsupported(agent, f"handoff {item.tool_name!r} (its agent is not reachable)",
                           "build it with agents.handoff(agent)")
    raise _unsupported(agent, f"handoff {item!r}", "hand off to an agents.Agent")


def _guardrails_back(sdk: agents.Agent[Any], kind: str) -> list[Any]:
    """SDK guardrails for our ``Agent`` (it takes SDK guardrail objects as they are); the
    ones ``to_sdk_agent`` made from ours give our originals back."""
    from agentpatterns.adapters.openai_agents.guardrails import AGENT

    source = getattr(sdk, SOURCE, None)
    made_here = [g for g in getattr(sdk, kind) if hasattr(g, AGENT)]
    if made_here and isinstance(source, Agent):
        theirs = [g for g in getattr(sdk, kind) if not hasattr(g, AGENT)]
        return [*getattr(source, kind), *theirs]
    return list(getattr(sdk, kind))


def _tool_options(sdk: agents.Agent[Any], tool: SDKFunctionTool) -> dict[str, Any]:
    """The as_tool options of an imported agent tool (its extractor made ours)."""
    options = agent_tool_options(sdk, tool)
    options["custom_output_extractor"] = extractor_back(
        tool._agent_instance, options.get("custom_output_extractor"))
    return options


def agent_from_sdk(entry: agents.Agent[Any]) -> Agent:
    """Our ``Agent`` network for an SDK agent network (handoffs, agents-as-tools, tools).

    Raises:
        UnsupportedError: Guardrails without a function, prompt templates, hooks,
            ``as_tool`` options that cannot be honoured, or a model object that cannot be
            mapped (and what the construct table lists as refused) - naming it.
    """
    source = getattr(entry, SOURCE, None)
    order: list[agents.Agent[Any]] = []
    seen: set[int] = set()
    todo = [entry]
    while todo:
        sdk = todo.pop(0)
        if id(sdk) in seen:
            continue
        seen.add(id(sdk))
        _check(sdk)
        order.append(sdk)
        todo.extend(_handoff_target(sdk, h) for h in sdk.handoffs)
        for tool in sdk.tools:
            if isinstance(tool, SDKFunctionTool) and tool._is_agent_tool:
                if not isinstance(tool._agent_instance, agents.Agent):
                    raise _unsupported(sdk, f"agent tool {tool.name!r} without its agent",
                                       "build it with agent.as_tool(...)")
                todo.append(tool._agent_instance)
    if isinstance(source, Agent) and all(getattr(a, SOURCE, None) is not None for a in order):
        return source  # made by to_sdk_agent: the original agents, unchanged
    ours: dict[int, Agent] = {
        id(sdk): Agent(name=sdk.name, instructions=_instructions_back(sdk),
                       handoff_description=sdk.handoff_description, model=_our_model(sdk),
                       output_type=_output_type_back(sdk),
                       model_settings=our_model_settings(sdk),
                       tool_use_behavior=our_tool_use(sdk),
                       reset_tool_choice=sdk.reset_tool_choice,
                       input_guardrails=_guardrails_back(sdk, "input_guardrails"),
                       output_guardrails=_guardrails_back(sdk, "output_guardrails"),
                       mcp_servers=list(sdk.mcp_servers), mcp_config=dict(sdk.mcp_config),
                       hooks=sdk.hooks)
        for sdk in order}
    for sdk in order:  # what SDK hooks are shown for our agent on either runtime
        ORIGINALS[ours[id(sdk)]] = sdk
    for sdk in order:
        tools: list[Any] = []
        for tool in sdk.tools:
            if not isinstance(tool, SDKFunctionTool):
                # hosted tools: kept for the SDK runtime; LangGraph refuses them by name
                tools.append(HostedTool(name=str(getattr(tool, "name", type(tool).__name__)),
                                        source=tool))
            elif tool._is_agent_tool:
                tools.append(AgentTool(agent=ours[id(tool._agent_instance)], name=tool.name,
                                       description=tool.description,
                                       needs_approval=sdk_approval(tool.needs_approval),
                                       is_enabled=sdk_enabled(tool.is_enabled, sdk),
                                       failure_error_function=failure_back(tool),
                                       **_tool_options(sdk, tool)))
            else:
                tools.append(function_tool_back(sdk, tool))
        specs = [resolve(our_handoff(sdk, h) or default_handoff(_handoff_target(sdk, h)), ours)
                 for h in sdk.handoffs]
        # two-phase build so handoff cycles (A -> B -> A) can be expressed
        object.__setattr__(ours[id(sdk)], "handoffs", tuple(h.agent for h in specs))
        object.__setattr__(ours[id(sdk)], "handoff_options", {h.agent.name: h for h in specs})
        object.__setattr__(ours[id(sdk)], "tools", tuple(tools))
    return ours[id(entry)]
