"""Static analysis of a topology: reachability, dead ends, cycles, and a model-call bound.

The public names (:func:`analyze`, :class:`Analysis`, :class:`Cycle`, :func:`turn_calls`)
are re-exported by :mod:`agentpatterns.adapters.networkx`; import them from there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import networkx as nx

from agentpatterns.graphs.pattern import END_ID, START_ID, Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import DEFAULT_MAX_TURNS
from agentpatterns.nodes.tools import AgentTool

#: more simple cycles than this are not listed (dense handoff networks have many)
MAX_CYCLES = 200


@dataclass(frozen=True, kw_only=True)
class Cycle:
    """A cycle of the topology (tool edges excluded).

    Attributes:
        nodes: The nodes in order; the cycle closes from the last back to the first. It
            starts where its loop edge re-enters (the generator of a reflection loop).
        bound: The smallest bound of its ``loop`` edges; ``None`` when it has none, so only
            LangGraph's ``recursion_limit`` stops a run going round it.
        loop_edges: Its ``loop`` edges as ``(source, target)``.
    """

    nodes: tuple[str, ...]
    bound: int | None
    loop_edges: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        text = " -> ".join((*self.nodes, self.nodes[0]))
        return f"{text} (≤ {self.bound})" if self.bound is not None else f"{text} (unbounded)"


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """What :func:`analyze` found.

    Attributes:
        name: The pattern's name.
        unreachable: Nodes no path from the start reaches.
        dead_ends: Nodes from which no path reaches the end (tools and agents used as
            tools excepted: they return to their caller).
        cycles: Every simple cycle, with its bound.
        max_model_calls: The most model calls one run can make, or ``None`` when the
            topology does not bound it (see :func:`analyze` for the rules).
        calls_by_node: The most model calls each node can make in one run (what runs
            inside the node included).
        warnings: Problems that do not stop the pattern from running.
    """

    name: str
    unreachable: tuple[str, ...] = ()
    dead_ends: tuple[str, ...] = ()
    cycles: tuple[Cycle, ...] = ()
    max_model_calls: int | None = None
    calls_by_node: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No unreachable node, no dead end, every cycle bounded."""
        return not (self.unreachable or self.dead_ends or any(c.bound is None for c in self.cycles))

    def __str__(self) -> str:
        calls = "unbounded" if self.max_model_calls is None else str(self.max_model_calls)
        plural = "" if self.max_model_calls == 1 else "s"
        lines = [f"{self.name}: at most {calls} model call{plural} per run"]
        lines += [f"  calls: {n} ≤ {k}" for n, k in self.calls_by_node.items()]
        lines += [f"  cycle: {c}" for c in self.cycles]
        lines += [f"  unreachable: {n}" for n in self.unreachable]
        lines += [f"  dead end: {n}" for n in self.dead_ends]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def turn_calls(agent: Agent, _callers: tuple[str, ...] = ()) -> int | None:
    """The most model calls one turn of ``agent`` makes (see :func:`analyze`).

    Returns:
        1 without tools; otherwise ``DEFAULT_MAX_TURNS * (1 + the sum of turn_calls of its
        agents used as tools)``; ``None`` when agents call each other as tools.
    """
    if agent.name in _callers:
        return None
    if not agent.tools:
        return 1
    total = 1
    for t in agent.tools:
        if isinstance(t, AgentTool):
            inner: Any = t.agent
            sub = (analyze(inner).max_model_calls if isinstance(inner, Pattern)
                   else turn_calls(inner, (*_callers, agent.name)))
            if sub is None:
                return None
            total += sub
    return DEFAULT_MAX_TURNS * total


_Cost = Callable[[str], "int | None"]
_Calls = tuple[dict[str, "int | None"], "int | None"]  # (most calls per node, most in a run)


def _summed(by_node: dict[str, int | None]) -> _Calls:
    values = list(by_node.values())
    return by_node, None if None in values else sum(v for v in values if v is not None)


def _rule_reflection(p: Pattern, cost: _Cost) -> _Calls:
    n = int(p.options["iterations"])
    return _summed({a: _mul(n, cost(a)) for a in (p.options["generator"], p.options["critic"])})


def _rule_parallel(p: Pattern, cost: _Cost) -> _Calls:
    return _summed({a: cost(a) for a in [*p.options["branches"], p.options["synthesizer"]]})


def _rule_supervisor(p: Pattern, cost: _Cost) -> _Calls:
    rounds = int(p.options["max_rounds"])
    boss = _mul(rounds + 1, cost(p.entry))
    workers = {w: _mul(rounds, cost(w)) for w in p.options["workers"]}
    # the workers share the rounds: the costliest one may take all of them
    costs = [boss, *workers.values()]
    total = None if None in costs else boss + max(workers.values())  # type: ignore[operator,type-var]
    return {p.entry: boss, **workers}, total


#: the domain :func:`specialist_calls` asks ``make_specialist`` for
PROBE_DOMAIN = "specialist"


def specialist_calls(p: Pattern) -> tuple[int | None, str]:
    """The most model calls of one specialist of the ``dynamic`` pattern ``p``, from what
    its factory makes for a sample domain (an agent with tools, or a whole pattern, costs
    more than one call), and a warning when that cannot be known (``None``)."""
    make = p.options["make_specialist"]
    try:
        made = make(PROBE_DOMAIN)
    except Exception as exc:  # a factory that only knows some domains
        return None, (f"make_specialist({PROBE_DOMAIN!r}) raised {type(exc).__name__}, so the "
                      "calls of the specialists it makes at run time are not bounded here")
    if isinstance(made, Pattern):
        return analyze(made).max_model_calls, ""
    if isinstance(made, Agent):
        return turn_calls(made), ""
    if inspect.iscoroutine(made):
        made.close()
    return None, (f"make_specialist({PROBE_DOMAIN!r}) returned {type(made).__name__}, not an "
                  "Agent or a Pattern, so its specialists' calls are not bounded here")


def _rule_dynamic(p: Pattern, cost: _Cost) -> _Calls:
    # specialists are made at run time: each costs what the factory's kind of specialist
    # costs (for a sample domain; see specialist_calls)
    each, _ = specialist_calls(p)
    return _summed({p.agents[0].name: cost(p.agents[0].name),
                    "specialists": _mul(int(p.options["max_specialists"]), each)})


def _rule_human_approval(p: Pattern, cost: _Cost) -> _Calls:
    planner, executor = p.options["planner"], p.options["executor"]
    return _summed(
        {
            planner: _mul(int(p.options["max_revisions"]) + 1, cost(planner)),
            executor: cost(executor),
        }
    )


_RULES: dict[str, Callable[[Pattern, _Cost], _Calls]] = {
    "reflection": _rule_reflection,
    "parallel": _rule_parallel,
    "supervisor": _rule_supervisor,
    "dynamic": _rule_dynamic,
    "human_approval": _rule_human_approval,
}
# every other kind (handoffs, triage, sequential, hierarchical, memory, ...) is a network
# in which each turn passes control to one successor: the longest path bounds it


def _mul(n: int, c: int | None) -> int | None:
    return None if c is None else n * c


def analyze(target: Any) -> Analysis:
    """Static analysis: reachability, dead ends, cycles and their bounds, model-call bound.

    **Model calls per turn.** A turn of an agent without tools is 1 call. A turn of an
    agent with tools is at most ``DEFAULT_MAX_TURNS`` calls of its own (tool round trips
    included), and each of those replies may run each of its agents-used-as-tools once:
    ``DEFAULT_MAX_TURNS * (1 + sum of their turns)`` (:func:`turn_calls`). Not counted:
    corrective retries (a reply naming a tool that does not exist, malformed arguments,
    output that does not validate: at most one each per turn), and a reply that calls
    the same tool several times.

    **Turns per run**, by pattern kind:

    * ``reflection``: ``iterations`` turns each of generator and critic (``2 * iterations``).
    * ``parallel``: one turn per branch, one of the synthesizer (``K + 1``).
    * ``supervisor``: ``max_rounds + 1`` boss turns (one per assignment, one to answer)
      and ``max_rounds`` worker turns (``2R + 1``; any worker may take every round).
    * ``dynamic``: the analyzer, then at most ``max_specialists`` specialists, each
      costing what ``make_specialist("specialist")`` builds costs (an agent without tools:
      1, so ``1 + max_specialists``; a whole pattern: its own bound); ``None``, with a
      warning, when the factory does not build one for that domain. A factory that builds
      other shapes for other domains is not bounded by this.
    * ``human_approval``: ``max_revisions + 1`` planner turns and one executor turn.
    * any other kind is a network in which each turn passes control to one successor
      (handoff, route, sequence): the longest path from start to end, agents used as
      tools counted inside their caller; ``None`` with a cycle or a fan-out.

    Every bound is reached by some model (a critic that never approves, a boss that keeps
    assigning, an orchestrator that calls every tool in every reply), so it is tight.

    Args:
        target: A ``Pattern`` or an ``Agent``; or a compiled graph, or an ``nx.DiGraph``
            made by :func:`to_networkx` (then only the network rule applies, a node with
            tool edges counting as an agent with tools).

    Returns:
        The :class:`Analysis`.
    """
    from agentpatterns.graphs.topology import to_networkx

    pattern: Pattern | None = None
    if isinstance(target, Agent):
        from agentpatterns.graphs.handoffs import as_pattern

        target = as_pattern(target)
    if isinstance(target, Pattern):  # nested patterns: one node each here, analysed below
        pattern, g = target, to_networkx(target, nested=False)
    else:
        g = target if isinstance(target, nx.DiGraph) else to_networkx(target)
    flow = nx.DiGraph((u, v, d) for u, v, d in g.edges(data=True) if "tool" not in d["kinds"])
    flow.add_nodes_from(g.nodes)
    cycles, warnings = _cycles(g, flow)
    reach = nx.descendants(g, START_ID) | {START_ID} if START_ID in g else set()
    back = nx.ancestors(g, END_ID) | {END_ID} if END_ID in g else set()
    tool_targets = {v for u, v, d in g.edges(data=True) if "tool" in d["kinds"]}
    unreachable = tuple(n for n in g if n not in reach and g.nodes[n]["kind"] != "end")
    dead_ends = tuple(
        n
        for n in g
        if n not in back and g.nodes[n]["kind"] not in ("end", "tool") and n not in tool_targets
    )
    by_node: dict[str, int | None] | None
    total: int | None = None
    rule = _RULES.get(pattern.kind) if pattern is not None else None
    inside: dict[str, Analysis] = {}
    if pattern is not None:
        warnings += _tool_only_handoffs(pattern)
        if pattern.kind == "dynamic":
            warnings += [w for w in [specialist_calls(pattern)[1]] if w]
        agents = pattern

        inside = {p.name: analyze(p) for p in pattern.patterns}  # as tools too

        def cost(name: str) -> int | None:
            if name in inside:  # a nested pattern: the most calls of one run of it
                return inside[name].max_model_calls
            return turn_calls(agents.agent(name))

        if rule is not None:
            by_node, total = rule(pattern, cost)
        else:
            by_node = _network_calls(g, flow, cost)
    else:
        by_node = _network_calls(g, flow, lambda n: _graph_turn_calls(g, n))
    if rule is None and by_node is not None and None not in by_node.values():
        total = _network_total(flow, {k: v for k, v in by_node.items() if v is not None})
    circular = [n for n, v in (by_node or {}).items() if v is None]
    warnings += [
        f"agents used as tools by {n!r} call each other in a circle, so its turns "
        "have no call bound; break the circle"
        for n in circular
    ]
    if by_node is None and not any(c.bound is None for c in cycles):
        warnings.append(
            "no rule bounds the model calls of this topology (a cycle or a "
            "fan-out outside a built-in pattern); set a recursion_limit"
        )
    for child, sub in inside.items():
        # a nested pattern's own findings, its structural nodes named as in the drawing
        unreachable += tuple(n if n in sub.calls_by_node else f"{child}:{n}"
                             for n in sub.unreachable)
        dead_ends += tuple(n if n in sub.calls_by_node else f"{child}:{n}" for n in sub.dead_ends)
        cycles += list(sub.cycles)
        warnings += [f"in {child!r}: {w}" for w in sub.warnings]
    return Analysis(
        name=str(g.graph.get("name", "")),
        unreachable=unreachable,
        dead_ends=dead_ends,
        cycles=tuple(cycles),
        max_model_calls=total,
        calls_by_node={k: v for k, v in (by_node or {}).items() if v is not None},
        warnings=tuple(warnings),
    )


def _cycles(g: nx.DiGraph, flow: nx.DiGraph) -> tuple[list[Cycle], list[str]]:
    order = {n: i for i, n in enumerate(g)}
    found = list(islice(nx.simple_cycles(flow), MAX_CYCLES + 1))
    warnings: list[str] = []
    if len(found) > MAX_CYCLES:
        found = found[:MAX_CYCLES]
        warnings.append(f"more than {MAX_CYCLES} cycles; only the first {MAX_CYCLES} are listed")
    cycles = []
    for nodes in found:
        pairs = list(zip(nodes, [*nodes[1:], nodes[0]], strict=True))
        loops = [(u, v) for u, v in pairs if "loop" in flow.edges[u, v]["kinds"]]
        start = loops[0][1] if loops else min(nodes, key=order.__getitem__)
        i = nodes.index(start)
        nodes = nodes[i:] + nodes[:i]
        bounds = [flow.edges[e]["bound"] for e in loops if flow.edges[e]["bound"] is not None]
        cycles.append(
            Cycle(
                nodes=tuple(nodes),
                bound=min(bounds) if bounds else None,
                loop_edges=tuple(sorted(loops, key=lambda e: order[e[0]])),
            )
        )
    cycles.sort(key=lambda c: [order[n] for n in c.nodes])
    for c in cycles:
        if c.bound is None:
            warnings.append(
                f"cycle {c} has no loop bound: only LangGraph's recursion_limit stops a run "
                "going round it, so model calls are unbounded; remove a handoff or make it "
                "a bounded loop"
            )
    return cycles, warnings


def _tool_only_handoffs(pattern: Pattern) -> list[str]:
    tool_only = set(pattern.options.get("tool_only", ()) or ())
    return [
        f"{a.name!r} runs only as a tool, so its handoffs "
        f"({', '.join(repr(t.name) for t in a.handoffs)}) are never followed; hand off "
        "to it instead, or drop them"
        for a in pattern.agents
        if a.name in tool_only and a.handoffs
    ]


def _graph_turn_calls(g: nx.DiGraph, node: str, _callers: tuple[str, ...] = ()) -> int | None:
    if g.nodes[node]["kind"] != "agent":
        return 0
    if node in _callers:
        return None
    subs = [v for v in g.successors(node) if "tool" in g.edges[node, v]["kinds"]]
    if not subs:
        return 1
    total = 1
    for v in subs:
        sub = _graph_turn_calls(g, v, (*_callers, node)) if g.nodes[v]["kind"] == "agent" else 0
        if sub is None:
            return None
        total += sub
    return DEFAULT_MAX_TURNS * total


def _network_calls(
    g: nx.DiGraph, flow: nx.DiGraph, cost: Callable[[str], int | None]
) -> dict[str, int | None] | None:
    """One turn per node on the run's way (tool-only agents are inside their caller)."""
    if not nx.is_directed_acyclic_graph(flow):
        return None
    if any("fanout" in d["kinds"] for _, _, d in flow.edges(data=True)) or any(
        g.nodes[n]["kind"] == "dynamic" for n in g
    ):
        return None
    on_way = nx.descendants(flow, START_ID) if START_ID in flow else set()
    return {n: cost(n) for n in g if n in on_way and g.nodes[n]["kind"] in ("agent", "pattern")}


def _network_total(flow: nx.DiGraph, by_node: Mapping[str, int]) -> int:
    best: dict[str, int] = {}
    for n in nx.topological_sort(flow):
        here = by_node.get(n, 0)
        best[n] = here + max((best[p] for p in flow.predecessors(n) if p in best), default=0)
    return best.get(END_ID, max(best.values(), default=0))
