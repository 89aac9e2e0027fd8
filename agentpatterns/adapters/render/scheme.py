"""The visual scheme and the graph helpers that every renderer in ``render`` shares.

Colours, line styles and text metrics, and the small functions that read a topology graph's
node and edge kinds and labels, give its nodes stable ids, and match a run path onto it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

MAX_LAYER_WIDTH = 12
"""More nodes than this side by side in one layer switches the drawing to left-to-right."""

NODE_KINDS = ("start", "end", "agent", "tool", "interrupt", "join", "dynamic", "pattern")
EDGE_KINDS = ("handoff", "route", "sequence", "tool", "loop", "fanout", "join", "interrupt")

# kind -> (fill, stroke, text colour)
_NODE_COLORS: dict[str, tuple[str, str, str]] = {
    "start": ("#1f2937", "#1f2937", "#ffffff"),
    "end": ("#1f2937", "#1f2937", "#ffffff"),
    "agent": ("#dbeafe", "#1d4ed8", "#0f172a"),
    "tool": ("#fef3c7", "#b45309", "#0f172a"),
    "interrupt": ("#fee2e2", "#b91c1c", "#0f172a"),
    "join": ("#ede9fe", "#6d28d9", "#0f172a"),
    "dynamic": ("#d1fae5", "#047857", "#0f172a"),
    "pattern": ("#f1f5f9", "#475569", "#0f172a"),  # a nested pattern (one node, a subgraph)
}
_CLUSTER_COLORS = ("#f8fafc", "#94a3b8", "#334155")  # a nested pattern drawn as a cluster

# kind -> (colour, width in px, dash pattern in px or None)
_EDGE_STYLES: dict[str, tuple[str, float, tuple[float, ...] | None]] = {
    "handoff": ("#2563eb", 1.5, None),
    "route": ("#111827", 2.4, None),
    "sequence": ("#6b7280", 1.5, None),
    "tool": ("#d97706", 1.5, (6.0, 4.0)),
    "loop": ("#c026d3", 3.0, None),
    "fanout": ("#7c3aed", 1.4, None),
    "join": ("#7c3aed", 1.4, (4.0, 3.0)),
    "interrupt": ("#dc2626", 1.8, (0.1, 4.0)),
}

_BUNDLE = 6  # more edges of one kind than this into one node share a single arrowhead
_PATH_COLOR = "#f97316"  # the run-path overlay
_PATH_TEXT = "#9a3412"
_DIM_OPACITY = 0.3
_MERMAID_RESERVED = {
    "end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click",
    "linkstyle", "default", "direction", "call", "href",
}  # fmt: skip

# Advance widths of DejaVu Sans (per mille of the font size) for ASCII 32..126: the widest
# of the usual sans-serif fonts, so boxes sized with it fit Helvetica/Arial/Liberation too.
_ASCII_WIDTHS = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
    770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
    684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
    634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
    525, 636, 337, 636, 838,
)  # fmt: skip


def _node_kind(g: nx.DiGraph, n: Hashable) -> str:
    kind = g.nodes[n].get("kind", "agent")
    return kind if kind in _NODE_COLORS else "agent"


def _edge_kind(g: nx.DiGraph, u: Hashable, v: Hashable) -> str:
    kind = g.edges[u, v].get("kind", "sequence")
    return kind if kind in _EDGE_STYLES else "sequence"


def _clean(text: object) -> str:
    """One line of text with the characters XML 1.0 cannot carry removed."""
    s = " ".join(str(text).split("\n"))
    return "".join(ch for ch in s if ch in "\t" or ord(ch) >= 32)


def _label(g: nx.DiGraph, n: Hashable) -> str:
    label = g.nodes[n].get("label")
    return _clean(n if label is None or label == "" else label)


def _edge_label(g: nx.DiGraph, u: Hashable, v: Hashable) -> str:
    label = g.edges[u, v].get("label")
    return "" if label is None else _clean(label)


def _natural(n: Hashable) -> tuple[Any, ...]:
    """Sort key that puts "Researcher 2" before "Researcher 10"."""
    parts = re.split(r"(\d+)", str(n))
    return (tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), str(n))


def _node_order(g: nx.DiGraph) -> list[Hashable]:
    """Start nodes first, end nodes last, the rest by id: independent of insertion order."""
    rank = {"start": 0, "end": 2}
    return sorted(g.nodes, key=lambda n: (rank.get(_node_kind(g, n), 1), _natural(n)))


def _stable_ids(g: nx.DiGraph) -> dict[Hashable, str]:
    """Map every node to a unique ``[A-Za-z0-9_]`` identifier, deterministically."""
    ids: dict[Hashable, str] = {}
    used: set[str] = set()
    for n in sorted(g.nodes, key=str):
        base = re.sub(r"[^A-Za-z0-9_]", "_", str(n)) or "n"
        if base[0].isdigit() or base.lower() in _MERMAID_RESERVED:
            base = "n_" + base
        candidate, i = base, 2
        while candidate in used:
            candidate, i = f"{base}_{i}", i + 1
        used.add(candidate)
        ids[n] = candidate
    return ids


def _clusters(g: nx.DiGraph) -> tuple[dict[str, list[Hashable]], dict[str, list[str]]]:
    """Nested patterns drawn as clusters: each cluster's own nodes (in drawing order), and
    each parent's child clusters (``""``: the top level)."""
    clusters: dict[str, Any] = g.graph.get("clusters") or {}
    members: dict[str, list[Hashable]] = {c: [] for c in clusters}
    for n in _node_order(g):
        parent = g.nodes[n].get("parent")
        if parent in members:
            members[parent].append(n)
    children: dict[str, list[str]] = {}
    for c in sorted(clusters):
        parent = clusters[c].get("parent")
        children.setdefault(parent if parent in clusters else "", []).append(c)
    return members, children


def _cluster_ids(g: nx.DiGraph) -> dict[str, str]:
    """A stable ``[A-Za-z0-9_]`` id per cluster, distinct from every node id."""
    used = set(_stable_ids(g).values())
    out: dict[str, str] = {}
    for c in sorted(g.graph.get("clusters") or {}):
        base = "sg_" + (re.sub(r"[^A-Za-z0-9_]", "_", c) or "p")
        candidate, i = base, 2
        while candidate in used:
            candidate, i = f"{base}_{i}", i + 1
        used.add(candidate)
        out[c] = candidate
    return out


#: halo colours of a human decision node: waiting, approved, rejected
APPROVAL_COLORS = {"waiting": "#d97706", "approved": "#16a34a", "rejected": "#dc2626"}


@dataclass(frozen=True, kw_only=True)
class RunOverlay:
    """What a run did, to draw on its topology (``draw(..., thread_id=...)`` builds one).

    Attributes:
        path: The agents in the order they took a turn (``RunResult.path``).
        tools: ``(agent, tool name)`` of every tool call, in order (``RunResult.tool_calls``).
        finished: The run reached its end (the edge into the end node is lit).
        approval: The human decision node's state: ``"waiting"``, ``"approved"``,
            ``"rejected"`` or ``None`` (no decision node, or not reached).
    """

    path: tuple[str, ...] = ()
    tools: tuple[tuple[str, str], ...] = ()
    finished: bool = False
    approval: str | None = None

    @classmethod
    def of(cls, values: Any, *, waiting: bool = False, finished: bool = True,
           tool_calls: Any = None) -> RunOverlay:
        """The overlay of a run's state (``RunResult.values`` or a checkpoint's values).

        Args:
            values: The graph state.
            waiting: The run is waiting at an interrupt.
            finished: The run got to its end (False for a run cut off mid-way).
            tool_calls: The tool calls, when not in ``values`` (``RunResult.tool_calls``).
        """
        values = values or {}
        decision = values.get("decision") or {}
        stopped = values.get("stopped") or {}
        approval = None
        if waiting:
            approval = "waiting"
        elif isinstance(stopped, dict) and stopped.get("reason") == "rejected":
            approval = "rejected"
        elif isinstance(decision, dict) and decision.get("approved"):
            approval = "approved"
        return cls(path=tuple(str(a) for a in values.get("path") or ()),
                   tools=tuple((str(c.get("agent")), str(c.get("tool")))
                               for c in (tool_calls if tool_calls is not None
                                         else values.get("tool_calls")) or ()),
                   finished=finished and not waiting and bool(values.get("path")),
                   approval=approval)


@dataclass(frozen=True)
class _Overlay:
    steps: dict[Hashable, list[int]]  # visited node -> 1-based positions in the run path
    edges: set[tuple[Hashable, Hashable]]  # edges the run took
    notes: dict[Hashable, str] = field(default_factory=dict)  # a second line, not steps
    colors: dict[Hashable, str] = field(default_factory=dict)  # a halo colour, not the path's

    def note(self, n: Hashable) -> str:
        """The second line of a visited node: its note, else its step numbers."""
        if n in self.notes:
            return self.notes[n]
        return _steps_text(self.steps[n]) if self.steps.get(n) else ""

    def color(self, n: Hashable) -> str:
        """The halo colour of a visited node."""
        return self.colors.get(n, _PATH_COLOR)


def _is_tool_edge(g: nx.DiGraph, u: Hashable, v: Hashable) -> bool:
    data = g.edges[u, v]
    return "tool" in (data.get("kinds") or [data.get("kind")])


#: node kinds a run passes through between two agents' turns: a nested pattern's start and
#: end (entering and leaving it) and a join
_CONNECTORS = frozenset({"start", "end", "join"})


def _through(g: nx.DiGraph, a: Hashable, b: Hashable) -> list[Hashable]:
    """The shortest way from ``a`` to ``b`` whose inner nodes are all connectors (a nested
    pattern's start/end, a join), as its nodes; ``[]`` if there is none."""
    back: dict[Hashable, Hashable] = {a: a}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        for v in g.successors(u):
            if v == b:
                out = [b, u]
                while out[-1] != a:
                    out.append(back[out[-1]])
                return out[::-1]
            if v not in back and _node_kind(g, v) in _CONNECTORS and not _is_tool_edge(g, u, v):
                back[v] = u
                queue.append(v)
    return []


def _outermost(g: nx.DiGraph, kind: str) -> list[Hashable]:
    """The composition's own start or end node (not a nested pattern's)."""
    clusters = g.graph.get("clusters") or {}
    return [n for n in g.nodes if _node_kind(g, n) == kind
            and g.nodes[n].get("parent") not in clusters]


def _steps_taken(g: nx.DiGraph, resolved: Sequence[Hashable]
                 ) -> tuple[set[tuple[Hashable, Hashable]], Hashable | None]:
    """The edges between consecutive steps, and the agent whose turn was the last. An agent
    used as a tool runs inside its caller's turn, which goes on after it: the step after it
    continues from the caller (and a run that ends there ends with the caller's answer)."""
    edges: set[tuple[Hashable, Hashable]] = set()
    callers: list[Hashable] = []  # whose turns go on under agents used as tools
    for a, b in pairwise(resolved):
        if g.has_edge(a, b):
            edges.add((a, b))
            callers = [*callers, a] if _is_tool_edge(g, a, b) else []
            continue
        caller = next((c for c in reversed(callers) if g.has_edge(c, b)), None)
        if caller is not None:
            edges.add((caller, b))
        else:  # out of a nested pattern and/or into one: through its end and start nodes
            edges.update(pairwise(_through(g, a, b)))
        callers = []
    last = callers[0] if callers else (resolved[-1] if resolved else None)
    return edges, last


def _resolve_overlay(g: nx.DiGraph, overlay: Sequence[str] | RunOverlay | None
                     ) -> _Overlay | None:
    """Match a run to nodes and edges (a plain sequence is a run path).

    Agents match by id, then by label, then to the graph's one dynamic node; ids matching
    nothing are skipped, but the step numbers keep counting them so they line up with
    ``RunResult.path``. The edges lit are those between consecutive steps, through a join
    or decision node between them, from the start to the agents that began, into the end
    when the run finished, and to the tools that were called; a decision node gets its
    state (waiting, approved, rejected) as its note and colour.
    """
    if overlay is None:
        return None
    if isinstance(overlay, str):
        overlay = [overlay]
    run = overlay if isinstance(overlay, RunOverlay) else RunOverlay(path=tuple(overlay))
    by_label: dict[str, list[Hashable]] = {}
    for n in g.nodes:
        by_label.setdefault(_label(g, n), []).append(n)
    dynamic = [n for n in g.nodes if _node_kind(g, n) == "dynamic"]
    steps: dict[Hashable, list[int]] = {}
    resolved: list[Hashable] = []
    for i, name in enumerate(run.path, start=1):
        if name in g:
            node: Hashable | None = name
        elif len(by_label.get(str(name), [])) == 1:
            node = by_label[str(name)][0]
        elif len(dynamic) == 1:  # specialists made at run time are drawn as that one node
            node = dynamic[0]
        else:
            node = None
        if node is not None:
            steps.setdefault(node, []).append(i)
            resolved.append(node)
    edges, last = _steps_taken(g, resolved)
    for u, v in edges:  # a nested pattern's start and end the run passed through
        steps.setdefault(u, [])
        steps.setdefault(v, [])
    if not isinstance(overlay, RunOverlay):
        return _Overlay(steps, edges)
    notes: dict[Hashable, str] = {}
    colors: dict[Hashable, str] = {}

    def light(u: Hashable, v: Hashable) -> None:
        edges.add((u, v))
        for n in (u, v):
            steps.setdefault(n, [])

    kinds = {n: _node_kind(g, n) for n in g.nodes}
    for i, u in enumerate(resolved):
        later = set(resolved[i + 1:])
        # a join or a decision between two steps (parallel branches, human approval)
        for x in g.successors(u):
            if kinds[x] in ("join", "interrupt") and any(w in later for w in g.successors(x)):
                light(u, x)
                for w in g.successors(x):
                    if w in later:
                        light(x, w)
        for s in g.predecessors(u):  # the start into the agents that began
            if kinds[s] == "start" and (i == 0 or not g.has_edge(resolved[i - 1], u)):
                light(s, u)
    if resolved:  # from the composition's start down into the first nested pattern
        for start in _outermost(g, "start"):
            for u, v in pairwise(_through(g, start, resolved[0])):
                light(u, v)
    decisions = [x for u in resolved for x in g.successors(u) if kinds[x] == "interrupt"]
    if run.approval is not None and decisions:
        x = decisions[-1]
        light(next(u for u in reversed(resolved) if g.has_edge(u, x)), x)
        notes[x] = run.approval
        colors[x] = APPROVAL_COLORS.get(run.approval, _PATH_COLOR)
        if run.approval == "rejected":
            for e in g.successors(x):
                if kinds[e] == "end":
                    light(x, e)
            for end in _outermost(g, "end"):  # a rejection inside a nested pattern ends all
                for u, v in pairwise(_through(g, x, end)):
                    light(u, v)
    if run.finished and last is not None and run.approval != "rejected":
        for e in g.successors(last):
            if kinds[e] == "end":
                light(last, e)
        for end in _outermost(g, "end"):  # out of the nested patterns it ended in
            for u, v in pairwise(_through(g, last, end)):
                light(u, v)
    called: dict[Hashable, int] = {}
    for agent, tool in run.tools:
        target = f"{agent}:{tool}"
        if target in g and g.has_edge(agent, target):
            light(agent, target)
            called[target] = called.get(target, 0) + 1
        elif agent in g:  # an agent (or pattern) used as a tool: its edge is lit
            for v in g.successors(agent):
                if _is_tool_edge(g, agent, v) and g.edges[agent, v].get("label") == tool:
                    light(agent, v)
    for node, times in called.items():
        notes[node] = "called" if times == 1 else f"called {times}×"
    return _Overlay(steps, edges, notes, colors)


def _steps_text(steps: list[int]) -> str:
    if len(steps) > 6:
        return ",".join(map(str, steps[:3])) + ",…," + str(steps[-1])
    return ",".join(map(str, steps))


def _text_width(text: str, size: float, *, bold: bool = False) -> float:
    total = 0
    for ch in text:
        o = ord(ch)
        if 32 <= o < 127:
            total += _ASCII_WIDTHS[o - 32]
        elif unicodedata.east_asian_width(ch) in "WF":
            total += 1000
        elif not unicodedata.combining(ch):
            total += 720
    return total * size / 1000 * (1.08 if bold else 1.0)
