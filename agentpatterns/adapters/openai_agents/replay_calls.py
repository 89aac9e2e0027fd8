"""User callables of a journaled SDK run, recorded and replayed like its model and tool calls.

The SDK calls these itself, so a replayed run (a composition resumed after a decision, a
durable run resumed after a crash: :mod:`~agentpatterns.adapters.openai_agents.replay`)
would call them again - and one that answers differently (it reads the clock, a database)
would offer other tools, so the recorded model calls no longer match. With a journal, each
is called once: its answer is recorded (before the run goes on, for a durable run) and
returned from the journal on the replay, in order per callable:

* a function tool's ``is_enabled`` and ``needs_approval`` (by tool; ``needs_approval`` by
  call id), a handoff's ``is_enabled``;
* an agent's ``tool_use_behavior`` function (its ``ToolsToFinalOutputResult``);
* input and output guardrail functions (their ``GuardrailFunctionOutput``).

A verdict whose data is not plain JSON (a guardrail's ``output_info`` object, a final output
that is a model instance) is not recorded: that callable runs again on a replay.
``on_handoff`` and handoff ``input_filter`` are not journaled (they run again).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
from collections.abc import Callable
from typing import Any

from agents import FunctionTool as SDKFunctionTool
from agents import GuardrailFunctionOutput, Handoff, ToolsToFinalOutputResult

from agentpatterns.adapters.openai_agents.replay import Journal

__all__ = ["journal_callables"]

_SKIP: Any = object()


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _wrap(journal: Journal, key: Callable[..., str], fn: Callable[..., Any],
          encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> Callable[..., Any]:
    """``fn`` answered from ``journal`` when it holds the next entry for ``key(*args)``."""

    async def call(*args: Any) -> Any:
        name = key(*args)
        hit = journal.replayed(name)
        if hit is not None:
            return decode(hit[0])
        journal.check()
        out = fn(*args)
        if inspect.isawaitable(out):
            out = await out
        kept = encode(out)
        if kept is not _SKIP:
            journal.remember(name, [kept])
        return out

    return call


def _verdict(out: Any) -> Any:
    info = getattr(out, "output_info", None)
    if not _plain(info):
        return _SKIP
    return {"info": info, "tripwire": bool(getattr(out, "tripwire_triggered", False))}


def _behavior(out: Any) -> Any:
    final = getattr(out, "final_output", None)
    if not _plain(final):
        return _SKIP
    return {"final": bool(getattr(out, "is_final_output", False)), "output": final}


def _enabled(journal: Journal, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    return _wrap(journal, lambda *_: key, fn, bool, bool)


def _tool(tool: Any, agent: str, journal: Journal) -> Any:
    if not isinstance(tool, SDKFunctionTool):
        return tool
    enabled, approval = tool.is_enabled, tool.needs_approval
    if not callable(enabled) and not callable(approval):
        return tool
    made = copy.copy(tool)
    if callable(enabled):
        object.__setattr__(made, "is_enabled", _enabled(
            journal, f"call:is_enabled:{agent}:{tool.name}", enabled))
    if callable(approval):
        object.__setattr__(made, "needs_approval", _wrap(
            journal, lambda _ctx, _params, call_id: f"call:needs_approval:{tool.name}:{call_id}",
            approval, bool, bool))
    return made


def _handoff(item: Any, agent: str, journal: Journal) -> Any:
    if not isinstance(item, Handoff) or not callable(item.is_enabled):
        return item
    return dataclasses.replace(item, is_enabled=_enabled(
        journal, f"call:handoff_enabled:{agent}:{item.tool_name}", item.is_enabled))


def _guardrail(guardrail: Any, kind: str, agent: str, journal: Journal) -> Any:
    fn = getattr(guardrail, "guardrail_function", None)
    if not callable(fn) or not dataclasses.is_dataclass(guardrail):
        return guardrail
    name = guardrail.get_name() if hasattr(guardrail, "get_name") else str(fn)
    return dataclasses.replace(guardrail, guardrail_function=_wrap(  # type: ignore[type-var]
        journal, lambda *_: f"call:{kind}_guardrail:{agent}:{name}", fn, _verdict,
        lambda d: GuardrailFunctionOutput(output_info=d["info"],
                                          tripwire_triggered=bool(d["tripwire"]))))


def journal_callables(sdk: Any, journal: Journal) -> None:
    """Journal the user callables of the run's SDK agent ``sdk`` (a per-run copy: its lists
    are replaced, never changed in place)."""
    name = sdk.name
    object.__setattr__(sdk, "tools", [_tool(t, name, journal) for t in sdk.tools])
    object.__setattr__(sdk, "handoffs", [_handoff(h, name, journal) for h in sdk.handoffs])
    object.__setattr__(sdk, "input_guardrails", [
        _guardrail(g, "input", name, journal) for g in sdk.input_guardrails])
    object.__setattr__(sdk, "output_guardrails", [
        _guardrail(g, "output", name, journal) for g in sdk.output_guardrails])
    behavior = sdk.tool_use_behavior
    if callable(behavior):
        object.__setattr__(sdk, "tool_use_behavior", _wrap(
            journal, lambda *_: f"call:tool_use_behavior:{name}", behavior, _behavior,
            lambda d: ToolsToFinalOutputResult(is_final_output=bool(d["final"]),
                                               final_output=d["output"])))
