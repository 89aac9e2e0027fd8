"""Supervisor: a boss assigns tasks to workers, each reports back, then the boss aggregates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from agentpatterns.errors import PatternError
from agentpatterns.graphs._common import fresh_turn, output_of, request_of
from agentpatterns.graphs._nested import members, node_kind, participant_node
from agentpatterns.graphs._nodes import add_step, agent_node
from agentpatterns.graphs._tools import inner_tools_meta, participant_tools
from agentpatterns.graphs.pattern import (
    END_ID,
    START_ID,
    Edge,
    Participant,
    Pattern,
    may_stop,
    register,
)
from agentpatterns.nodes._text import snake
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import Control, TurnResult, agent_turn
from agentpatterns.state import PatternState

__all__ = ["supervisor"]


def _control(worker: Participant) -> Control:
    what = worker.handoff_description or (
        worker.instructions if isinstance(worker, Agent) and isinstance(worker.instructions, str)
        else ""
    )
    return Control(
        name=f"assign_to_{snake(worker.name)}",
        description=f"Assign a task to {worker.name}: {what}".strip(),
        target=worker.name,
    )


def supervisor(
    boss: Agent, workers: Sequence[Participant], *, max_rounds: int = 4, name: str = "",
    description: str = ""
) -> Pattern:
    """Supervisor: ``boss`` assigns tasks to ``workers`` round by round, then aggregates.

    Each assignment is a tool call of the boss (``assign_to_<worker>``); the worker runs in
    its own node on the task and its report comes back to the boss as that call's result
    (a return edge). After ``max_rounds`` assignments the boss must answer. Assignments and
    reports are kept in the state. A worker may be a whole pattern (a subgraph node run on
    the task; its final output is the report).

    Raises:
        PatternError: No workers, a worker named like the boss, or ``max_rounds < 1``.

    Example:
        >>> from agentpatterns import Runner
        >>> w1 = Agent(name="Worker 1", instructions="Process data")
        >>> w2 = Agent(name="Worker 2", instructions="Analyze results")
        >>> boss = Agent(name="Supervisor", instructions="Assign tasks, aggregate results")
        >>> r = Runner.run_sync(supervisor(boss, [w1, w2]),
        ...                     "Process the sales data and analyze the results")
        >>> r.path
        ['Supervisor', 'Worker 1', 'Supervisor', 'Worker 2', 'Supervisor']
    """
    workers = list(workers)
    if not workers:
        raise PatternError("supervisor() needs at least one worker; pass workers=[agent, ...]")
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise PatternError(f"supervisor max_rounds={max_rounds!r}; it must be an int >= 1")
    edges = [
        Edge(source=START_ID, target=boss.name, kind="route", label="entry"),
        Edge(source=boss.name, target=END_ID, kind="route", label="done"),
    ]
    for w in workers:
        edges.append(Edge(source=boss.name, target=w.name, kind="route", label="assign"))
        edges.append(
            Edge(
                source=w.name,
                target=boss.name,
                kind="loop",
                label=f"report ({max_rounds} rounds in all)",
                bound=max_rounds,
            )
        )
    tool_nodes, tool_edges = participant_tools([boss, *workers])
    return Pattern(
        kind="supervisor",
        **members(boss, *workers),
        description=description,
        entry=boss.name,
        edges=(*edges, *tool_edges),
        nodes=tuple(tool_nodes),
        options={"max_rounds": max_rounds, "workers": [w.name for w in workers]},
        name=name or "supervisor",
    )


def _build(pattern: Pattern) -> StateGraph[Any]:
    graph = StateGraph(PatternState)
    boss = pattern.agent(pattern.entry)
    workers = [pattern.participant(n) for n in pattern.options["workers"]]
    controls = [_control(w) for w in workers]
    max_rounds = int(pattern.options["max_rounds"])

    def boss_turn(state: Mapping[str, Any]) -> Any:
        rounds = int(state.get("rounds") or 0)
        # the boss starts on the request once; later turns continue with the reports
        return agent_turn(
            boss,
            state.get("messages", []),
            state=state,
            handoffs=(),
            controls=controls,
            offer_tools=rounds < max_rounds,
            check_input=request_of(state) if rounds == 0 else None,
        )

    def boss_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = res.state_update()
        rounds = int(state.get("rounds") or 0)
        if res.control is not None:
            control, args, call_id = res.control
            task = str(args.get("task") or request_of(state))
            update["assignments"] = [
                {"worker": control.target, "task": task, "round": rounds + 1, "call_id": call_id}
            ]
            update["rounds"] = rounds + 1
            return Command(goto=control.target, update=update)
        if rounds >= max_rounds:
            update["events"] = [
                *update.get("events", []),
                {"type": "max_rounds", "agent": boss.name, "rounds": rounds},
            ]
        update["final_output"] = output_of(res)
        update["last_agent"] = boss.name
        return Command(goto=END, update=update)

    graph.add_node(
        boss.name,
        agent_node(boss.name, boss_turn, boss_finish),
        destinations=(*[w.name for w in workers], END),
        metadata={"agentpatterns": inner_tools_meta(boss)},
    )
    for worker in workers:
        graph.add_node(
            worker.name,
            participant_node(worker, _worker_turn(worker), _worker_finish(boss.name)),
            destinations=(END,) if may_stop(worker) else (),
            metadata={"agentpatterns": inner_tools_meta(worker, node_kind(worker))},
        )
        add_step(graph, worker.name, boss.name, guarded=may_stop(worker))
    graph.add_edge(START, boss.name)
    return graph


def _worker_turn(worker: Participant) -> Any:
    def make(state: Mapping[str, Any]) -> Any:
        task = (state.get("assignments") or [{}])[-1].get("task") or request_of(state)
        return fresh_turn(worker, task, state)

    return make


def _worker_finish(boss: str) -> Any:
    def finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        assignment = (state.get("assignments") or [{}])[-1]
        report = output_of(res)
        text = report if isinstance(report, str) else str(report)
        update = res.state_update()
        # the report is the result of the boss's assign_to_<worker> call
        update["messages"] = [ToolMessage(text, tool_call_id=assignment.get("call_id", "assign"))]
        update["reports"] = [
            {"worker": res.agent, "report": text, "round": assignment.get("round")}
        ]
        return update

    return finish


register("supervisor")(_build)
