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

__all__ = ["AgentTool", "FunctionTool", "Tool", "ToolArgumentsError", "function_tool"]


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool were not valid JSON or did not match the schema."""


@dataclass(frozen=True, kw_only=True)
class FunctionTool:
    """A Python function the model can call.

    Attributes:
        name: The name the model sees.
        description: What the tool does (the function's docstring summary by default).
        params_json_schema: JSON schema of the arguments.
        fn: The function (sync or async).
        args_model: Pydantic model that validates the arguments.
    """

    name: str
    description: str
    params_json_schema: dict[str, Any]
    fn: Callable[..., Any] = field(repr=False)
    args_model: type[BaseModel] = field(repr=False)
    needs_approval: bool = False

    def parse_arguments(self, raw: str | dict[str, Any] | None) -> dict[str, Any]:
        """Validate raw model arguments into keyword arguments for ``fn``.

        Raises:
            ToolArgumentsError: The arguments are malformed JSON or do not fit the schema.
        """
        if raw is None or raw == "":
            raw = {}
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ToolArgumentsError(
                    f"arguments for {self.name!r} are not JSON: {exc}"
                ) from exc
        if not isinstance(raw, dict):
            raise ToolArgumentsError(f"arguments for {self.name!r} must be a JSON object")
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
class AgentTool:
    """An agent used as a tool by another agent (``agent.as_tool(...)``).

    The calling agent's node runs the wrapped agent (its own instructions, its own model
    call) with the tool's ``input`` argument and gets its final output back.
    """

    agent: Agent
    name: str
    description: str

    @property
    def params_json_schema(self) -> dict[str, Any]:
        """Schema of the single ``input`` argument (the same as the SDK's ``Agent.as_tool``)."""
        return {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The task for the agent"}},
            "required": ["input"],
            "additionalProperties": False,
        }

    def parse_arguments(self, raw: str | dict[str, Any] | None) -> dict[str, Any]:
        """Validate the model's arguments: an object with a string ``input``."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw else {}
            except json.JSONDecodeError as exc:
                raise ToolArgumentsError(
                    f"arguments for {self.name!r} are not JSON: {exc}"
                ) from exc
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


Tool = FunctionTool | AgentTool

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
    for pname, param in signature.parameters.items():
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


@overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...
@overload
def function_tool(
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    needs_approval: bool = False,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    needs_approval: bool = False,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a typed Python function into a tool; the JSON schema comes from its type hints.

    Usable bare (``@function_tool``) or with options, like the OpenAI Agents SDK decorator.

    Args:
        fn: The function (sync or async). Its docstring's summary is the description and its
            ``Args:`` section describes the parameters.
        name_override: Tool name (default: the function's name).
        description_override: Tool description (default: the docstring summary).
        needs_approval: A human must approve each call (used by the SDK adapter).

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
        )

    if fn is not None:
        return wrap(fn)
    return wrap
