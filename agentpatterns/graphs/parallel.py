"""Parallel: every agent works on the request at once; a synthesizer combines the results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph

from agentpatterns.errors import BranchError, BudgetExceeded, InputError, PatternError
from agentpatterns.graphs._common import fresh_turn, output_of, public_update, request_of
from agentpatterns.graphs._nested import node_kind as _kind
from agentpatterns.graphs._nested import participant_node
from agentpatterns.graphs._nodes import add_step, stopped
from agentpatterns.graphs._tools import inner_tools_meta, participant_tools
from agentpatterns.graphs.pattern import (
    END_ID,
    START_ID,
    Edge,
    Node,
    Participant,
    Pattern,
    may_stop,
    register,
)
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import TurnResult
from agentpatterns.state import PatternState

__all__ = ["JOIN", "parallel"]

JOIN = "join"


def parallel(agents: Sequence[Participant], synthesizer: Participant, *,
             on_branch_error: Literal["fail", "continue"] = "fail", name: str = "",
             description: str = "") -> Pattern:
    """Parallel execution: fan out to all ``agents`` concurrently, join, then synthesize.

    Each branch is its own node, started in the same LangGraph step (they overlap in time
    under ``ainvoke``/``Runner.run``); the join waits for all of them; the synthesizer gets
    ``Synthesize: <every branch's output>``. A branch that finished before a crash is not
    re-run on resume (LangGraph keeps its writes).

    Args:
        agents: The branches (agents or whole patterns; a pattern branch is a subgraph).
        synthesizer: Combines the branch outputs (an agent or a pattern).
        on_branch_error: ``"fail"`` (default) fails the run naming the branch;
            ``"continue"`` records the failure and synthesizes the rest.

    Raises:
        PatternError: No branches, an unknown ``on_branch_error``, or duplicate names.

    Example:
        >>> from agentpatterns import Runner
        >>> rs = [Agent(name=f"Researcher {i}", instructions=f"Research topic {t}")
        ...       for i, t in [(1, "A"), (2, "B")]]
        >>> syn = Agent(name="Synthesizer", instructions="Combine research")
        >>> sorted(Runner.run_sync(parallel(rs, syn), "tides").path)
        ['Researcher 1', 'Researcher 2', 'Synthesizer']
    """
    agents = list(agents)
    if not agents:
        raise PatternError("parallel() needs at least one branch agent")
    if on_branch_error not in ("fail", "continue"):
        raise PatternError(f"on_branch_error={on_branch_error!r}; use 'fail' or 'continue'")
    if any(a.name == JOIN for a in [*agents, synthesizer]):
        raise PatternError(f"an agent may not be named {JOIN!r} in parallel(); rename it")
    edges = [Edge(source=START_ID, target=a.name, kind="fanout") for a in agents]
    edges += [Edge(source=a.name, target=JOIN, kind="join") for a in agents]
    edges += [Edge(source=JOIN, target=synthesizer.name, kind="sequence"),
              Edge(source=synthesizer.name, target=END_ID, kind="route", label="done")]
    members = [*agents, synthesizer]
    tool_nodes, tool_edges = participant_tools(members)
    return Pattern(kind="parallel", agents=tuple(a for a in members if isinstance(a, Agent)),
                   patterns=tuple(p for p in members if isinstance(p, Pattern)),
                   description=description, entry=START_ID,
                   edges=(*edges, *tool_edges),
                   nodes=(Node(id=JOIN, kind="join", label="join",
                               description=f"waits for {len(agents)} branches"),
                          *tool_nodes),
                   options={"branches": [a.name for a in agents],
                            "synthesizer": synthesizer.name,
                            "on_branch_error": on_branch_error},
                   name=name or "parallel")


def branch_node(agent: Participant, policy: str, text_of: Any = request_of) -> Any:
    """A branch: the agent on the request; failures recorded or raised per ``policy``."""

    def make(state: Mapping[str, Any]) -> Any:
        return fresh_turn(agent, text_of(state), state)

    def finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        update["branches"] = {agent.name: {"status": "ok", "output": output_of(res)}}
        return update

    inner = participant_node(agent, make, finish)

    def failed(exc: BaseException) -> dict[str, Any]:
        if policy != "continue":
            raise BranchError(f"parallel branch {agent.name!r} failed: {type(exc).__name__}: "
                              f"{exc}; fix it, or build with on_branch_error='continue'") from exc
        return {"branches": {agent.name: {"status": "error",
                                          "error": f"{type(exc).__name__}: {exc}"}},
                "events": [{"type": "branch_error", "agent": agent.name, "error": str(exc)}]}

    from langchain_core.runnables import RunnableConfig
    from langgraph._internal._runnable import RunnableCallable
    from langgraph.errors import GraphBubbleUp

    # a budget stop is not a branch failure: it must reach the runner (resumable) as it is
    def run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        try:
            return inner.invoke(state, config)
        except (GraphBubbleUp, BudgetExceeded, InputError):
            raise
        except Exception as exc:
            return failed(exc)

    async def arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        try:
            return await inner.ainvoke(state, config)
        except (GraphBubbleUp, BudgetExceeded, InputError):
            raise
        except Exception as exc:
            return failed(exc)

    return RunnableCallable(run, arun, name=agent.name)


def combined(state: Mapping[str, Any], order: Sequence[str]) -> str:
    """The branch outputs in branch order, as the seed joins them."""
    branches = state.get("branches") or {}
    parts = []
    for name in order:
        b = branches.get(name) or {}
        if b.get("status") == "ok":
            out = b.get("output")
            parts.append(out if isinstance(out, str) else str(out))
    return "\n\n".join(parts)


def _build(pattern: Pattern) -> StateGraph[Any]:
    names = list(pattern.options["branches"])
    synthesizer = pattern.participant(pattern.options["synthesizer"])
    policy = pattern.options["on_branch_error"]
    graph = StateGraph(PatternState)
    for name in names:
        branch = pattern.participant(name)
        guarded = may_stop(branch)
        graph.add_node(name, branch_node(branch, policy),
                       destinations=(END,) if guarded else (),
                       metadata={"agentpatterns": inner_tools_meta(branch, _kind(branch))})
        graph.add_edge(START, name)

    def join(state: PatternState) -> dict[str, Any]:
        if stopped(state):  # a branch's guardrail tripped: nothing to synthesize
            return {}
        branches = state.get("branches") or {}
        if not any((branches.get(n) or {}).get("status") == "ok" for n in names):
            raise BranchError("every parallel branch failed: " + "; ".join(
                f"{n}: {(branches.get(n) or {}).get('error')}" for n in names))
        return {}

    graph.add_node(JOIN, join, metadata={"agentpatterns": {"kind": "join"}})
    graph.add_edge(names, JOIN)

    def syn_turn(state: Mapping[str, Any]) -> Any:
        return fresh_turn(synthesizer, f"Synthesize: {combined(state, names)}", state)

    def syn_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        update["final_output"] = output_of(res)
        update["last_agent"] = synthesizer.name
        return update

    graph.add_node(synthesizer.name, participant_node(synthesizer, syn_turn, syn_finish),
                   destinations=(END,) if may_stop(synthesizer) else (),
                   metadata={"agentpatterns": inner_tools_meta(synthesizer,
                                                               _kind(synthesizer))})
    add_step(graph, JOIN, synthesizer.name,
             guarded=any(may_stop(pattern.participant(n)) for n in names))
    graph.add_edge(synthesizer.name, END)
    return graph


register("parallel")(_build)
