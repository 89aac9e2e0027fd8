"""Handoff networks: ``from_agent``, ``triage`` and ``sequential``.

Each agent is a node; a handoff is a ``Command(goto=target)`` whose possible targets are
declared as the node's ``destinations``, so ``get_graph()`` shows every handoff edge.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from agentpatterns.errors import InputError, PatternError
from agentpatterns.graphs._common import SubRun, output_of, public_update, request_of
from agentpatterns.graphs._nested import pattern_node
from agentpatterns.graphs._nodes import add_step, agent_node
from agentpatterns.graphs._tools import inner_tools, tool_nodes_and_edges
from agentpatterns.graphs.pattern import (
    END_ID,
    START_ID,
    Edge,
    Participant,
    Pattern,
    collect_agents,
    may_stop,
    register,
)
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.guardrails import can_trip
from agentpatterns.nodes.runtime import TurnResult, agent_turn
from agentpatterns.nodes.tools import AgentTool
from agentpatterns.state import PatternState

__all__ = ["as_pattern", "from_agent", "sequential", "triage"]


def _handoff_edges(agents: Sequence[Agent], kind: str = "handoff") -> list[Edge]:
    return [Edge(source=a.name, target=t.name, kind=kind) for a in agents for t in a.handoffs]  # type: ignore[arg-type]


def _finish_edges(members: Sequence[Participant], tool_only: set[str],
                  has_next: set[str]) -> list[Edge]:
    # an agent whose turn ends without a handoff finishes the run (a nested pattern: when done)
    return [Edge(source=a.name, target=END_ID, kind="route",
                 label="done" if isinstance(a, Pattern) else "no handoff")
            for a in members if a.name not in tool_only and a.name not in has_next]


def _tool_only(entry: Participant, agents: Sequence[Agent],
               members: Sequence[Participant]) -> set[str]:
    """Agents (and patterns) reachable only as tools (they run inside their caller's node)."""
    by_handoff = {entry.name} | {t.name for a in agents for t in a.handoffs}
    return {a.name for a in members if a.name not in by_handoff}


def _collect(roots: Sequence[Participant]) -> tuple[list[Agent], list[Pattern]]:
    """Agents reachable from ``roots`` through handoffs and tools, and the nested patterns
    among them (a pattern is one participant: its inside is its own)."""
    agents = collect_agents([r for r in roots if isinstance(r, Agent)])
    patterns: list[Pattern] = []
    for r in roots:
        if isinstance(r, Pattern) and all(p is not r for p in patterns):
            patterns.append(r)
    for a in agents:
        for t in [*a.handoffs, *(tool.agent for tool in a.tools if isinstance(tool, AgentTool))]:
            if isinstance(t, Pattern) and all(p is not t for p in patterns):
                patterns.append(t)
    return agents, patterns


def from_agent(entry: Agent, *, name: str = "", fallback: Agent | None = None,
               description: str = "") -> Pattern:
    """The pattern an agent network describes, following handoffs and agents-as-tools.

    Any SDK-style network (a triage agent with handoffs, a chain whose agents hand off in
    turn, an orchestrator with agents as tools) becomes an explicit graph.

    Example:
        >>> editor = Agent(name="Editor", instructions="Edit and polish the content")
        >>> writer = Agent(name="Writer", instructions="Write, then hand off to editor",
        ...                handoffs=[editor])
        >>> p = from_agent(writer)
        >>> [(e.source, e.target, e.kind) for e in p.edges if e.kind == "handoff"]
        [('Writer', 'Editor', 'handoff')]
    """
    return _network("handoffs", entry, name=name, fallback=fallback, description=description)


def _network(kind: str, entry: Participant, *, name: str, fallback: Agent | None,
             steps: Sequence[Participant] = (), extra_edges: Sequence[Edge] = (),
             options: Mapping[str, Any] | None = None, description: str = "") -> Pattern:
    roots = [entry, *steps] + ([fallback] if fallback is not None else [])
    agents, patterns = _collect(roots)
    members: list[Participant] = [*agents, *patterns]
    tool_only = _tool_only(entry, agents, members) - {r.name for r in roots}
    tools, tool_edges = tool_nodes_and_edges(agents)
    edges = [Edge(source=START_ID, target=entry.name, kind="route", label="entry")]
    edges += _handoff_edges(agents)
    edges += list(extra_edges)
    if fallback is not None:
        # every agent with a node of its own may fall back: a hallucinated handoff name,
        # malformed tool arguments twice or a failing model send its turn to the fallback
        edges += [Edge(source=a.name, target=fallback.name, kind="route", label="fallback")
                  for a in agents if a is not fallback and a.name not in tool_only]
    has_next = {e.source for e in extra_edges if e.kind == "sequence"}
    edges += _finish_edges(members, tool_only, has_next)
    edges += tool_edges
    opts = {"fallback": fallback.name if fallback else None, "tool_only": sorted(tool_only)}
    opts.update(options or {})
    return Pattern(kind=kind, agents=tuple(agents), entry=entry.name, edges=tuple(edges),
                   nodes=tuple(tools), options=opts, name=name or kind,
                   patterns=tuple(patterns), description=description)


def triage(router: Agent, *, fallback: Agent | None = None, name: str = "",
           description: str = "") -> Pattern:
    """Triage: a router hands each request to the specialist that fits it.

    Args:
        router: The routing agent; its ``handoffs`` are the specialists.
        fallback: Agent that takes requests the router cannot place, and handoffs to names
            that do not exist (a hallucinated target).
        name: The pattern's name (its node when it is nested in another pattern).
        description: What it handles (how a router picks it when it is nested).

    Raises:
        PatternError: The router has no handoffs.

    Example:
        >>> from agentpatterns import Runner
        >>> booking = Agent(name="Booking Agent",
        ...     handoff_description="Handles all booking and reservation requests",
        ...     instructions="Help users book appointments and reservations")
        >>> support = Agent(name="Support Agent",
        ...     handoff_description="Handles customer support and troubleshooting",
        ...     instructions="Help users with technical issues and questions")
        >>> router = Agent(name="Triage Agent", instructions="Route users to a specialist",
        ...                handoffs=[booking, support])
        >>> Runner.run_sync(triage(router), "I need to book a table").path
        ['Triage Agent', 'Booking Agent']
    """
    if not router.handoffs:
        raise PatternError(f"triage router {router.name!r} has no handoffs; give it "
                           "handoffs=[specialist, ...]")
    return _network("triage", router, name=name, fallback=fallback, description=description)


def sequential(agents: Sequence[Participant], *, name: str = "",
               description: str = "") -> Pattern:
    """Sequential: agents act in order, each working from the previous one's output.

    Agents that already hand off to the next one (``handoffs=[writer]``) keep their handoff
    edges; otherwise a ``sequence`` edge joins each agent to the next. A step may be a whole
    pattern (one node, a subgraph): it works on the conversation so far, and its final
    output is what the next step sees.

    Raises:
        PatternError: Fewer than one agent, or the same agent twice.

    Example:
        >>> from agentpatterns import Runner
        >>> steps = [Agent(name=n, instructions=i) for n, i in [
        ...     ("Researcher", "Research the topic thoroughly"),
        ...     ("Writer", "Write based on research"), ("Editor", "Edit and polish")]]
        >>> Runner.run_sync(sequential(steps), "tides").path
        ['Researcher', 'Writer', 'Editor']
    """
    agents = list(agents)
    if not agents:
        raise PatternError("sequential([]) has no agents; pass at least one Agent")
    names = [a.name for a in agents]
    for n in names:
        if names.count(n) > 1 and any(isinstance(a, Pattern) and a.name == n for a in agents):
            raise PatternError(f"sequential: two nested patterns are named {n!r}; give each "
                               "pattern its own name (name=...)")
        if names.count(n) > 1:
            raise PatternError(f"sequential: {n!r} appears twice; each step must be its own "
                               "agent (clone it with agent.clone(name=...))")
    extra = [Edge(source=a.name, target=b.name, kind="sequence")
             for a, b in pairwise(agents)
             if not (isinstance(a, Agent) and any(t is b for t in a.handoffs))]
    return _network("sequential", agents[0], name=name, fallback=None, steps=agents[1:],
                    extra_edges=extra, options={"order": names}, description=description)


def _handoff_reason(res: TurnResult, target: Agent) -> str:
    fell = next((e for e in res.events if e.get("type") == "fallback"), None)
    if fell is not None:  # a failed route: say why, not what the target handles
        asked = f" (asked for {fell['asked_for']})" if fell.get("asked_for") else ""
        return f"fallback after {str(fell.get('reason')).replace('_', ' ')}{asked}"
    said = next((m.content for m in reversed(res.messages)
                 if getattr(m, "tool_calls", None) and isinstance(m.content, str) and m.content),
                "")
    return said or target.handoff_description or f"handoff to {target.name}"


def build_network(pattern: Pattern) -> StateGraph[Any]:
    """One node per agent; handoffs are ``Command(goto=...)`` with declared destinations."""
    graph = StateGraph(PatternState)
    agents: dict[str, Any] = {**pattern.agent_map, **pattern.pattern_map}
    fallback = pattern.options.get("fallback")
    tool_only = set(pattern.options.get("tool_only", ()))
    for agent in pattern.agents:
        if agent.name in tool_only:
            continue
        sequence_next = next((e.target for e in pattern.out_edges(agent.name, "sequence")), None)
        destinations = [e.target for e in pattern.out_edges(agent.name, "handoff", "route")
                        if e.target != END_ID]
        if sequence_next is None:
            destinations.append(END)
        node = agent_node(agent.name, _make_turn(agent, fallback, agent.name == pattern.entry),
                          _make_finish(agent, agents, fallback, sequence_next, pattern.entry))
        graph.add_node(agent.name, node, destinations=tuple(destinations),
                       metadata={"agentpatterns": {"kind": "agent",
                                                   "tools": [t.name for t in agent.tools],
                                                   "inner": inner_tools(agent)}})
        if sequence_next is not None:
            add_step(graph, agent.name, sequence_next, guarded=can_trip(agent))
    for child in pattern.patterns:
        if child.name not in tool_only:
            _add_pattern_node(graph, pattern, child)
    graph.add_edge(START, pattern.entry)
    return graph


def _add_pattern_node(graph: StateGraph[Any], pattern: Pattern, child: Pattern) -> None:
    """A nested pattern in a handoff network: it takes over the conversation, and hands on
    along its ``sequence`` edge or finishes the run."""
    sequence_next = next((e.target for e in pattern.out_edges(child.name, "sequence")), None)

    def make(state: Mapping[str, Any]) -> SubRun:
        return SubRun(child, list(state.get("messages") or []), request_of(state))

    def finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        # the conversation gets the child's final output: what the next step works from
        update = public_update(res)
        update["final_output"] = output_of(res)
        update["last_agent"] = child.name
        return update if sequence_next is not None else Command(goto=END, update=update)

    stops = may_stop(child)
    # END is a Command destination only without a next step; with one, the guarded step's
    # branch routes to END (declaring it twice breaks LangGraph's get_graph: its edge sort
    # meets a None and a str label, langchain-ai/langgraph#7691)
    destinations = (END,) if sequence_next is None else ()
    graph.add_node(child.name, pattern_node(child, make, finish), destinations=destinations,
                   metadata={"agentpatterns": {"kind": "pattern"}})
    if sequence_next is not None:
        add_step(graph, child.name, sequence_next, guarded=stops)


def _make_turn(agent: Agent, fallback: str | None, entry: bool) -> Any:
    # only the entry agent starts on the user's request; the others take over the
    # conversation (a handoff, the next step, the fallback), so their input is not re-checked
    def make(state: Mapping[str, Any]) -> Any:
        return agent_turn(agent, state.get("messages", []), state=state,
                          fallback=fallback if fallback != agent.name else None,
                          check_input=request_of(state) if entry else None)

    return make


def _make_finish(agent: Agent, agents: Mapping[str, Agent], fallback: str | None,
                 sequence_next: str | None, entry: str) -> Any:
    def finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = res.state_update()
        target = res.handoff
        if target is None and fallback and agent.name == entry and fallback != agent.name:
            # the router placed the request nowhere: the fallback takes it
            target = fallback
            update["events"] = [*update.get("events", []), {"type": "no_route", "agent": agent.name,
                                                    "to": fallback}]
        if target is not None:
            step = len(state.get("path") or []) + len(res.path)
            update["handoffs"] = [{"from": agent.name, "to": target, "step": step,
                                   "reason": _handoff_reason(res, agents[target])}]
            return Command(goto=target, update=update)
        update["final_output"] = res.output if res.output is not None else res.text
        update["last_agent"] = agent.name
        if sequence_next is not None:
            return update
        return Command(goto=END, update=update)

    return finish


register("handoffs")(build_network)
register("triage")(build_network)
register("sequential")(build_network)


_FROM_AGENT: weakref.WeakKeyDictionary[Agent, Pattern] = weakref.WeakKeyDictionary()


def as_pattern(target: Pattern | Agent) -> Pattern:
    """A ``Pattern`` as is; an ``Agent`` as ``from_agent(agent)`` (cached per agent)."""
    if isinstance(target, Pattern):
        return target
    if isinstance(target, Agent):
        pattern = _FROM_AGENT.get(target)
        if pattern is None:
            pattern = _FROM_AGENT[target] = from_agent(target)
        return pattern
    raise InputError(f"expected a Pattern or an Agent, got {type(target).__name__}; build one "
                     "with triage(...), sequential([...]) or Agent(...)")
