"""Tools across the two runtimes: ours as SDK ``FunctionTool`` s, the SDK's as ours.

* Our ``FunctionTool`` on the SDK runtime: an SDK ``FunctionTool`` with the same name,
  description, JSON schema and ``needs_approval``, calling our function (with a
  ``ToolContext`` first when it takes one).
* An SDK ``FunctionTool`` imported to LangGraph (``from_sdk_agent``): our ``FunctionTool``
  whose ``on_invoke`` is the SDK tool's own ``on_invoke_tool`` - the SDK's argument
  validation, defaults, error messages and output conversion stay as they are - called with
  an SDK ``ToolContext`` whose ``context`` is the run's ``context=`` object. On the SDK
  runtime the original SDK tool object runs, untouched.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
from typing import Any

import agents
from agents.run_context import RunContextWrapper as SDKRunContextWrapper
from agents.strict_schema import ensure_strict_json_schema
from agents.tool import FunctionTool as SDKFunctionTool
from agents.tool_context import ToolContext as SDKToolContext
from agents.tool_guardrails import ToolInputGuardrailData, ToolOutputGuardrailData
from pydantic import BaseModel, ConfigDict, create_model

from agentpatterns.errors import AgentPatternsError, RunError, UnsupportedError
from agentpatterns.nodes.context import ToolContext, current_context
from agentpatterns.nodes.journal import idempotency_key
from agentpatterns.nodes.tools import (
    FunctionTool,
    ToolArgumentsError,
    failure_message,
    tool_output_text,
)

__all__ = [
    "ORIGINAL",
    "SOURCE",
    "ToolInputGuardrailTripped",
    "ToolOutputGuardrailTripped",
    "agent_tool_options",
    "function_tool_back",
    "sdk_approval",
    "sdk_context",
    "sdk_enabled",
    "structured_parameters",
    "sdk_function_tool",
]

#: attribute set on SDK objects made from ours, so ``from_sdk_agent`` gets the originals back
SOURCE = "_agentpatterns_source"
#: attribute set on per-run copies of SDK tools: the tool they copy
ORIGINAL = "_agentpatterns_original"


class ToolInputGuardrailTripped(agents.ToolInputGuardrailTripwireTriggered, RunError):
    """A tool input guardrail raised on LangGraph: the run stops, as with the SDK (catch it
    as ``agents.ToolInputGuardrailTripwireTriggered``)."""


class ToolOutputGuardrailTripped(agents.ToolOutputGuardrailTripwireTriggered, RunError):
    """A tool output guardrail raised on LangGraph (catch it as
    ``agents.ToolOutputGuardrailTripwireTriggered``)."""


def sdk_context(context: Any) -> SDKRunContextWrapper[Any]:
    """An SDK ``RunContextWrapper`` around the run's ``context=`` object, for SDK callables
    (dynamic instructions, guardrails, hooks, ``on_handoff``...) run on LangGraph."""
    return SDKRunContextWrapper(context=context)


def _is_strict(schema: dict[str, Any]) -> bool:
    try:
        return ensure_strict_json_schema(copy.deepcopy(schema)) == schema
    except Exception:
        return False


def sdk_function_tool(tool: FunctionTool) -> SDKFunctionTool:
    """Our ``FunctionTool`` on the SDK runtime (an imported SDK tool: the original).

    The SDK tool validates the model's arguments with our ``parse_arguments`` and calls our
    function (sync or async); errors come back to the model as text, worded as on LangGraph.
    """
    if isinstance(tool.source, SDKFunctionTool):
        return tool.source

    async def invoke(ctx: SDKToolContext[Any], raw: str) -> str:
        try:
            kwargs = tool.parse_arguments(raw)
        except ToolArgumentsError as exc:
            return f"Error: {exc}. Call it again with valid arguments."
        ours = ToolContext(context=ctx.context, tool_name=tool.name,
                           tool_call_id=ctx.tool_call_id, tool_arguments=raw,
                           agent=getattr(getattr(ctx, "agent", None), "name", "") or "",
                           idempotency_key=idempotency_key())
        try:
            value = tool.invoke(ours, kwargs, raw)
            if inspect.isawaitable(value):
                value = await value
        except AgentPatternsError:
            raise
        except Exception as exc:  # as on LangGraph: the tool's failure_error_function
            value = failure_message(tool, ours, exc)  # None: raises ToolRunError
            if inspect.isawaitable(value):
                value = await value
        return tool_output_text(value)

    schema = copy.deepcopy(tool.params_json_schema)
    sdk = SDKFunctionTool(name=tool.name, description=tool.description, params_json_schema=schema,
                          on_invoke_tool=invoke, strict_json_schema=_is_strict(schema),
                          needs_approval=tool.needs_approval, is_enabled=tool.is_enabled)
    object.__setattr__(sdk, SOURCE, tool)
    return sdk


def _args_model(tool: SDKFunctionTool) -> type[BaseModel]:
    # documentation only: an imported tool's arguments are validated by the SDK tool itself
    model: type[BaseModel] = create_model(f"{tool.name}_args",
                                          __config__=ConfigDict(extra="allow"))
    return model


#: ``as_tool`` options the LangGraph runtime cannot honour for an imported agent tool
_AS_TOOL_REFUSED = ("hooks", "session",
                    "previous_response_id", "conversation_id", "on_stream", "input_builder")


def agent_tool_options(agent: agents.Agent[Any], tool: SDKFunctionTool) -> dict[str, Any]:
    """The ``Agent.as_tool`` options of an SDK agent tool that we honour: ``max_turns``,
    ``custom_output_extractor`` (the SDK function; made ours by the caller), ``run_config``
    (tracing settings only) and structured input (``parameters``, ``include_input_schema``:
    the SDK's schema, and the task text made by the SDK's own default builder).

    The SDK keeps them in the tool's invoker (a closure), read here by name; this is tested
    against the SDK versions we support.

    Raises:
        UnsupportedError: An option the LangGraph runtime cannot honour (``hooks``,
            ``session``, ``input_builder``, a ``run_config`` field other than tracing, ...),
            or an SDK whose agent tools cannot be read - naming it.
    """
    impl = getattr(tool.on_invoke_tool, "_invoke_tool_impl", tool.on_invoke_tool)
    code, cells = getattr(impl, "__code__", None), getattr(impl, "__closure__", None)
    where = f"SDK agent {agent.name!r}: agent tool {tool.name!r}"
    if code is None or cells is None or "max_turns" not in code.co_freevars:
        raise UnsupportedError(f"{where}: its as_tool options cannot be read from this SDK "
                               "version; build it with agent.as_tool(tool_name, tool_description)")
    options = dict(zip(code.co_freevars, (c.cell_contents for c in cells), strict=True))
    for key in _AS_TOOL_REFUSED:
        if options.get(key) is not None:
            raise UnsupportedError(f"{where}: as_tool({key}=...) cannot be mapped to an "
                                   "agentpatterns agent tool; remove it, or run the SDK agent "
                                   "with agents.Runner")
    _check_run_config(where, options.get("run_config"))
    out: dict[str, Any] = {"max_turns": options.get("max_turns"), "source": tool,
                           "custom_output_extractor": options.get("custom_output_extractor")}
    if options.get("should_capture_tool_input"):
        out["input_schema"] = copy.deepcopy(tool.params_json_schema)
        out["make_input"] = _structured_input(options["params_adapter"],
                                              options.get("schema_info"))
    return out


#: RunConfig fields an agent tool's nested run may set: tracing only (neither runtime traces)
_RUN_CONFIG_TRACING = frozenset({"tracing_disabled", "tracing", "trace_include_sensitive_data",
                                 "workflow_name", "trace_id", "group_id", "trace_metadata"})


def _check_run_config(where: str, config: Any) -> None:
    """``as_tool(run_config=)``: its tracing settings are honoured (both runtimes run the
    nested agent untraced); any other field set is refused by name.

    Raises:
        UnsupportedError: A field other than tracing differs from ``RunConfig()``'s.
    """
    if config is None:
        return
    default = agents.RunConfig()
    for f in dataclasses.fields(config):
        if f.name.startswith("_") or f.name in _RUN_CONFIG_TRACING:
            continue
        value, usual = getattr(config, f.name), getattr(default, f.name)
        if value is usual or value == usual or (
                f.default is dataclasses.MISSING and type(value) is type(usual)
                and not isinstance(value, list | dict | set | tuple)):
            continue  # as RunConfig() has it (a factory-made default, e.g. the provider)
        raise UnsupportedError(
            f"{where}: as_tool(run_config=RunConfig({f.name}=...)) cannot be mapped to an "
            "agentpatterns agent tool (only tracing settings can); set it on the nested "
            "agent instead (its model, model_settings, guardrails), or run the SDK agent "
            "with agents.Runner")


def _structured_input(adapter: Any, info: Any) -> Any:
    """``make_input`` for ``as_tool(parameters=T)``: validate as the SDK does, then the
    SDK's own rule (``resolve_agent_tool_input`` with its default builder)."""
    from agents.agent_tool_input import default_tool_input_builder

    def make(args: dict[str, Any]) -> str:
        params = adapter.dump_python(adapter.validate_python(args), mode="json")
        if info is not None and (info.summary or info.json_schema):
            return default_tool_input_builder({"params": params, "summary": info.summary,
                                               "json_schema": info.json_schema})
        return json.dumps(params)

    return make


def structured_parameters(tool: Any) -> dict[str, Any]:
    """``as_tool`` keyword arguments that rebuild an imported agent tool's structured input
    on the SDK runtime (empty for the default single ``input``)."""
    source = getattr(tool, "source", None)
    if getattr(tool, "make_input", None) is None or not isinstance(source, SDKFunctionTool):
        return {}
    impl: Any = getattr(source.on_invoke_tool, "_invoke_tool_impl", source.on_invoke_tool)
    options = dict(zip(impl.__code__.co_freevars,
                       (c.cell_contents for c in impl.__closure__ or ()), strict=True))
    info = options.get("schema_info")
    return {"parameters": options["params_adapter"]._type,
            "include_input_schema": bool(info is not None and info.json_schema)}


def sdk_enabled(setting: Any, sdk_agent: agents.Agent[Any]) -> Any:
    """An SDK ``is_enabled`` for our tools: a function gets an SDK context and the SDK agent."""
    if isinstance(setting, bool) or not callable(setting):
        return setting

    def enabled(ctx: Any, _agent: Any) -> Any:
        return setting(sdk_context(getattr(ctx, "context", None)), sdk_agent)

    return enabled


def sdk_approval(setting: Any) -> Any:
    """An SDK ``needs_approval`` setting for our tools: a function gets an SDK context."""
    if isinstance(setting, bool) or not callable(setting):
        return setting

    def decide(ctx: Any, params: dict[str, Any], call_id: str) -> Any:
        return setting(sdk_context(getattr(ctx, "context", None)), params, call_id)

    return decide


#: FunctionTool fields the SDK's runner (not the tool's invoker) applies, with their defaults
_RUNNER_SIDE = (("timeout_seconds", None), ("defer_loading", False),
                ("custom_data_extractor", None), ("allowed_callers", None),
                ("output_json_schema", None), ("_output_type_adapter", None))


def function_tool_back(agent: agents.Agent[Any], tool: SDKFunctionTool) -> FunctionTool:
    """Our ``FunctionTool`` for an SDK ``FunctionTool`` (see the module docstring).

    Raises:
        UnsupportedError: A field the SDK's runner applies and LangGraph does not
            (``timeout_seconds``, ``defer_loading``, ``custom_data_extractor``,
            ``allowed_callers``, ``output_json_schema`` / ``output_type``), naming it.

    Its tool input/output guardrails run around it as in the SDK: ``reject_content``
    gives the model the message instead, ``raise_exception`` stops the run with
    :class:`ToolInputGuardrailTripped` / :class:`ToolOutputGuardrailTripped` (subclasses of
    the SDK's exceptions).
    """
    source = getattr(tool, SOURCE, None)
    if isinstance(source, FunctionTool):
        return source
    for field_name, default in _RUNNER_SIDE:
        if getattr(tool, field_name, default) != default:
            raise UnsupportedError(
                f"SDK agent {agent.name!r}: {field_name} of tool {tool.name!r} is applied by "
                "the SDK's runner, which the LangGraph runtime does not replicate; remove it, "
                "or run the SDK agent with agents.Runner")

    async def invoke(ctx: ToolContext[Any], raw: str) -> Any:
        sdk_ctx = SDKToolContext(context=ctx.context, tool_name=tool.name,
                                 tool_call_id=ctx.tool_call_id, tool_arguments=raw)
        # the tool's guardrails around it, as the SDK's tool execution runs them
        for check in tool.tool_input_guardrails or ():
            out = await check.run(ToolInputGuardrailData(context=sdk_ctx, agent=agent))
            if out.behavior["type"] == "raise_exception":
                raise ToolInputGuardrailTripped(guardrail=check, output=out)
            if out.behavior["type"] == "reject_content":
                return out.behavior["message"]
        result = await tool.on_invoke_tool(sdk_ctx, raw)
        for guard in tool.tool_output_guardrails or ():
            out = await guard.run(ToolOutputGuardrailData(context=sdk_ctx, agent=agent,
                                                          output=result))
            if out.behavior["type"] == "raise_exception":
                raise ToolOutputGuardrailTripped(guardrail=guard, output=out)
            if out.behavior["type"] == "reject_content":
                return out.behavior["message"]
        return result

    async def call(**kwargs: Any) -> Any:  # ``tool.fn(**args)`` works as for our own tools
        raw = json.dumps(kwargs)
        return await invoke(ToolContext(context=current_context(), tool_name=tool.name,
                                        tool_call_id=f"call_{tool.name}", tool_arguments=raw),
                            raw)

    call.__name__ = tool.name
    return FunctionTool(name=tool.name, description=tool.description,
                        params_json_schema=copy.deepcopy(tool.params_json_schema), fn=call,
                        args_model=_args_model(tool),
                        needs_approval=sdk_approval(tool.needs_approval), on_invoke=invoke,
                        is_enabled=sdk_enabled(tool.is_enabled, agent), source=tool,
                        # the SDK tool's invoker applies its own failure_error_function: what
                        # escapes it (its policy is None) stops the run, as in the SDK
                        failure_error_function=None)
