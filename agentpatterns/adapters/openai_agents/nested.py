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
from agentpatterns.adapters.openai_agents.run import (
    DRIVERS,
    NETWORK_KINDS,
    NestedItem,
    PatternTurn,
    Run,
    _Named,
    text_of,
)
from agentpatterns.errors import AgentPatternsError, UnsupportedError
from agentpatterns.graphs.pattern import Participant, Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.tools import AgentTool, ToolArgumentsError

__all__ = ["child", "enter", "in_tool", "pattern_tool", "sdk_agents", "step"]

T = TypeVar("T")


def sdk_agents(run: Run, roots: Sequence[Any], *, handoffs: bool = True) -> Network:
    """Fresh SDK agents for the agents among ``roots`` (nested patterns are run by
    :func:`step`), with the run's model, hooks and guard; handoffs to nested patterns go to
    stand-in agents, patterns used as tools become :func:`pattern_tool` s."""
    net = build_network([r for r in roots if isinstance(r, Agent)],
                        run_model=run.run_model, handoffs=handoffs, hooks=run.log,
                        extract=run.log.extractor(), guard=run.guard,
                        pattern_tool=lambda tool, caller: pattern_tool(run, tool, caller))
    run.log.skip.update(net.doors)  # a stand-in takes no turn
    run.log.doors.update(net.doors)
    return net


def child(run: Run, pattern: Pattern, request: str, items: list[Any] | None = None) -> Run:
    """The run of nested ``pattern`` on ``request`` (``items``: the conversation a nested
    handoff network takes over): one log, budget, context and config with ``run``; its own
    guard (a nested network's own fallback), values and path."""
    assert run.guard is not None
    fallback = pattern.options.get("fallback") if pattern.kind in NETWORK_KINDS else None
    guard = RunGuard(events=run.log.events, budget=run.guard.budget, fallback=fallback,
                     no_fallback=tool_only(pattern.options, fallback),
                     strikes=run.guard.strikes, corrections=run.guard.corrections)
    state = {**(run.context if isinstance(run.context, Mapping) else {}), "input": request}
    return dataclasses.replace(run, pattern=pattern, request=request, items=items,
                               state=state, values={}, path=[], session=None, guard=guard,
                               scope=(*run.scope, pattern.name), parent=run, active=[])


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
    if result.interrupted:
        raise UnsupportedError(
            f"pattern {run.scope[0]!r}: the nested pattern {pattern.name!r} stopped for a "
            "human decision, which the SDK runtime cannot resume inside a composition yet; "
            "run the composition with Runner (LangGraph)")
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
