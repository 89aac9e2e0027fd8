"""User callables of a journaled SDK run, recorded and replayed like its model and tool calls.

The SDK calls these itself, so a replayed run (a composition resumed after a decision, a
durable run resumed after a crash: :mod:`~agentpatterns.adapters.openai_agents.replay`)
would call them again - and one that answers differently (it reads the clock, a database)
would offer other tools, so the recorded model calls no longer match. With a journal, each
is called once: its answer is recorded (before the run goes on, for a durable run) and
returned from the journal on the replay, in order per callable:

* a function tool's ``is_enabled`` and ``needs_approval`` (by tool; ``needs_approval`` by
  call id), an imported SDK tool's input and output guardrails (by call id: on LangGraph
  they run inside its journaled call), a handoff's ``is_enabled``;
* an agent's ``tool_use_behavior`` function (its ``ToolsToFinalOutputResult``);
* input and output guardrail functions (their ``GuardrailFunctionOutput``);
* a handoff's ``on_handoff`` (by handoff; a replay takes the handoff without calling it) and
  its ``input_filter`` (the recorded result: the input history as items, the run items it
  kept as positions in what it was given, rebuilt over the replay's own items).

A verdict whose data is not plain JSON (a guardrail's ``output_info`` object, a final output
that is a model instance, an ``input_filter`` result holding a run item the filter made
itself) is not recorded: that callable runs again on a replay.

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
from agents.handoffs import HandoffInputData as SDKHandoffInputData
from agents.tool_guardrails import ToolGuardrailFunctionOutput

from agentpatterns.adapters.openai_agents.handoffs import USER_ON_HANDOFF
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
    checks = {"input": tool.tool_input_guardrails, "output": tool.tool_output_guardrails}
    if not callable(enabled) and not callable(approval) and not any(checks.values()):
        return tool
    made = copy.copy(tool)
    for kind, guardrails in checks.items():  # an imported SDK tool's: the SDK runs them
        if guardrails:
            object.__setattr__(made, f"tool_{kind}_guardrails", [
                _tool_guardrail(g, kind, tool.name, journal) for g in guardrails])
    if callable(enabled):
        object.__setattr__(made, "is_enabled", _enabled(
            journal, f"call:is_enabled:{agent}:{tool.name}", enabled))
    if callable(approval):
        object.__setattr__(made, "needs_approval", _wrap(
            journal, lambda _ctx, _params, call_id: f"call:needs_approval:{tool.name}:{call_id}",
            approval, bool, bool))
    return made


def _handoff(item: Any, agent: str, journal: Journal) -> Any:
    if not isinstance(item, Handoff):
        return item
    target = item._agent_ref() if item._agent_ref is not None else None
    calls = getattr(item, USER_ON_HANDOFF, False) and target is not None
    if not callable(item.is_enabled) and not calls and item.input_filter is None:
        return item
    made = copy.copy(item)  # (keeps ``_agent_ref``, which dataclasses.replace drops)
    if callable(item.is_enabled):
        made.is_enabled = _enabled(journal, f"call:handoff_enabled:{agent}:{item.tool_name}",
                                   item.is_enabled)
    if calls:
        made.on_invoke_handoff = _on_handoff(item, target, agent, journal)
    if item.input_filter is not None:
        made.input_filter = _input_filter(item.input_filter, agent, item.tool_name, journal)
    return made


def _on_handoff(item: Any, target: Any, agent: str, journal: Journal) -> Callable[..., Any]:
    """The handoff's invoker (its ``on_handoff``) called once; a replay takes the target."""
    inner, name = item.on_invoke_handoff, f"call:on_handoff:{agent}:{item.tool_name}"

    async def invoke(ctx: Any, arguments: str) -> Any:
        hit = journal.replayed(name)
        if hit is not None and hit[0] == target.name:
            return target
        journal.check()
        out = await inner(ctx, arguments)
        journal.remember(name, [getattr(out, "name", "")])
        return out

    return invoke


def _input_filter(fn: Callable[..., Any], agent: str, tool_name: str,
                  journal: Journal) -> Callable[..., Any]:
    """The handoff's ``input_filter`` called once; a replay gives the recorded result
    (rebuilt over the replay's own run items: see :func:`_kept`)."""
    name = f"call:input_filter:{agent}:{tool_name}"

    async def apply(data: SDKHandoffInputData) -> Any:
        hit = journal.replayed(name)
        made = _rebuilt(data, hit[0]) if hit is not None else None
        if made is not None:
            return made
        journal.check()
        out = fn(data)
        if inspect.isawaitable(out):
            out = await out
        kept = _kept(data, out)
        if kept is not _SKIP:
            journal.remember(name, [kept])
        return out

    return apply


def _kept(data: Any, out: Any) -> Any:
    """A filter's result as plain data: the input history as items, the run items as
    positions in what the filter was given (``["pre"|"new", i]``) - the SDK's filters keep,
    drop and reorder them. A run item the filter made itself, or an item that is not plain
    JSON, is not recorded (the filter runs again on a replay)."""
    if not isinstance(out, SDKHandoffInputData):
        return _SKIP
    sources = {"pre": data.pre_handoff_items, "new": data.new_items}

    def refs(items: Any) -> Any:
        if items is None:
            return None
        found = []
        for item in items:
            at = next(([where, i] for where, src in sources.items()
                       for i, known in enumerate(src) if known is item), None)
            if at is None:
                raise LookupError(item)
            found.append(at)
        return found

    history: Any = out.input_history
    if not isinstance(history, str):
        history = [h.model_dump(mode="json", exclude_unset=True) if hasattr(h, "model_dump")
                   else h for h in history]
        if not _plain(history):
            return _SKIP
    try:
        return {"history": history, "pre": refs(out.pre_handoff_items),
                "new": refs(out.new_items), "input": refs(out.input_items)}
    except LookupError:
        return _SKIP


def _rebuilt(data: Any, kept: Any) -> Any:
    """The recorded filter result over ``data`` (``None``: it does not fit this run)."""
    sources = {"pre": data.pre_handoff_items, "new": data.new_items}

    def items(refs: Any) -> Any:
        if refs is None:
            return None
        out = []
        for where, i in refs:
            src = sources.get(where, ())
            if not 0 <= i < len(src):
                raise LookupError(i)
            out.append(src[i])
        return tuple(out)

    try:
        history = kept["history"]
        return data.clone(input_history=history if isinstance(history, str) else tuple(history),
                          pre_handoff_items=items(kept["pre"]), new_items=items(kept["new"]),
                          input_items=items(kept["input"]))
    except (LookupError, KeyError, TypeError, ValueError):
        return None


def _tool_verdict(out: Any) -> Any:
    info, behavior = getattr(out, "output_info", None), getattr(out, "behavior", None)
    if not _plain(info) or not isinstance(behavior, dict) or not _plain(behavior):
        return _SKIP
    return {"info": info, "behavior": dict(behavior)}


def _tool_guardrail(guardrail: Any, kind: str, tool: str, journal: Journal) -> Any:
    """A tool input/output guardrail called once per tool call (by its call id)."""
    fn = getattr(guardrail, "guardrail_function", None)
    if not callable(fn) or not dataclasses.is_dataclass(guardrail):
        return guardrail
    name = guardrail.get_name() if hasattr(guardrail, "get_name") else str(fn)

    def key(data: Any) -> str:
        call_id = getattr(getattr(data, "context", None), "tool_call_id", "")
        return f"call:tool_{kind}_guardrail:{tool}:{name}:{call_id}"

    return dataclasses.replace(guardrail, guardrail_function=_wrap(  # type: ignore[type-var]
        journal, key, fn, _tool_verdict,
        lambda d: ToolGuardrailFunctionOutput(output_info=d["info"], behavior=d["behavior"])))


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
