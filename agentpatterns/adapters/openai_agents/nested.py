"""Compositions on the SDK runtime: a nested pattern runs its own driver, inside its parent's.

Wherever a driver runs a participant (a step, a branch, a generator, a worker, a planner,
a specialist) it calls :func:`step`: an agent is one ``agents.Runner.run``; a nested pattern
is its kind's driver on a child :class:`~agentpatterns.adapters.openai_agents.run.Run` that
shares the run's log (path, calls, usage, handoffs, events, tool calls), budget, context
and ``RunConfig``. Its result comes back as a :class:`PatternTurn`, which the driver reads
like an agent's ``RunResult`` - as LangGraph's nested patterns come back as an agent's
``TurnResult`` (``graphs/_nested.py``). A handoff to a pattern goes to a stand-in agent
that stops the SDK run (:class:`~agentpatterns.adapters.openai_agents.guard.EnterPattern`);
the network driver then runs the pattern on the conversation so far. A pattern used as a
tool is an SDK ``FunctionTool`` whose call runs the pattern on the tool's input.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from agents import FunctionTool as SDKFunctionTool
from agents.exceptions import AgentsException

from agentpatterns.adapters.openai_agents.build import Network, build_network, output_text
from agentpatterns.adapters.openai_agents.guard import BudgetStop, RunGuard, tool_only
from agentpatterns.adapters.openai_agents.replay import Paused, journaled_tool
from agentpatterns.adapters.openai_agents.replay_calls import journal_callables
from agentpatterns.adapters.openai_agents.run import (
    DRIVERS,
    NETWORK_KINDS,
    NestedItem,
    PatternTurn,
    Run,
    _Named,
    text_of,
)
from agentpatterns.adapters.openai_agents.session import facts_filter
from agentpatterns.adapters.openai_agents.store import save
from agentpatterns.adapters.openai_agents.tools import ORIGINAL, SOURCE
from agentpatterns.errors import AgentPatternsError, UnsupportedError
from agentpatterns.graphs.pattern import Participant, Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.tools import AgentTool, FunctionTool, ToolArgumentsError
from agentpatterns.run.result import RunResult

__all__ = ["Stopped", "child", "drive", "enter", "in_tool", "journaled", "pattern_tool",
           "sdk_agents", "step"]

T = TypeVar("T")


class Stopped(AgentsException):
    """A nested pattern stopped (a rejected plan): the whole run ends with its result."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"stopped: {result.values.get('stopped')}")
        self.result = result


def journaled(pattern: Pattern) -> bool:
    """True for a composition with a ``human_approval`` in it (the run keeps a journal, to
    be resumed by a replay: see :mod:`~agentpatterns.adapters.openai_agents.replay`)."""
    tree = _tree(pattern)
    return len(tree) > 1 and any(p.kind == "human_approval" for p in tree)


def _tree(pattern: Pattern) -> list[Pattern]:
    """``pattern``, its nested patterns and the patterns its agents use as tools, at any
    depth."""
    out: list[Pattern] = []
    todo = [pattern]
    while todo:
        current = todo.pop()
        if any(p is current for p in out):
            continue
        out.append(current)
        todo += list(current.patterns)
        for agent in current.agents:
            for tool in agent.tools:
                inner = getattr(tool, "agent", None)
                if isinstance(inner, Pattern):
                    todo.append(inner)
    return out


async def drive(run: Run, saved: Mapping[str, Any] | None = None) -> RunResult:
    """Run ``run``'s pattern with its driver; a composition's run that keeps a journal stops
    as a whole where a nested approval waits (saved under the thread: ``resume_sdk`` replays
    it), or ends where a nested pattern stopped.

    Args:
        run: The run (its guard's ``journal`` set for a journaled composition).
        saved: The stopped run being resumed (its conversation and thread history).
    """
    journal = run.guard.journal if run.guard is not None else None
    if journal is None or not journal.gates:  # (a crash-durable run's journal: durable.py)
        return await DRIVERS[run.pattern.kind](run)
    # the conversation: kept out of the thread's session until the run is done, so that a
    # replay starts from the very same input
    session, run.session = run.session, None
    if saved is not None:
        run.items, history = saved.get("items"), int(saved.get("history") or 0)
    elif session is not None:
        earlier = list(await session.get_items())
        given = run.items if run.items is not None else [
            {"role": "user", "content": run.request}]
        run.items, history = [*earlier, *given], len(earlier)
    else:
        history = 0
    try:
        result = await DRIVERS[run.pattern.kind](run)
    except Paused as exc:
        await save(run, {"kind": "replay", "status": "waiting", "scope": exc.scope,
                          "journal": journal.saved(), "items": run.items, "history": history,
                          "interruption": exc.question})
        # the last finished step's output stands, as in LangGraph's state
        output, last = run.values.pop("__output__", None) or (None, None)
        return run.result(output, run.progress(), last, interrupted=True,
                          interruption=exc.question)
    except Stopped as exc:
        run.values["stopped"] = dict(exc.result.values["stopped"])
        result = run.result(exc.result.final_output, run.progress(), exc.result.last_agent)
    run.values.pop("__output__", None)
    if session is not None:
        done = list(result.values.get("input_items") or [])
        await session.add_items(done[history:])
    if saved is not None:
        await save(run, {"kind": "replay", "status": "done"})
    return result


def sdk_agents(run: Run, roots: Sequence[Any], *, handoffs: bool = True) -> Network:
    """Fresh SDK agents for the agents among ``roots`` (nested patterns are run by
    :func:`step`), with the run's model, hooks and guard; handoffs to nested patterns go to
    stand-in agents, patterns used as tools become :func:`pattern_tool` s."""
    net = build_network([r for r in roots if isinstance(r, Agent)],
                        run_model=run.run_model, handoffs=handoffs, hooks=run.log,
                        extract=run.log.extractor(), guard=run.guard,
                        pattern_tool=lambda tool, caller: pattern_tool(run, tool, caller),
                        on_stream=run.tool_stream())
    run.log.skip.update(net.doors)  # a stand-in takes no turn
    run.log.doors.update(net.doors)
    journal = run.guard.journal if run.guard is not None else None
    if journal is not None:  # function tools and user callables: run once, then replayed
        for sdk in net.by_name.values():
            imported = _imported_tools(sdk)
            object.__setattr__(sdk, "tools", [
                journaled_tool(t, journal) if isinstance(getattr(t, SOURCE, None), FunctionTool)
                or id(getattr(t, ORIGINAL, t)) in imported else t for t in sdk.tools])
            journal_callables(sdk, journal)
    return net


def _imported_tools(sdk: Any) -> set[int]:
    """The SDK function tools the run's agent ``sdk`` has as they were imported (an SDK
    ``FunctionTool`` in our agent's tools, run by its own invoker), by ``id``: journaled like
    ours. Not the SDK's agents as tools (their model calls are journaled inside) nor the
    run's own tools (``assign_to_*``, patterns as tools: they run turns of their own)."""
    agent = getattr(sdk, SOURCE, None)
    return {id(t.source) for t in getattr(agent, "tools", ())
            if isinstance(t, FunctionTool) and isinstance(t.source, SDKFunctionTool)
            and not getattr(t.source, "_is_agent_tool", False)}


def child(run: Run, pattern: Pattern, request: str, items: list[Any] | None = None) -> Run:
    """The run of nested ``pattern`` on ``request`` (``items``: the conversation a nested
    handoff network takes over): one log, budget, context and config with ``run``; its own
    guard (a nested network's own fallback), values and path."""
    assert run.guard is not None
    fallback = pattern.options.get("fallback") if pattern.kind in NETWORK_KINDS else None
    guard = RunGuard(events=run.log.events, budget=run.guard.budget, fallback=fallback,
                     no_fallback=tool_only(pattern.options, fallback),
                     strikes=run.guard.strikes, corrections=run.guard.corrections,
                     journal=run.guard.journal)
    state = {**(run.context if isinstance(run.context, Mapping) else {}), "input": request}
    config = run.config
    if pattern.kind == "memory" and run.user_id:  # the user's facts, as on LangGraph
        config = dataclasses.replace(config, call_model_input_filter=facts_filter(
            run.store, str(run.user_id), request))
    return dataclasses.replace(run, pattern=pattern, request=request, items=items,
                               state=state, values={}, path=[], session=None, guard=guard,
                               config=config,
                               scope=(*run.scope, pattern.name), parent=run, active=[],
                               turn=None)


async def step(run: Run, net: Network, participant: Participant, input: Any) -> Any:
    """One turn of ``participant`` on ``input``: ``Runner.run`` for an agent, the nested
    pattern's driver for a pattern (a :class:`PatternTurn`)."""
    if isinstance(participant, Pattern):
        return await enter(run, participant, input if isinstance(input, str) else run.request,
                           None if isinstance(input, str) else list(input))
    return await run.run(net[participant.name], input)


async def enter(run: Run, pattern: Pattern, request: str,
                items: list[Any] | None = None) -> PatternTurn:
    """Run nested ``pattern`` on ``request`` (a handoff network on ``items``, the
    conversation it takes over, when given) as part of ``run``.

    A nested run that raises stays in ``run.active``, so the stopped run's path includes
    what it did.
    """
    nested = child(run, pattern, request, items)
    run.active.append(nested)
    result = await DRIVERS[pattern.kind](nested)
    if result.interrupted:  # a made pattern with an approval in it (no journal): see drive()
        raise UnsupportedError(
            f"pattern {run.scope[0]!r}: the nested pattern {pattern.name!r} stopped for a "
            "human decision outside the run's journal; return an Agent from make_specialist, "
            "or nest the human_approval in the composition itself")
    if result.values.get("stopped"):  # a rejected plan inside: the whole run ends there
        raise Stopped(result)
    run.active.remove(nested)
    answer = {"role": "assistant", "content": text_of(result.final_output)}
    conversation = [*(items if items is not None else [{"role": "user", "content": request}]),
                    answer]
    return PatternTurn(final_output=result.final_output, new_items=[NestedItem(result.path)],
                       last_agent=_Named(result.last_agent or pattern.name), result=result,
                       items=conversation)


async def in_tool(work: Awaitable[T]) -> T:
    """Await ``work`` inside an SDK tool call: an error of ours stops the run
    (:class:`BudgetStop` carries it) instead of becoming a tool error for the model."""
    try:
        return await work
    except AgentPatternsError as exc:
        if isinstance(exc, AgentsException):  # also an SDK exception: passes as is
            raise
        raise BudgetStop(exc) from exc


def pattern_tool(run: Run, tool: AgentTool, caller: str) -> SDKFunctionTool:
    """``pattern.as_tool(...)`` on the SDK: a function tool that runs the pattern on the
    tool's input (its turns listed after the caller's, which goes on, as for an agent used
    as a tool); errors of ours inside it stop the run (not a tool error for the model)."""
    pattern = tool.agent
    assert isinstance(pattern, Pattern)

    async def invoke(ctx: Any, raw: str) -> str:
        try:
            args = tool.parse_arguments(raw)
        except ToolArgumentsError as exc:
            assert run.guard is not None
            return run.guard.bad_arguments(caller, tool.name, str(exc))
        turn = await in_tool(enter(run, pattern, tool.task_of(args)))
        run.log.record(str(ctx.tool_call_id), turn, turn_break=False)
        return output_text(turn.final_output)

    return SDKFunctionTool(name=tool.name, description=tool.description,
                           params_json_schema=dict(tool.params_json_schema),
                           on_invoke_tool=invoke, strict_json_schema=False,
                           needs_approval=tool.needs_approval, is_enabled=tool.is_enabled)
