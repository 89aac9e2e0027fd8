"""Tools: typed Python functions and agents used as tools."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_type_hints, overload

from pydantic import BaseModel, ValidationError, create_model

if TYPE_CHECKING:
    from agentpatterns.nodes.agent import Agent

__all__ = [
    "DEFAULT_FAILURE",
    "AgentToolRun",
    "SDK_TOOL_ERROR",
    "AgentTool",
    "ApprovalSetting",
    "FunctionTool",
    "HostedTool",
    "Tool",
    "ToolArgumentsError",
    "failure_message",
    "function_tool",
    "read_arguments",
    "tool_output_text",
]

#: ``needs_approval=``: a bool, or the SDK's ``(ctx, params, call_id) -> bool`` (may be async)
ApprovalSetting = bool | Callable[..., Any]
#: names of the annotations that mark a tool's first parameter as the run context (ours or
#: the SDK's classes of the same names)
_CONTEXT_TYPES = frozenset({"RunContextWrapper", "ToolContext"})


class _DefaultFailure:
    def __repr__(self) -> str:
        return "DEFAULT_FAILURE"


#: ``failure_error_function=`` left as it is: a failing tool (or agent used as a tool)
#: becomes an error message for the model, as the SDK's default does (worded
#: ``Error running tool 'name': Type: message``)
DEFAULT_FAILURE: Any = _DefaultFailure()
#: what the model gets when an agent used as a tool fails and its tool keeps the default
#: (the SDK's ``default_tool_error_function``, word for word)
SDK_TOOL_ERROR = "An error occurred while running the tool. Please try again."


def failure_message(tool: Any, ctx: Any, exc: Exception) -> Any:
    """What the model gets when ``tool`` raised ``exc`` - the SDK's ``failure_error_function``
    rule: the default message, a function's ``(ctx, error)`` answer (maybe awaitable), or,
    for ``None``, the run stops: our errors and the SDK's as raised, anything else as
    ``ToolRunError("Error running tool <name>: ...")`` (an ``agents.UserError``, as the SDK).

    Raises:
        ToolRunError: ``failure_error_function=None``.
    """
    policy = getattr(tool, "failure_error_function", DEFAULT_FAILURE)
    if policy is DEFAULT_FAILURE:
        if isinstance(tool, AgentTool):
            return SDK_TOOL_ERROR
        return f"Error running tool {tool.name!r}: {type(exc).__name__}: {exc}"
    if policy is None:
        from agentpatterns.errors import AgentPatternsError, ToolRunError

        if isinstance(exc, AgentPatternsError) or type(exc).__module__.startswith("agents."):
            raise exc
        raise ToolRunError(f"Error running tool {tool.name}: {exc}") from exc
    return policy(ctx, exc)


def tool_output_text(value: Any) -> str:
    """A tool's return value as the text the model gets - the SDK's rule: a ``str`` as it
    is, anything else through ``str()``."""
    return value if isinstance(value, str) else str(value)


def _check_approval(value: Any, where: str) -> None:
    if isinstance(value, bool) or callable(value):
        return
    raise TypeError(f"{where}: needs_approval={value!r}; pass True, False or a function "
                    "(ctx, params, call_id) -> bool")


def _check_failure(value: Any, where: str) -> None:
    if value is None or value is DEFAULT_FAILURE or callable(value):
        return
    raise TypeError(f"{where}: failure_error_function={value!r}; pass a function "
                    "(ctx, error) -> str, or None to let the run fail")


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool were not valid JSON or did not match the schema."""


def read_arguments(name: str, raw: Any) -> dict[str, Any]:
    """The model's arguments for tool (or handoff) ``name``, read as LangChain reads them -
    so both runtimes accept the same replies: empty arguments are ``{}``, and raw control
    characters inside JSON strings (a newline a small model wrote) are accepted.

    Raises:
        ToolArgumentsError: Not JSON, or not a JSON object.
    """
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw, strict=False)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(f"arguments for {name!r} are not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ToolArgumentsError(f"arguments for {name!r} must be a JSON object")
    return raw


@dataclass(frozen=True, kw_only=True)
class FunctionTool:
    """A Python function the model can call.

    Attributes:
        name: The name the model sees.
        description: What the tool does (the function's docstring summary by default).
        params_json_schema: JSON schema of the arguments.
        fn: The function (sync or async).
        args_model: Pydantic model that validates the arguments.
        needs_approval: A person must approve each call before it runs: ``True``, or a
            function ``(ctx, params, call_id) -> bool`` (sync or async) deciding per call,
            as in the SDK. The run stops before the tool runs (see ``Runner.resume``).
        takes_context: ``fn``'s first parameter is a :class:`~agentpatterns.nodes.context.
            ToolContext` (annotated ``RunContextWrapper`` or ``ToolContext``).
        on_invoke: Instead of ``fn``: ``(tool_context, raw_json) -> result`` gets the model's
            arguments as sent (tools imported from the SDK keep the SDK's own validation).
        source: The object this tool was made from (an SDK ``FunctionTool`` when imported).
    """

    name: str
    description: str
    params_json_schema: dict[str, Any]
    fn: Callable[..., Any] = field(repr=False)
    args_model: type[BaseModel] = field(repr=False)
    needs_approval: ApprovalSetting = False
    takes_context: bool = False
    on_invoke: Callable[[Any, str], Any] | None = field(default=None, repr=False)
    source: Any = field(default=None, repr=False, compare=False)
    #: offered to the model: ``True``/``False``, or the SDK's ``(ctx, agent) -> bool`` asked
    #: before every model call (a disabled tool is hidden, as in the SDK)
    is_enabled: bool | Callable[..., Any] = True
    #: when the tool raises: :data:`DEFAULT_FAILURE` (an error message for the model), a
    #: function ``(ctx, error) -> str`` (its message) or ``None`` (the run stops); see
    #: :func:`failure_message`. Imported SDK tools apply their own inside their invoker.
    failure_error_function: Any = field(default=DEFAULT_FAILURE, repr=False)

    def __post_init__(self) -> None:
        _check_approval(self.needs_approval, f"function_tool {self.name!r}")
        _check_failure(self.failure_error_function, f"function_tool {self.name!r}")

    def invoke(self, ctx: Any, args: dict[str, Any], raw: str) -> Any:
        """Call the tool (the result may be awaitable).

        Args:
            ctx: The call's ``ToolContext`` (passed when the tool takes one).
            args: The validated arguments.
            raw: The arguments as the model sent them (JSON text).
        """
        if self.on_invoke is not None:
            return self.on_invoke(ctx, raw)
        if self.takes_context:
            return self.fn(ctx, **args)
        return self.fn(**args)

    def parse_arguments(self, raw: str | dict[str, Any] | None) -> dict[str, Any]:
        """Validate raw model arguments into keyword arguments for ``fn``.

        Raises:
            ToolArgumentsError: The arguments are malformed JSON or do not fit the schema.
        """
        raw = read_arguments(self.name, raw)
        if self.on_invoke is not None:  # the invoker validates them (an imported SDK tool)
            return raw
        try:
            parsed = self.args_model.model_validate(raw)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ToolArgumentsError(f"arguments for {self.name!r} do not fit: {detail}") from exc
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI function-tool dict (what ``bind_tools`` accepts)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.params_json_schema,
            },
        }


@dataclass(frozen=True, kw_only=True)
class AgentToolRun:
    """What an agent tool's ``custom_output_extractor`` gets: the nested run, under the
    SDK's ``RunResult`` names.

    Attributes:
        input: The task the agent was given.
        final_output: Its final output (typed, as its ``output_type``).
        last_agent: The agent.
        new_messages: Its turn's messages (model replies, tool calls and results).
        tool_name: The tool that ran it; ``tool_call_id``, ``tool_arguments``: the call.
    """

    input: str
    final_output: Any
    last_agent: Any
    new_messages: list[Any] = field(default_factory=list)
    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""

    @property
    def new_items(self) -> list[dict[str, Any]]:
        """The turn as SDK input items."""
        from agentpatterns.nodes.items import messages_to_items

        return messages_to_items(self.new_messages)

    def to_input_list(self) -> list[dict[str, Any]]:
        """The task and the turn as SDK input items (the SDK's ``to_input_list()``)."""
        return [{"role": "user", "content": self.input}, *self.new_items]


@dataclass(frozen=True, kw_only=True)
class AgentTool:
    """An agent used as a tool by another agent (``agent.as_tool(...)``).

    The calling agent's node runs the wrapped agent (its own instructions, its own model
    call) with the tool's ``input`` argument and gets its final output back.
    """

    agent: Agent
    name: str
    description: str
    needs_approval: ApprovalSetting = False
    #: as for ``FunctionTool.is_enabled``
    is_enabled: bool | Callable[..., Any] = True
    #: bound on the wrapped agent's model calls (default: the turn's own bound)
    max_turns: int | None = None
    #: structured input (the SDK's ``as_tool(parameters=...)``): the schema the model sees,
    #: and ``make_input(args) -> str``, the task text for the agent (raises on bad args)
    input_schema: dict[str, Any] | None = field(default=None, repr=False)
    make_input: Callable[[dict[str, Any]], str] | None = field(default=None, repr=False)
    #: the object this tool was made from (an SDK agent tool when imported)
    source: Any = field(default=None, repr=False, compare=False)
    #: when the agent's run fails (an error of its turn): as ``FunctionTool``'s; a guardrail
    #: that trips inside it stops the run unless a function is given (then, as in the SDK,
    #: the function gets the tripwire error and its message goes to the model)
    failure_error_function: Any = field(default=DEFAULT_FAILURE, repr=False)
    #: ``(run: AgentToolRun) -> str`` (sync or async): the tool's output made from the
    #: nested run, as the SDK's ``as_tool(custom_output_extractor=)`` (default: its output)
    custom_output_extractor: Callable[[Any], Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_approval(self.needs_approval, f"agent tool {self.name!r}")
        _check_failure(self.failure_error_function, f"agent tool {self.name!r}")

    def task_of(self, args: dict[str, Any]) -> str:
        """The task text the wrapped agent starts on, for validated arguments."""
        return self.make_input(args) if self.make_input is not None else str(args["input"])

    @property
    def params_json_schema(self) -> dict[str, Any]:
        """Schema of the arguments: a single ``input`` (as the SDK's ``Agent.as_tool``), or
        the structured input's."""
        if self.input_schema is not None:
            return self.input_schema
        return {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The task for the agent"}},
            "required": ["input"],
            "additionalProperties": False,
        }

    def parse_arguments(self, raw: str | dict[str, Any] | None) -> dict[str, Any]:
        """Validate the model's arguments: an object with a string ``input``."""
        if isinstance(raw, str):
            raw = read_arguments(self.name, raw)
        if self.make_input is not None:
            if not isinstance(raw, dict):
                raise ToolArgumentsError(f"arguments for {self.name!r} must be a JSON object")
            try:
                self.make_input(raw)
            except Exception as exc:
                raise ToolArgumentsError(f"arguments for {self.name!r} do not fit: "
                                         f"{str(exc).splitlines()[0]}") from exc
            return raw
        if not isinstance(raw, dict) or not isinstance(raw.get("input"), str):
            raise ToolArgumentsError(
                f"arguments for {self.name!r} must be an object with a string 'input'"
            )
        return {"input": raw["input"]}

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI function-tool dict."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.params_json_schema,
            },
        }


@dataclass(frozen=True, kw_only=True)
class HostedTool:
    """A tool that runs on the model provider's side - the SDK's ``WebSearchTool``,
    ``FileSearchTool``, ``CodeInterpreterTool``, ``HostedMCPTool``, ... - kept as it is.

    It passes through to the OpenAI Agents SDK runtime untouched. The LangGraph runtime has
    no way to run it: compiling a pattern with one raises ``UnsupportedError`` naming it.

    Attributes:
        name: The tool's name (its type's name when it has none).
        source: The SDK tool object.
    """

    name: str
    source: Any = field(repr=False)

    @property
    def kind(self) -> str:
        """The SDK tool's type name (``"WebSearchTool"``...)."""
        return type(self.source).__name__


Tool = FunctionTool | AgentTool | HostedTool

_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\(.*?\))?\s*:\s*(.+)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Summary and per-argument descriptions from a Google-style docstring."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    current = ""
    for line in lines:
        stripped = line.strip()
        if stripped in {"Args:", "Arguments:", "Parameters:"}:
            section = "args"
            continue
        if re.match(r"^(Returns|Raises|Yields|Example|Examples|Note|Notes):", stripped):
            section = "other"
            continue
        if section == "summary":
            if not stripped and summary:
                section = "body"
            elif stripped:
                summary.append(stripped)
        elif section == "args" and stripped:
            match = _ARG_LINE.match(line)
            if match and (line.startswith("    ") or not line.startswith(" ")):
                current = match.group(1).lstrip("*")
                args[current] = match.group(2).strip()
            elif current:
                args[current] += " " + stripped
    return " ".join(summary), args


def _schema_from_function(
    fn: Callable[..., Any], name: str
) -> tuple[dict[str, Any], type[BaseModel]]:
    hints = get_type_hints(fn)
    signature = inspect.signature(fn)
    _, arg_docs = _parse_docstring(fn.__doc__ or "")
    fields: dict[str, Any] = {}
    for index, (pname, param) in enumerate(signature.parameters.items()):
        if index == 0 and _is_context(hints.get(pname)):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"function_tool {name!r}: *args/**kwargs are not supported; name them")
        annotation = hints.get(pname, str)
        default = ... if param.default is param.empty else param.default
        from pydantic import Field

        fields[pname] = (annotation, Field(default, description=arg_docs.get(pname)))
    model = create_model(f"{name}_args", **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema["additionalProperties"] = False
    return schema, model


def _is_context(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None) or annotation
    return getattr(origin, "__name__", None) in _CONTEXT_TYPES


def _takes_context(fn: Callable[..., Any]) -> bool:
    params = list(inspect.signature(fn).parameters)
    return bool(params) and _is_context(get_type_hints(fn).get(params[0]))


@overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...
@overload
def function_tool(
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    needs_approval: ApprovalSetting = False,
    failure_error_function: Any = DEFAULT_FAILURE,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    needs_approval: ApprovalSetting = False,
    failure_error_function: Any = DEFAULT_FAILURE,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a typed Python function into a tool; the JSON schema comes from its type hints.

    Usable bare (``@function_tool``) or with options, like the OpenAI Agents SDK decorator.

    Args:
        fn: The function (sync or async). Its docstring's summary is the description and its
            ``Args:`` section describes the parameters.
        name_override: Tool name (default: the function's name).
        description_override: Tool description (default: the docstring summary).
        needs_approval: A person must approve each call before it runs: ``True``, or
            ``(ctx, params, call_id) -> bool`` (sync or async), as in the SDK. On both
            runtimes the run stops with the pending calls in ``RunResult.interruption``;
            ``Runner.resume(..., decision=True/False)`` approves or rejects them.
        failure_error_function: When the function raises, as in the SDK: left out, the
            model gets an error message (``Error running tool 'name': Type: message``); a
            function ``(ctx, error) -> str`` (sync or async) gives the message; ``None``
            stops the run (``ToolRunError``, an ``agents.UserError``). Both runtimes.

    A first parameter annotated ``RunContextWrapper`` or ``ToolContext`` (ours from
    :mod:`agentpatterns.nodes.context`, or the SDK's) is not a tool argument: it receives the
    call's context, ``ctx.context`` being the run's ``context=`` object.

    Example:
        >>> @function_tool
        ... def get_weather(city: str) -> str:
        ...     '''Current weather for a city.
        ...
        ...     Args:
        ...         city: The city's name.
        ...     '''
        ...     return f"sunny in {city}"
        >>> get_weather.params_json_schema["properties"]["city"]
        {'description': "The city's name.", 'type': 'string'}
    """

    def wrap(func: Callable[..., Any]) -> FunctionTool:
        name = name_override or func.__name__
        summary, _ = _parse_docstring(func.__doc__ or "")
        schema, model = _schema_from_function(func, name)
        return FunctionTool(
            name=name,
            description=description_override or summary or name,
            params_json_schema=schema,
            fn=func,
            args_model=model,
            needs_approval=needs_approval,
            takes_context=_takes_context(func),
            failure_error_function=failure_error_function,
        )

    if fn is not None:
        return wrap(fn)
    return wrap
