"""``tool_use_behavior``: whether an agent's tool results are its final output (as in the SDK).

* ``"run_llm_again"`` (default): the model gets the tool results and answers;
* ``"stop_on_first_tool"``: the first tool's output is the final output;
* ``{"stop_at_tool_names": [...]}`` (the SDK's ``StopAtTools``): the output of the first of
  those tools that was called is the final output;
* a function ``(context, results) -> ToolsToFinalOutputResult`` (sync or async), called
  with the results of one reply's tool calls.

Only function tools and agents used as tools count; a reply with a handoff hands off. A
final output from tools is turned into text when the agent's ``output_type`` is plain (as
the SDK does with ``str(...)``) and goes through the agent's output guardrails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FunctionToolResult", "ToolsToFinalOutputResult", "check_tool_use_behavior"]


@dataclass
class ToolsToFinalOutputResult:
    """What a ``tool_use_behavior`` function returns (the SDK's class of the same name).

    Attributes:
        is_final_output: True ends the agent's turn with ``final_output``.
        final_output: The output (of the agent's ``output_type``).
    """

    is_final_output: bool
    final_output: Any = None


@dataclass(frozen=True, kw_only=True)
class FunctionToolResult:
    """One tool call's result, as a ``tool_use_behavior`` function sees it.

    Attributes:
        tool: The tool (``FunctionTool`` or ``AgentTool``; ``.name``).
        output: What it returned (an agent used as a tool: its output text).
        arguments: The validated arguments.
        call_id: The tool call's id.
    """

    tool: Any
    output: Any
    arguments: Mapping[str, Any] = field(default_factory=dict)
    call_id: str = ""


def check_tool_use_behavior(agent: str, value: Any) -> Any:
    """``value`` if it is a ``tool_use_behavior`` the SDK accepts; ``TypeError`` otherwise."""
    if value in ("run_llm_again", "stop_on_first_tool") or callable(value):
        return value
    if isinstance(value, Mapping) and set(value) == {"stop_at_tool_names"} and all(
            isinstance(n, str) for n in value["stop_at_tool_names"]):
        return {"stop_at_tool_names": list(value["stop_at_tool_names"])}
    raise TypeError(f"Agent {agent!r}: tool_use_behavior={value!r}; use 'run_llm_again', "
                    "'stop_on_first_tool', {'stop_at_tool_names': [...]} or a function "
                    "(context, results) -> ToolsToFinalOutputResult")


def decide(behavior: Any, results: list[FunctionToolResult]) -> ToolsToFinalOutputResult | None:
    """The decision for the non-function behaviours (``None``: call the function)."""
    if not results or behavior == "run_llm_again":
        return ToolsToFinalOutputResult(is_final_output=False)
    if behavior == "stop_on_first_tool":
        return ToolsToFinalOutputResult(is_final_output=True, final_output=results[0].output)
    if isinstance(behavior, Mapping):
        names = set(behavior.get("stop_at_tool_names") or ())
        hit = next((r for r in results if r.tool.name in names), None)
        if hit is None:
            return ToolsToFinalOutputResult(is_final_output=False)
        return ToolsToFinalOutputResult(is_final_output=True, final_output=hit.output)
    return None


def checked(value: Any, agent: str) -> ToolsToFinalOutputResult:
    """A function's answer, which must look like a ``ToolsToFinalOutputResult``."""
    if not hasattr(value, "is_final_output"):
        raise TypeError(f"the tool_use_behavior function of agent {agent!r} returned "
                        f"{value!r}; return a ToolsToFinalOutputResult")
    return ToolsToFinalOutputResult(is_final_output=bool(value.is_final_output),
                                    final_output=getattr(value, "final_output", None))


ToolUseFunction = Callable[[Any, list[FunctionToolResult]], Any]


@dataclass(frozen=True)
class UserCall:
    """A request of a turn: call a user's function (sync or async) with ``args``.

    Every user callable a turn runs goes through this one request - a tool's or handoff's
    ``is_enabled``, ``on_handoff``, a ``tool_use_behavior`` function, an ``input_filter`` -
    so a driver runs it once per turn and the turn journal replays its result when the
    turn runs again (after a crash, an interrupt inside the turn), instead of calling it
    again.

    Attributes:
        fn: The function.
        args: Its arguments.
        what: Which callable it is: ``is_enabled``, ``on_handoff``, ``tool_use_behavior``,
            ``input_filter`` (how its result is recorded: see
            :mod:`agentpatterns.nodes.journal`).
        name: The tool, handoff or agent it belongs to.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    what: str = "call"
    name: str = ""


def final_from_tools(agent: Any, context: Any, results: list[FunctionToolResult]) -> Any:
    """Generator: ``(text, stored, value)`` when the agent's tool results are its final
    output (``value`` for its output guardrails, ``stored`` for the state), else ``None``."""
    decision = decide(agent.tool_use_behavior, results)
    if decision is None:
        decision = checked((yield UserCall(agent.tool_use_behavior, (context, results),
                                           "tool_use_behavior", agent.name)), agent.name)
    if not decision.is_final_output:
        return None
    return as_final(agent, decision.final_output)


def as_final(agent: Any, value: Any) -> tuple[str, Any, Any]:
    """A final output given by tools: text for a plain agent (``str(value)``, as the SDK
    does), else the value, kept JSON-able in the state."""
    import json

    from agentpatterns.nodes.guardrails import storable
    from agentpatterns.nodes.output import output_schema

    schema = output_schema(agent.output_type)
    if schema is None:
        text = str(value)
        return text, None, text
    try:
        stored = schema.dump(value, json.dumps(value, default=str))
    except (TypeError, ValueError):
        stored = storable(value)
    return json.dumps(stored, default=str), stored, value
