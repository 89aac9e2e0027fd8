"""``ModelSettings``: an agent's model tuning, with the OpenAI Agents SDK's field names.

On LangGraph the settings are bound to the LangChain chat model for each call of the agent:
``tool_choice`` through ``bind_tools(tools, tool_choice=...)`` (``"auto"``, ``"required"``,
``"none"`` or a tool's name), everything else as call keyword arguments (what
``ChatOpenAI`` puts in the request body: ``temperature``, ``max_tokens``,
``parallel_tool_calls``, ``reasoning_effort`` for ``reasoning``...). On the SDK runtime they
are the agent's ``agents.ModelSettings``. SDK fields with no LangChain form (``truncation``,
``retry``, ``context_management``...) are refused when an SDK agent is imported.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ModelSettings", "to_model_settings"]


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """Model tuning for an agent's calls (``Agent(model_settings=...)``), as in the SDK.

    Attributes:
        temperature: Sampling temperature.
        top_p: Nucleus sampling.
        frequency_penalty: Frequency penalty.
        presence_penalty: Presence penalty.
        tool_choice: ``"auto"``, ``"required"``, ``"none"`` or the name of a tool to call.
            With the agent's ``reset_tool_choice`` (default) it applies until the agent has
            used a tool, as in the SDK.
        parallel_tool_calls: Whether one reply may call several tools.
        max_tokens: Most output tokens per call.
        reasoning: The SDK's ``Reasoning`` (or a dict with ``effort``): ``reasoning_effort``.
        verbosity: ``"low"``, ``"medium"`` or ``"high"``.
        metadata: Request metadata.
        store: Whether the provider stores the response.
        top_logprobs: Log probabilities of the top N tokens (``logprobs`` on).
        extra_query: Extra query parameters of the request.
        extra_body: Extra body fields of the request.
        extra_headers: Extra HTTP headers of the request.
        extra_args: Further keyword arguments for the model call.
        timeout: Seconds a model call may take.
    """

    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    tool_choice: str | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    reasoning: Any = None
    verbosity: str | None = None
    metadata: Mapping[str, str] | None = None
    store: bool | None = None
    top_logprobs: int | None = None
    extra_query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    extra_headers: Mapping[str, str] | None = None
    extra_args: Mapping[str, Any] | None = None
    timeout: float | None = None

    def values(self) -> dict[str, Any]:
        """The fields that are set."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    def call_kwargs(self) -> dict[str, Any]:
        """The keyword arguments bound to a LangChain chat model (``tool_choice`` excluded)."""
        out: dict[str, Any] = {}
        for name, value in self.values().items():
            if name == "tool_choice":
                continue
            if name == "reasoning":
                effort = (value.get("effort") if isinstance(value, Mapping)
                          else getattr(value, "effort", None))
                if effort is not None:
                    out["reasoning_effort"] = effort
            elif name == "top_logprobs":
                out.update(logprobs=True, top_logprobs=value)
            elif name == "extra_args":
                out.update(value)
            else:
                out[name] = dict(value) if isinstance(value, Mapping) else value
        return out

    def cache_key(self) -> str:
        """A stable key for caching bound models."""
        return json.dumps(self.values(), sort_keys=True, default=repr)


_FIELDS = frozenset(f.name for f in dataclasses.fields(ModelSettings))


def to_model_settings(value: Any, *, agent: str = "") -> ModelSettings | None:
    """``Agent(model_settings=...)``: ours, a mapping, or any object with the SDK's field names
    (the SDK's ``ModelSettings``); ``None`` stays ``None``.

    Raises:
        TypeError: A field set that has no LangChain form, naming it and the agent.
    """
    if value is None or isinstance(value, ModelSettings):
        return value
    if isinstance(value, Mapping):
        given = dict(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        given = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    else:
        raise TypeError(f"Agent {agent!r}: model_settings={value!r} is not a ModelSettings")
    given = {k: v for k, v in given.items() if v is not None}
    unknown = sorted(set(given) - _FIELDS)
    if unknown:
        raise TypeError(f"Agent {agent!r}: model_settings field(s) {unknown} have no form on "
                        "the LangGraph runtime (a LangChain chat model call); remove them")
    choice = given.get("tool_choice")
    if choice is not None and not isinstance(choice, str):
        raise TypeError(f"Agent {agent!r}: model_settings.tool_choice={choice!r}; use 'auto', "
                        "'required', 'none' or a tool name")
    return ModelSettings(**given)
