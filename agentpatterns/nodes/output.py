"""An agent's ``output_type``: the JSON schema the model is asked for and how its answer is read.

Any type the OpenAI Agents SDK accepts works, with the SDK's rules (no ``agents`` import):

* ``None`` or ``str``: plain text;
* a pydantic model, a ``TypedDict`` or a ``dict[...]``: the schema of the type itself;
* anything else pydantic can validate (a dataclass, ``list[...]``, ``int``, a union): the
  schema of ``{"response": <type>}`` - the model answers ``{"response": ...}`` and the value
  inside is the output, exactly as the SDK wraps them;
* an object with the SDK's ``AgentOutputSchemaBase`` methods (``is_plain_text``, ``name``,
  ``json_schema``, ``is_strict_json_schema``, ``validate_json``) - the SDK's own
  ``AgentOutputSchema(T, strict_json_schema=False)`` or a custom subclass - is used as is.

The run state keeps outputs as JSON-able values (:meth:`OutputSchema.dump`), and a run's
result turns them back into the type (:meth:`OutputSchema.restore`).
"""

from __future__ import annotations

import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

__all__ = ["OutputSchema", "check_output_type", "output_schema"]

_WRAP = "response"
_METHODS = ("is_plain_text", "name", "json_schema", "is_strict_json_schema", "validate_json")


def _is_custom(value: Any) -> bool:
    return not isinstance(value, type) and all(callable(getattr(value, m, None))
                                               for m in _METHODS)


def _object_type(t: Any) -> bool:
    """The SDK's rule: pydantic models and dicts are JSON objects; everything else is wrapped."""
    origin = get_origin(t)
    if origin is not None:
        return isinstance(origin, type) and issubclass(origin, BaseModel | dict)
    return isinstance(t, type) and issubclass(t, BaseModel | dict)


def _type_name(t: Any) -> str:
    origin, args = get_origin(t), get_args(t)
    if origin is None:
        return str(getattr(t, "__name__", repr(t)))
    if args:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(map(_type_name, args))}]"
    return str(t)


class OutputSchema:
    """How one ``output_type`` is asked for, validated, stored and restored.

    Args:
        output_type: The agent's ``output_type`` (see the module docstring).
    """

    def __init__(self, output_type: Any) -> None:
        self.output_type = output_type
        self.custom = output_type if _is_custom(output_type) else None
        self.wrapped = False
        self._adapter: TypeAdapter[Any] | None = None
        if self.custom is None and not self.is_plain_text():
            self.wrapped = not _object_type(output_type)
            target: Any = (TypedDict("OutputType", {_WRAP: output_type})  # type: ignore[operator]
                           if self.wrapped else output_type)
            self._adapter = TypeAdapter(target)

    def is_plain_text(self) -> bool:
        """True for ``None`` / ``str`` (and a custom schema that says so)."""
        if self.custom is not None:
            return bool(self.custom.is_plain_text())
        return self.output_type is None or self.output_type is str

    def name(self) -> str:
        """The output type's name (the ``json_schema`` response format's name)."""
        if self.custom is not None:
            return str(self.custom.name())
        return _type_name(self.output_type)

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema the model's answer must follow."""
        if self.custom is not None:
            return dict(self.custom.json_schema())
        assert self._adapter is not None, "plain text has no JSON schema"
        return self._adapter.json_schema()

    def is_strict(self) -> bool:
        """Whether the schema is sent in strict mode (custom schemas decide; ours are not)."""
        return bool(self.custom.is_strict_json_schema()) if self.custom is not None else False

    def validate_json(self, text: str) -> Any:
        """The model's JSON answer as the output type.

        Raises:
            ValueError: It does not validate (a pydantic ``ValidationError``, or whatever
                a custom schema raises, wrapped).
        """
        if self.custom is not None:
            try:
                return self.custom.validate_json(text)
            except ValueError:
                raise
            except Exception as exc:  # the SDK's schemas raise ModelBehaviorError
                raise ValueError(str(exc)) from exc
        assert self._adapter is not None
        value = self._adapter.validate_json(text)
        return value[_WRAP] if self.wrapped else value

    def dump(self, value: Any, text: str) -> Any:
        """``value`` (validated from ``text``) as a JSON-able value for the run state."""
        if self._adapter is None:
            return json.loads(text)
        wrapped = {_WRAP: value} if self.wrapped else value
        dumped = self._adapter.dump_python(wrapped, mode="json")
        return dumped[_WRAP] if self.wrapped else dumped

    def restore(self, stored: Any) -> Any:
        """A value kept by :meth:`dump` as the output type again."""
        if self._adapter is None:
            return self.validate_json(json.dumps(stored))
        value = self._adapter.validate_python({_WRAP: stored} if self.wrapped else stored)
        return value[_WRAP] if self.wrapped else value

    def response_format(self) -> dict[str, Any] | None:
        """The OpenAI ``response_format`` for this schema (``None`` for plain text)."""
        if self.is_plain_text():
            return None
        return {"type": "json_schema", "json_schema": {
            "name": self.name(), "schema": self.json_schema(), "strict": self.is_strict()}}


_CACHE: dict[int, tuple[Any, OutputSchema]] = {}


def output_schema(output_type: Any) -> OutputSchema | None:
    """The (cached) :class:`OutputSchema` of an ``output_type``; ``None`` for plain text."""
    if output_type is None or output_type is str:
        return None
    hit = _CACHE.get(id(output_type))
    if hit is not None and hit[0] is output_type:
        return hit[1]
    schema = OutputSchema(output_type)
    if len(_CACHE) > 512:
        _CACHE.clear()
    _CACHE[id(output_type)] = (output_type, schema)
    return None if schema.is_plain_text() else schema


def check_output_type(agent: str, output_type: Any) -> None:
    """Raise ``TypeError`` naming ``agent`` when ``output_type`` has no JSON schema."""
    if output_type is None or output_type is str or _is_custom(output_type):
        return
    try:
        OutputSchema(output_type).json_schema()
    except Exception as exc:
        raise TypeError(f"Agent {agent!r}: output_type {output_type!r} has no JSON schema "
                        f"({type(exc).__name__}: {exc}); use a pydantic model, dataclass, "
                        "TypedDict or a type pydantic can validate") from exc
