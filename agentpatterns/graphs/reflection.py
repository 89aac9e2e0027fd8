"""Reflection: a generator writes, a critic reviews, the generator improves - a real cycle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from agentpatterns.errors import PatternError
from agentpatterns.graphs._common import fresh_turn, output_of, public_update, request_of
from agentpatterns.graphs._nested import node_kind as _kind
from agentpatterns.graphs._nested import participant_node
from agentpatterns.graphs._nodes import add_step
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
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import TurnResult
from agentpatterns.state import PatternState

__all__ = ["reflection"]


def reflection(
    generator: Participant,
    critic: Participant,
    *,
    iterations: int = 3,
    stop_when: Callable[[str], bool] | None = None,
    name: str = "",
    description: str = "",
) -> Pattern:
    """Reflection loop: generator -> critic -> generator ..., as in the seed's loop.

    The generator writes ``iterations`` drafts at most; each is reviewed by the critic, and
    the next draft is asked for with ``Previous: ... Feedback: ... Improve it.``. Every
    draft and critique is kept in the state. ``stop_when(feedback)`` returning true ends the
    loop early. The final output is the last draft. At most ``2 * iterations`` model calls.
    Either role may be a whole pattern (a subgraph node, run afresh on each draft).

    Raises:
        PatternError: ``iterations < 1``, ``stop_when`` not callable, or one agent twice.

    Example:
        >>> from agentpatterns import Runner
        >>> gen = Agent(name="Generator", instructions="Generate content")
        >>> critic = Agent(name="Critic", instructions="Review content and provide feedback")
        >>> r = Runner.run_sync(reflection(gen, critic, iterations=5,
        ...                                stop_when=lambda fb: "APPROVED" in fb), "a haiku")
        >>> len(r.values["drafts"]), r.values["critiques"][-1]
        (3, '[Critic] APPROVED: draft 3 is ready.')
    """
    if not isinstance(iterations, int) or iterations < 1:
        raise PatternError(
            f"reflection iterations={iterations!r}; it must be an int >= 1 "
            "(the number of drafts the generator may write)"
        )
    if stop_when is not None and not callable(stop_when):
        raise PatternError("reflection stop_when must be a function feedback -> bool")
    if generator is critic or generator.name == critic.name:
        raise PatternError("reflection needs two different agents (generator and critic)")
    edges = (
        Edge(source=START_ID, target=generator.name, kind="route", label="entry"),
        Edge(source=generator.name, target=critic.name, kind="sequence", label="review"),
        Edge(
            source=critic.name,
            target=generator.name,
            kind="loop",
            label=f"improve (≤ {iterations} drafts)",
            bound=iterations,
        ),
        Edge(
            source=critic.name,
            target=END_ID,
            kind="route",
            label="done" if stop_when is None else "done or stop_when",
        ),
    )
    members = (generator, critic)
    tool_nodes, tool_edges = participant_tools(members)
    return Pattern(
        kind="reflection",
        agents=tuple(a for a in members if isinstance(a, Agent)),
        patterns=tuple(p for p in members if isinstance(p, Pattern)),
        entry=generator.name,
        edges=(*edges, *tool_edges),
        nodes=tuple(tool_nodes),
        options={"iterations": iterations, "stop_when": stop_when,
                 "generator": generator.name, "critic": critic.name},
        name=name or "reflection",
        description=description,
    )


def _build(pattern: Pattern) -> StateGraph[Any]:
    generator = pattern.participant(pattern.options["generator"])
    critic = pattern.participant(pattern.options["critic"])
    iterations = int(pattern.options["iterations"])
    stop_when = pattern.options.get("stop_when")
    graph = StateGraph(PatternState)

    def gen_turn(state: Mapping[str, Any]) -> Any:
        drafts, critiques = state.get("drafts") or [], state.get("critiques") or []
        if drafts and critiques:
            text = f"Previous: {drafts[-1]}\nFeedback: {critiques[-1]}\nImprove it."
        else:
            text = request_of(state)
        return fresh_turn(generator, text, state)

    def gen_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        draft = output_of(res)
        update["drafts"] = [draft if isinstance(draft, str) else str(draft)]
        update["iteration"] = int(state.get("iteration") or 0) + 1
        return update

    def critic_turn(state: Mapping[str, Any]) -> Any:
        draft = (state.get("drafts") or [""])[-1]
        return fresh_turn(critic, f"Review this: {draft}. Provide specific improvements.", state)

    def critic_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        feedback = output_of(res)
        feedback = feedback if isinstance(feedback, str) else str(feedback)
        update["critiques"] = [feedback]
        done = int(state.get("iteration") or 0) >= iterations
        stopped = stop_when is not None and bool(stop_when(feedback))
        if not (done or stopped):
            return Command(goto=generator.name, update=update)
        if stopped and not done:
            update["events"] = [
                *update.get("events", []),
                {"type": "stop_when", "agent": critic.name, "iteration": state.get("iteration")},
            ]
        update["final_output"] = (state.get("drafts") or [""])[-1]
        update["last_agent"] = generator.name
        return Command(goto=END, update=update)

    graph.add_node(
        generator.name,
        participant_node(generator, gen_turn, gen_finish),
        metadata={"agentpatterns": inner_tools_meta(generator, _kind(generator))},
    )
    graph.add_node(
        critic.name,
        participant_node(critic, critic_turn, critic_finish),
        destinations=(generator.name, END),
        metadata={"agentpatterns": inner_tools_meta(critic, _kind(critic))},
    )
    graph.add_edge(START, generator.name)
    add_step(graph, generator.name, critic.name, guarded=may_stop(generator))
    return graph


register("reflection")(_build)
