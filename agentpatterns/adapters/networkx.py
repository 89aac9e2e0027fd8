"""Topology as a networkx graph: export, static analysis, drawing with a run's path.

Two views of the same topology become the same kind of ``nx.DiGraph``:

* the **pattern view**, ``to_networkx(pattern)``: the typed nodes and edges the builder
  declared (edge kinds ``handoff``, ``route``, ``sequence``, ``tool``, ``loop``, ``fanout``,
  ``join``, ``interrupt``);
* the **compiled view**, ``to_networkx(pattern.compile())``: what LangGraph actually built,
  read from ``graph.get_graph()``. Its edge kinds are coarser (``route`` for a conditional
  edge or a ``Command`` destination, ``sequence`` for a plain edge), and the work that runs
  *inside* a node (function tools, agents used as tools) is folded back in from the node's
  ``metadata["agentpatterns"]["inner"]`` as ``tool`` edges.

The two views **agree** when they have the same node ids with the same node kinds, the
same ``(source, target)`` edge pairs, and the same pairs are ``tool`` edges;
:func:`view_differences` lists every way they do not.

Example:
    >>> from agentpatterns import Agent, reflection
    >>> p = reflection(Agent(name="Writer", instructions="Write"),
    ...                Agent(name="Critic", instructions="Review"), iterations=2)
    >>> sorted((u, v, k) for u, v, k in to_networkx(p).edges(data="kind"))[:2]
    [('Critic', 'Writer', 'loop'), ('Critic', '__end__', 'route')]
    >>> a = analyze(p)
    >>> a.max_model_calls, [(c.nodes, c.bound) for c in a.cycles]
    (4, [(('Writer', 'Critic'), 2)])
    >>> view_differences(p)
    []
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import networkx as nx

from agentpatterns.errors import InputError
from agentpatterns.graphs.pattern import END_ID, START_ID, Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import DEFAULT_MAX_TURNS
from agentpatterns.nodes.tools import AgentTool

__all__ = [
    "FORMATS",
    "Analysis",
    "Cycle",
    "Drawing",
    "analyze",
    "draw",
    "run_path",
    "show",
    "to_networkx",
    "turn_calls",
    "view_differences",
]

#: file suffix -> drawing format
FORMATS = {".svg": "svg", ".png": "png", ".mmd": "mmd"}
_FORMAT_ALIASES = {"svg": "svg", "png": "png", "mmd": "mmd", "mermaid": "mmd"}
#: more simple cycles than this are not listed (dense handoff networks have many)
MAX_CYCLES = 200


# --------------------------------------------------------------------------- export


def to_networkx(target: Any) -> nx.DiGraph:
    """The topology of a pattern, an agent network or a compiled LangGraph graph.

    Args:
        target: A ``Pattern``; an ``Agent`` (as ``from_agent(agent)``); or a compiled
            LangGraph graph (anything with ``get_graph()``, e.g. what ``pattern.compile()``
            returns).

    Returns:
        A ``nx.DiGraph``. Every node has ``kind`` (``start``, ``end``, ``agent``, ``tool``,
        ``interrupt``, ``join``, ``dynamic``), ``label`` and ``description``; every edge
        has ``kind``, ``label`` (the condition or the bound text), ``bound`` (loops) and
        ``kinds`` (all kinds declared for that pair; ``kind`` is the first). Graph
        attributes: ``name``, ``pattern_kind`` and ``view`` (``"pattern"``/``"compiled"``).

    Raises:
        TypeError: ``target`` is none of these.
    """
    if isinstance(target, Agent):
        from agentpatterns.runner import as_pattern

        target = as_pattern(target)
    if isinstance(target, Pattern):
        return _from_pattern(target)
    if callable(getattr(target, "get_graph", None)):
        return _from_compiled(target)
    raise TypeError(
        f"to_networkx() takes a Pattern, an Agent or a compiled LangGraph graph, "
        f"not {type(target).__name__}"
    )


def _add_edge(
    g: nx.DiGraph, source: str, target: str, kind: str, label: str = "", bound: int | None = None
) -> None:
    # a DiGraph holds one edge per pair: a second declaration (a handoff to the fallback
    # agent that is also the fallback route) is merged into it, keeping every kind
    if g.has_edge(source, target):
        data = g.edges[source, target]
        if kind not in data["kinds"]:
            data["kinds"] = (*data["kinds"], kind)
        if label and label not in data["label"].split(" / "):
            data["label"] = f"{data['label']} / {label}" if data["label"] else label
        if bound is not None:
            data["bound"] = bound if data["bound"] is None else min(bound, data["bound"])
        return
    g.add_edge(source, target, kind=kind, kinds=(kind,), label=label or "", bound=bound)


def _from_pattern(pattern: Pattern) -> nx.DiGraph:
    g = nx.DiGraph(name=pattern.name, pattern_kind=pattern.kind, view="pattern")
    for n in pattern.nodes:
        g.add_node(n.id, kind=n.kind, label=n.label or n.id, description=n.description)
    for e in pattern.edges:
        _add_edge(g, e.source, e.target, e.kind, e.label, e.bound)
    return g


def _from_compiled(graph: Any) -> nx.DiGraph:
    drawable = graph.get_graph()
    g = nx.DiGraph(
        name=str(getattr(graph, "name", "") or "graph"), pattern_kind="", view="compiled"
    )
    inner: list[Mapping[str, Any]] = []
    for node_id, node in drawable.nodes.items():
        meta = (getattr(node, "metadata", None) or {}).get("agentpatterns") or {}
        kind = {START_ID: "start", END_ID: "end"}.get(node_id) or meta.get("kind", "agent")
        label = {START_ID: "start", END_ID: "end"}.get(node_id) or meta.get("label") or node_id
        g.add_node(node_id, kind=kind, label=label, description=meta.get("description", ""))
        inner += meta.get("inner") or ()
    for e in drawable.edges:
        label = "" if e.data is None or str(e.data) == e.target else str(e.data)
        _add_edge(g, e.source, e.target, "route" if e.conditional else "sequence", label)
    for t in inner:  # work that runs inside a node: function tools, agents used as tools
        if t["target"] not in g:
            g.add_node(
                t["target"],
                kind=t.get("target_kind", "agent"),
                label=t.get("label") if t.get("target_kind") == "tool" else t["target"],
                description="",
            )
        _add_edge(g, t["source"], t["target"], "tool", t.get("label", ""))
    return g


def view_differences(pattern: Pattern, graph: Any = None) -> list[str]:
    """How the pattern view and the compiled view of ``pattern`` differ (empty: they agree).

    Agreement means: the same node ids, each with the same kind; the same
    ``(source, target)`` edge pairs; and the same pairs are ``tool`` edges (the compiled
    view's other edge kinds are coarser, so they are not compared).

    Args:
        pattern: The pattern.
        graph: Its compiled graph (default: ``pattern.compile()``).

    Returns:
        One line per difference, sorted.
    """
    p = to_networkx(pattern)
    c = to_networkx(graph if graph is not None else pattern.compile())
    out = [
        f"node {n!r} only in the {side} view"
        for side, a, b in (("pattern", p, c), ("compiled", c, p))
        for n in a
        if n not in b
    ]
    out += [
        f"node {n!r} is {p.nodes[n]['kind']} in the pattern view but "
        f"{c.nodes[n]['kind']} in the compiled view"
        for n in p
        if n in c and p.nodes[n]["kind"] != c.nodes[n]["kind"]
    ]
    out += [
        f"edge {u!r} -> {v!r} only in the {side} view"
        for side, a, b in (("pattern", p, c), ("compiled", c, p))
        for u, v in a.edges
        if not b.has_edge(u, v)
    ]
    out += [
        f"edge {u!r} -> {v!r} is a tool edge in one view only"
        for u, v in p.edges
        if c.has_edge(u, v)
        and ("tool" in p.edges[u, v]["kinds"]) != ("tool" in c.edges[u, v]["kinds"])
    ]
    return sorted(out)


# --------------------------------------------------------------------------- analysis


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
            sub = turn_calls(t.agent, (*_callers, agent.name))
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
    return _summed({a.name: _mul(n, cost(a.name)) for a in p.agents})


def _rule_parallel(p: Pattern, cost: _Cost) -> _Calls:
    return _summed({a.name: cost(a.name) for a in p.agents})


def _rule_supervisor(p: Pattern, cost: _Cost) -> _Calls:
    rounds = int(p.options["max_rounds"])
    boss = _mul(rounds + 1, cost(p.entry))
    workers = {w: _mul(rounds, cost(w)) for w in p.options["workers"]}
    # the workers share the rounds: the costliest one may take all of them
    costs = [boss, *workers.values()]
    total = None if None in costs else boss + max(workers.values())  # type: ignore[operator,type-var]
    return {p.entry: boss, **workers}, total


def _rule_dynamic(p: Pattern, cost: _Cost) -> _Calls:
    # specialists are made at run time: counted as agents without tools
    return _summed(
        {p.agents[0].name: cost(p.agents[0].name), "specialists": int(p.options["max_specialists"])}
    )


def _rule_human_approval(p: Pattern, cost: _Cost) -> _Calls:
    planner, executor = p.agents
    return _summed(
        {
            planner.name: _mul(int(p.options["max_revisions"]) + 1, cost(planner.name)),
            executor.name: cost(executor.name),
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
    * ``dynamic``: the analyzer, then at most ``max_specialists`` specialists, counted as
      1 call each since they are made at run time (``1 + max_specialists``).
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
    pattern: Pattern | None = None
    if isinstance(target, Agent):
        from agentpatterns.runner import as_pattern

        target = as_pattern(target)
    if isinstance(target, Pattern):
        pattern, g = target, to_networkx(target)
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
    if pattern is not None:
        warnings += _tool_only_handoffs(pattern)
        agents = pattern

        def cost(name: str) -> int | None:
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
    return {n: cost(n) for n in g if n in on_way and g.nodes[n]["kind"] == "agent"}


def _network_total(flow: nx.DiGraph, by_node: Mapping[str, int]) -> int:
    best: dict[str, int] = {}
    for n in nx.topological_sort(flow):
        here = by_node.get(n, 0)
        best[n] = here + max((best[p] for p in flow.predecessors(n) if p in best), default=0)
    return best.get(END_ID, max(best.values(), default=0))


# --------------------------------------------------------------------------- run path


def run_path(
    target: Any, *, thread_id: str, checkpointer: Any = None, checkpoint_id: str | None = None
) -> list[str]:
    """The agents of a checkpointed run, in the order they took a turn.

    Args:
        target: The ``Pattern`` (or ``Agent``, or compiled graph) the thread ran.
        thread_id: The run's thread.
        checkpointer: A saver or a URL (``memory``, ``sqlite:///file``, ...). Default: the
            compiled graph's own saver, else the process-wide ``memory`` one.
        checkpoint_id: A checkpoint of the thread (default: its latest), e.g. a fork.

    Returns:
        The ``path`` of the run at that checkpoint (the latest run on the thread).

    Raises:
        InputError: The thread (or checkpoint) has no checkpoint there.
    """
    from langchain_core.runnables import RunnableConfig

    from agentpatterns.storage import open_checkpointer

    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    config = RunnableConfig(configurable=configurable)
    if isinstance(target, Agent):
        from agentpatterns.runner import as_pattern

        target = as_pattern(target)
    if checkpointer is None and not isinstance(target, Pattern):
        checkpointer = getattr(target, "checkpointer", None) or None
    where = (
        checkpointer
        if isinstance(checkpointer, str)
        else (type(checkpointer).__name__ if checkpointer is not None else "memory")
    )
    if isinstance(checkpointer, str) and checkpointer.strip().startswith("sqlite:///"):
        file = Path(checkpointer.strip()[len("sqlite:///") :])
        if not file.exists():  # reading must not create an empty database
            raise InputError(
                f"no database file {os.fspath(file)!r} for {checkpointer!r}; "
                "pass the --db the thread ran with"
            )
    with open_checkpointer(checkpointer) as saver:
        if isinstance(target, Pattern):
            graph = target.graph().compile(checkpointer=saver, name=target.name)
        else:
            graph = target.copy(update={"checkpointer": saver})
        snapshot = graph.get_state(config)
    if snapshot.created_at is None:
        at = f" checkpoint {checkpoint_id!r}" if checkpoint_id else ""
        raise InputError(
            f"thread {thread_id!r}{at} has no checkpoint in {where}; run it "
            "first, or pass the checkpointer (--db) it ran with"
        )
    return [str(a) for a in (snapshot.values or {}).get("path") or []]


def _check_overlay(g: nx.DiGraph, path: Sequence[str], thread_id: str) -> None:
    labels = {g.nodes[n].get("label") for n in g}
    if any(g.nodes[n]["kind"] == "dynamic" for n in g):
        return  # agents made at run time are drawn as the dynamic node
    unknown = [a for a in dict.fromkeys(path) if a not in g and a not in labels]
    if unknown:
        raise InputError(
            f"thread {thread_id!r} ran {', '.join(map(repr, unknown))}, not in "
            f"pattern {g.graph.get('name')!r}; draw the pattern that ran it"
        )


# --------------------------------------------------------------------------- drawing


def _format_of(format: str | None, path: str | os.PathLike[str] | None) -> str:
    fmt = None
    if format is not None:
        fmt = _FORMAT_ALIASES.get(str(format).lower())
        if fmt is None:
            raise InputError(f"unknown drawing format {format!r}; use 'svg', 'png' or 'mmd'")
    if path is None:
        return fmt or "svg"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"refusing to write {os.fspath(path)!r}: the file name must end in .svg, .png or .mmd"
        )
    if fmt is not None and fmt != FORMATS[suffix]:
        raise InputError(
            f"format={format!r} but {os.fspath(path)!r} ends in {suffix}; pass "
            f"format={FORMATS[suffix]!r} or change the file name"
        )
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{os.fspath(path)!r} is a directory; name a .svg, .png or .mmd file")
    if not target.absolute().parent.is_dir():
        raise InputError(
            f"cannot write {os.fspath(path)!r}: folder "
            f"{os.fspath(target.absolute().parent)!r} does not exist"
        )
    return FORMATS[suffix]


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half file).

    Raises:
        OSError: The folder is not writable (nothing is left behind).
    """
    target = Path(path).absolute()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; an image is a normal file
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def draw(
    target: Any,
    *,
    format: str | None = None,
    path: str | os.PathLike[str] | None = None,
    thread_id: str | None = None,
    checkpointer: Any = None,
    checkpoint_id: str | None = None,
    engine: str = "auto",
) -> bytes:
    """Draw a topology offline as SVG, PNG or Mermaid text, optionally with a run's path.

    Args:
        target: A ``Pattern``, an ``Agent`` or a compiled graph.
        format: ``"svg"``, ``"png"`` or ``"mmd"`` (Mermaid text). Default: from the
            suffix of ``path``, else SVG.
        path: Write the drawing there too (through a temporary file and a rename). The
            name must end in ``.svg``, ``.png`` or ``.mmd``.
        thread_id: Overlay the run on this thread: its agents are marked with the step
            numbers at which they ran, everything else dimmed.
        checkpointer: Where the thread is (saver or URL; see :func:`run_path`).
        checkpoint_id: Overlay the run as of this checkpoint (default: the latest).
        engine: ``"dot"`` (Graphviz), ``"python"`` (built in) or ``"auto"``.

    Returns:
        The drawing's bytes (Mermaid as UTF-8).

    Raises:
        InputError: A bad format or file name, a missing folder, or an unknown thread.
        RenderError: ``engine="dot"`` without a working Graphviz.
        OSError: ``path`` cannot be written (no file is left behind).
    """
    from agentpatterns.adapters import render

    fmt = _format_of(format, path)
    g = to_networkx(target)
    overlay = None
    if thread_id is not None:
        overlay = run_path(
            target, thread_id=thread_id, checkpointer=checkpointer, checkpoint_id=checkpoint_id
        )
        _check_overlay(g, overlay, thread_id)
    if fmt == "mmd":
        data = render.to_mermaid(g, overlay=overlay).encode()
    elif fmt == "png":
        data = render.render_png(g, overlay=overlay, engine=engine)
    else:
        data = render.render_svg(g, overlay=overlay, engine=engine)
    if path is not None:
        write_atomic(path, data)
    return data


@dataclass(frozen=True)
class Drawing:
    """An SVG drawing that displays itself in Jupyter (what :func:`show` returns).

    Attributes:
        svg: The SVG text.
        title: What it draws.
    """

    svg: str
    title: str = ""

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<Drawing {self.title!r}: {len(self.svg)} characters of SVG>"


def show(
    target: Any,
    *,
    thread_id: str | None = None,
    checkpointer: Any = None,
    checkpoint_id: str | None = None,
    engine: str = "auto",
) -> Drawing:
    """A drawing that Jupyter displays: for compiled graphs, whose own display calls a web API.

    LangGraph's ``CompiledStateGraph`` displays itself through ``draw_mermaid_png()``, which
    calls the mermaid.ink web service; ``show(graph)`` draws it here instead (the compiled
    view), and ``show(pattern, thread_id=...)`` with a run's path.

    Args:
        target: A ``Pattern``, an ``Agent`` or a compiled graph.
        thread_id: Overlay this run (see :func:`draw`).
        checkpointer: Where the thread is.
        checkpoint_id: Overlay the run as of this checkpoint.
        engine: ``"dot"``, ``"python"`` or ``"auto"``.
    """
    svg = draw(
        target,
        format="svg",
        thread_id=thread_id,
        checkpointer=checkpointer,
        checkpoint_id=checkpoint_id,
        engine=engine,
    ).decode()
    title = (
        str(to_networkx(target).graph.get("name", ""))
        if not isinstance(target, Pattern)
        else target.name
    )
    return Drawing(svg, title + (f" (thread {thread_id})" if thread_id else ""))
