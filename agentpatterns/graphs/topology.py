"""A pattern's topology as data: the pattern view and the compiled view as ``nx.DiGraph``.

The pattern view is what the builder declared; the compiled view is what LangGraph built
(``graph.get_graph()``), with the work that runs inside a node folded back in as ``tool``
edges. :func:`view_differences` lists every way the two disagree. Public through
:mod:`agentpatterns.adapters.networkx`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from agentpatterns.graphs.pattern import END_ID, START_ID, Pattern
from agentpatterns.nodes.agent import Agent

__all__ = ["to_networkx", "view_differences"]


def to_networkx(target: Any, *, nested: bool = True) -> nx.DiGraph:
    """The topology of a pattern, an agent network or a compiled LangGraph graph.

    Args:
        target: A ``Pattern``; an ``Agent`` (as ``from_agent(agent)``); or a compiled
            LangGraph graph (anything with ``get_graph()``, e.g. what ``pattern.compile()``
            returns).
        nested: For a composition: draw each nested pattern as a cluster of its own nodes
            (default); ``False`` keeps it one node of kind ``pattern``, as LangGraph's
            ``get_graph()`` shows a subgraph.

    Returns:
        A ``nx.DiGraph``. Every node has ``kind`` (``start``, ``end``, ``agent``, ``tool``,
        ``interrupt``, ``join``, ``dynamic``), ``label`` and ``description``; every edge
        has ``kind``, ``label`` (the condition or the bound text), ``bound`` (loops) and
        ``kinds`` (all kinds declared for that pair; ``kind`` is the first). Graph
        attributes: ``name``, ``pattern_kind`` and ``view`` (``"pattern"``/``"compiled"``).
        In the pattern view every node has ``parent`` (the pattern it is in), and
        ``clusters`` maps each nested pattern to its ``label``, ``parent`` and ``kind``;
        a nested pattern's structural nodes are named ``<pattern>:<node>``.

    Raises:
        TypeError: ``target`` is none of these.
    """
    if isinstance(target, Agent):
        from agentpatterns.graphs.handoffs import as_pattern

        target = as_pattern(target)
    if isinstance(target, Pattern):
        return _from_pattern(target, nested=nested)
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


def _from_pattern(pattern: Pattern, *, nested: bool = True) -> nx.DiGraph:
    g = nx.DiGraph(name=pattern.name, pattern_kind=pattern.kind, view="pattern", clusters={})
    _add_pattern(g, pattern, root=True, nested=nested)
    return g


def _add_pattern(g: nx.DiGraph, pattern: Pattern, *, root: bool, nested: bool) -> None:
    """Add ``pattern``'s nodes and edges; a nested pattern becomes a cluster of its own nodes
    (``parent`` names it), entered at ``<name>:__start__`` and left at ``<name>:__end__``."""
    inner = pattern.pattern_map if nested else {}

    def ident(node: str, kind: str) -> str:
        return node if root or kind in ("agent", "pattern") else f"{pattern.name}:{node}"

    kinds = {n.id: n.kind for n in pattern.nodes}
    for n in pattern.nodes:
        if n.id in inner:
            child = inner[n.id]
            g.graph["clusters"][child.name] = {"label": child.name, "parent": pattern.name,
                                               "kind": child.kind,
                                               "description": child.description}
            _add_pattern(g, child, root=False, nested=True)
            continue
        label = n.label or n.id
        g.add_node(ident(n.id, n.kind), kind=n.kind, label=label, description=n.description,
                   parent=pattern.name)
    for e in pattern.edges:
        source = (f"{e.source}:{END_ID}" if e.source in inner
                  else ident(e.source, kinds.get(e.source, "")))
        target = (f"{e.target}:{START_ID}" if e.target in inner
                  else ident(e.target, kinds.get(e.target, "")))
        _add_edge(g, source, target, e.kind, e.label, e.bound)


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
    p = to_networkx(pattern, nested=False)  # a subgraph is one node of the compiled graph
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
