"""A nested pattern as one node of its parent: the node's runnable is the child's compiled graph.

The child is invoked with the node's own config, so it is a real LangGraph subgraph: its
checkpoints are namespaced under the parent's task (``get_state(config, subgraphs=True)``),
``get_graph(xray=True)`` shows its agents, an ``interrupt()`` inside it stops the whole run
and a resume continues it where it stopped, and a run killed inside it resumes from the
child's last completed step. The run's budget and model ride in the config too.

A child that is one step and cannot pause (a one-agent ``sequential``, say) has nothing to
resume inside it: its node runs in the parent's task instead, without a loop and
checkpoints of its own (:mod:`agentpatterns.graphs._inline`; the node's runnable is still
the child's compiled graph).

What the child did comes back as a ``TurnResult`` - its final output, its agents' path,
calls, usage and events - so each builder's ``finish`` treats a nested pattern exactly like
an agent's turn. A child that stopped (a guardrail, a rejected plan) stops the parent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import END
from langgraph.types import Command

from agentpatterns.errors import PatternError
from agentpatterns.graphs._common import SubRun
from agentpatterns.graphs._executor import NESTED, install
from agentpatterns.graphs._inline import InlineChild, inline_child
from agentpatterns.graphs._nodes import agent_node, drop_waiting, tripped, waiting_mark
from agentpatterns.graphs.pattern import _TOOL_TURN, Participant, Pattern
from agentpatterns.nodes.budget import BUDGET_KEY, Budget
from agentpatterns.nodes.runtime import ToolRun, TurnResult

__all__ = ["child_result", "inline_of", "members", "node_kind", "participant_node",
           "pattern_node", "subgraph", "tool_turn"]

Finish = Callable[[Mapping[str, Any], TurnResult], Any]


def nested_config(config: RunnableConfig) -> RunnableConfig:
    """The config a child graph is invoked with: the node's, marked so that the child's
    loop saves inline and shares one thread pool (see ``graphs/_executor.py``)."""
    configurable = config.get("configurable") or {}
    if configurable.get(NESTED):
        return config
    return {**config, "configurable": {**configurable, NESTED: True}}


def subgraph(pattern: Pattern, *, checkpointed: bool = True) -> Any:
    """The child's compiled graph (cached): it inherits the parent's checkpointer and store.

    ``checkpointed=False`` compiles it without checkpoints (a pattern used as a tool runs
    inside its caller's turn, possibly several times in one step).
    """
    key = "_subgraph" if checkpointed else "_tool_subgraph"
    cached = pattern.__dict__.get(key)
    if cached is None:
        cached = pattern.graph().compile(checkpointer=None if checkpointed else False,
                                         name=pattern.name)
        object.__setattr__(pattern, key, cached)
    return cached


def inline_of(pattern: Pattern) -> InlineChild | None:
    """How ``pattern`` runs inside its parent's task, if it is one step that cannot pause."""
    return inline_child(pattern, subgraph(pattern), lambda p: inline_of(p) is not None)


def child_input(run: SubRun) -> dict[str, Any]:
    """What the child graph starts on: the conversation it sees and the request."""
    return {"messages": list(run.messages), "input": run.text}


def child_result(pattern: Pattern, values: Mapping[str, Any],
                 seen: int) -> tuple[TurnResult, dict[str, Any]]:
    """The child's final state as a turn of ``pattern``, plus the keys a turn has no room for
    (its handoff log, per-agent results, last agent, why it stopped)."""
    usage = values.get("usage") or {}
    final = values.get("final_output")
    res = TurnResult(
        agent=pattern.name,
        text=final if isinstance(final, str) else ("" if final is None else str(final)),
        output=None if isinstance(final, str) or final is None else final,
        messages=list(values.get("messages") or [])[seen:],
        path=list(values.get("path") or []),
        calls={a: int(u.get("calls", 0)) for a, u in usage.items() if u.get("calls")},
        usage={a: {k: int(v) for k, v in u.items() if k != "calls"} for a, u in usage.items()},
        events=list(values.get("events") or []),
        tool_calls=list(values.get("tool_calls") or []),
    )
    stop = values.get("stopped")
    if isinstance(stop, Mapping) and stop.get("reason") == "guardrail":
        res.tripwire = {k: stop.get(k) for k in ("kind", "agent", "guardrail", "info")}
    extra = {"handoffs": list(values.get("handoffs") or []),
             "results": dict(values.get("results") or {}),
             "last_agent": values.get("last_agent") or "",
             "made": {a: [pattern.name, *p] for a, p in (values.get("made") or {}).items()},
             "stopped": stop if isinstance(stop, Mapping) else None}
    return res, extra


def _merge(pattern: Pattern, out: Any, res: TurnResult, extra: Mapping[str, Any]) -> Any:
    """Fold the child's handoff log and results into the parent's update or Command."""
    update = out.update if isinstance(out, Command) else out
    if not isinstance(update, dict):
        return out
    if extra["handoffs"]:
        update["handoffs"] = [*extra["handoffs"], *(update.get("handoffs") or [])]
    if extra["results"]:
        update["results"] = {**extra["results"], **(update.get("results") or {})}
    if extra["made"]:  # agents a nested dynamic created: their path through this child
        update["made"] = {**extra["made"], **(update.get("made") or {})}
    if update.get("last_agent") == pattern.name and extra["last_agent"]:
        update["last_agent"] = extra["last_agent"]  # the agent whose output it is
    return out


def _settle(pattern: Pattern, finish: Finish, state: Mapping[str, Any], values: Any,
            seen: int) -> Any:
    if not isinstance(values, Mapping):
        raise PatternError(f"nested pattern {pattern.name!r} returned no state")
    res, extra = child_result(pattern, values, seen)
    if res.tripwire is not None:
        return _merge(pattern, tripped(res), res, extra)
    stop = extra["stopped"]
    if stop:  # a rejected plan inside: the whole run ends there, as it would alone
        update = res.state_update()
        update.pop("messages", None)
        update.update(final_output=values.get("final_output"),
                      last_agent=extra["last_agent"], stopped=dict(stop))
        return _merge(pattern, Command(goto=END, update=update), res, extra)
    return _merge(pattern, finish(state, res), res, extra)


def pattern_node(pattern: Pattern, make_turn: Callable[[Mapping[str, Any]], SubRun],
                 finish: Finish) -> RunnableCallable:
    """The node of a nested ``pattern``: ``make_turn(state)`` says what it works on;
    ``finish(state, turn)`` turns its result into the parent's update, as for an agent."""
    sub = subgraph(pattern)
    install()
    # a child of one step that cannot pause runs its node in this task (graphs/_inline.py)
    inline = inline_of(pattern)

    def run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        turn = make_turn(state)
        if inline is not None:
            values = inline.invoke(child_input(turn), config)
        else:
            values = sub.invoke(child_input(turn), nested_config(config))
        return _settle(pattern, finish, state, values, len(turn.messages))

    async def arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        turn = make_turn(state)
        if inline is not None:
            values = await inline.ainvoke(child_input(turn), config)
        else:
            values = await sub.ainvoke(child_input(turn), config)
        return _settle(pattern, finish, state, values, len(turn.messages))

    return RunnableCallable(run, arun, name=pattern.name)


def participant_node(participant: Participant, make_turn: Callable[[Mapping[str, Any]], Any],
                     finish: Finish) -> RunnableCallable:
    """``agent_node`` for an agent, ``pattern_node`` for a nested pattern."""
    if isinstance(participant, Pattern):
        return pattern_node(participant, make_turn, finish)
    return agent_node(participant.name, make_turn, finish)


def node_kind(participant: Participant) -> str:
    """The node kind a participant gets in the compiled graph's metadata."""
    return "pattern" if isinstance(participant, Pattern) else "agent"


def members(*participants: Participant) -> dict[str, Any]:
    """``Pattern(agents=..., patterns=...)`` keyword arguments for a builder's participants."""
    return {"agents": tuple(p for p in participants if not isinstance(p, Pattern)),
            "patterns": tuple(p for p in participants if isinstance(p, Pattern))}


class _PatternTool:
    """What a ``ToolRun`` executes for a pattern used as a tool: the child graph, run on the
    tool's input inside the calling agent's node (with that node's config)."""

    def __init__(self, pattern: Pattern) -> None:
        self.pattern = pattern
        self.name = pattern.name

    def invoke(self, ctx: Any, args: dict[str, Any], raw: str) -> Any:
        """The drivers' tool protocol: run the pattern on ``args["input"]``."""
        return self.fn(str(args["input"]))

    def fn(self, input: str) -> Any:
        from langchain_core.messages import HumanMessage
        from langgraph.config import get_config

        sub = subgraph(self.pattern, checkpointed=False)
        payload = child_input(SubRun(self.pattern, [HumanMessage(input)], input))
        config = get_config()
        budget = (config.get("configurable") or {}).get(BUDGET_KEY)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            config = nested_config(config)
            if not isinstance(budget, Budget):
                return _tracked(sub, payload, config)
            with budget.handed_on():
                return _tracked(sub, payload, config)
        return self._arun(sub, payload, config, budget)

    @staticmethod
    async def _arun(sub: Any, payload: Any, config: Any, budget: Any) -> Any:
        if not isinstance(budget, Budget):
            return await _atracked(sub, payload, config)
        with budget.handed_on():
            return await _atracked(sub, payload, config)


def _tracked(sub: Any, payload: Any, config: Any) -> Any:
    """``sub.invoke`` for a pattern used as a tool. Its graph keeps no checkpoint, so its
    agents' nodes report each finished turn (``graphs._nodes.waiting_turns``): kept when
    an interrupt or the budget stops the run inside, dropped when the tool returns (its
    result carries them)."""
    mark = waiting_mark(config)
    values = sub.invoke(payload, config)
    drop_waiting(config, mark)
    return values


async def _atracked(sub: Any, payload: Any, config: Any) -> Any:
    mark = waiting_mark(config)
    values = await sub.ainvoke(payload, config)
    drop_waiting(config, mark)
    return values


def tool_turn(pattern: Pattern, text: str) -> Generator[Any, Any, TurnResult]:
    """The turn of a pattern used as a tool: the whole pattern on ``text``."""
    values = yield ToolRun(_PatternTool(pattern), {"input": text})
    res, extra = child_result(pattern, values, 1)
    if extra["stopped"] and res.tripwire is None:
        res.events.append({"type": "stopped", "agent": pattern.name, **extra["stopped"]})
    return res


_TOOL_TURN.append(tool_turn)
