"""Mermaid flowchart text of a topology, with the same node shapes and run overlay as SVG."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from agentpatterns.adapters.render.layout import _left_to_right
from agentpatterns.adapters.render.scheme import (
    _DIM_OPACITY,
    _EDGE_STYLES,
    _NODE_COLORS,
    _PATH_COLOR,
    EDGE_KINDS,
    NODE_KINDS,
    RunOverlay,
    _clean,
    _cluster_ids,
    _clusters,
    _edge_kind,
    _edge_label,
    _label,
    _node_kind,
    _node_order,
    _resolve_overlay,
    _stable_ids,
    _steps_text,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_mermaid"]


# --------------------------------------------------------------------------- Mermaid

_MERMAID_ARROW = {"tool": "-.->", "interrupt": "-.->", "loop": "==>", "route": "==>"}


def _mermaid_text(text: str) -> str:
    # Mermaid entity codes; "#" first, since every code starts with one
    for a, b in (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(a, b)
    return text


def _mermaid_shape(kind: str, text: str) -> str:
    q = f'"{text}"'
    return {
        "start": f"(({q}))",
        "end": f"((({q})))",
        "tool": f"[[{q}]]",
        "interrupt": f"{{{{{q}}}}}",
        "join": f"{{{q}}}",
        "dynamic": f"[/{q}/]",
    }.get(kind, f"({q})")


def to_mermaid(g: nx.DiGraph, *, overlay: Sequence[str] | RunOverlay | None = None) -> str:
    """Render the graph as a Mermaid ``flowchart``, deterministically.

    Nodes are listed start first, end last and otherwise by id; edges by their endpoints;
    ids are the node ids reduced to ``[A-Za-z0-9_]`` (made unique with ``_2``, ``_3``...),
    so the text only changes when the topology does and is fit for snapshot tests.

    Args:
        g: A topology graph (see the module docstring for the node and edge attributes).
        overlay: A run path (node ids in the order they ran). Visited nodes get the class
            ``visited`` and their step numbers, the edges walked are highlighted, the rest
            gets the class ``dimmed``.

    Returns:
        The Mermaid source, ending with a newline.
    """
    ids = _stable_ids(g)
    ov = _resolve_overlay(g, overlay)
    nodes = _node_order(g)
    rank = {n: i for i, n in enumerate(nodes)}
    lines: list[str] = []
    name = g.graph.get("name")
    if name:
        title = _clean(name).replace("\\", "\\\\").replace('"', '\\"')
        lines += ["---", f'title: "{title}"', "---"]
    lines.append("flowchart TD" if not _left_to_right(g) else "flowchart LR")
    members, children = _clusters(g)
    boxed = {n for ms in members.values() for n in ms}
    cids = _cluster_ids(g)

    def node_line(n: Hashable, indent: str) -> str:
        kind = _node_kind(g, n)
        text = _mermaid_text(_label(g, n))
        if ov is not None and n in ov.notes:
            text += "<br/>" + _mermaid_text(ov.notes[n])
        elif ov is not None and ov.steps.get(n):
            text += "<br/>step" + ("s " if len(ov.steps[n]) > 1 else " ")
            text += _steps_text(ov.steps[n])
        return f"{indent}{ids[n]}{_mermaid_shape(kind, text)}:::kind_{kind}"

    def block(c: str, depth: int) -> None:
        indent = "    " * depth
        label = _mermaid_text(_clean(c))
        lines.append(f'{indent}subgraph {cids[c]}["{label}"]')
        lines.extend(node_line(n, indent + "    ") for n in members[c])
        for sub in children.get(c, []):
            block(sub, depth + 1)
        lines.append(f"{indent}end")

    lines.extend(node_line(n, "    ") for n in nodes if n not in boxed)
    for c in children.get("", []):  # nested patterns: subgraph blocks, nested as they are
        block(c, 1)
    edges = sorted(g.edges, key=lambda e: (rank[e[0]], rank[e[1]]))
    by_kind: dict[str, list[int]] = {}
    for i, (u, v) in enumerate(edges):
        kind = _edge_kind(g, u, v)
        by_kind.setdefault(kind, []).append(i)
        arrow = _MERMAID_ARROW.get(kind, "-->")
        label = _edge_label(g, u, v)
        text = f'|"{_mermaid_text(label)}"|' if label else ""
        lines.append(f"    {ids[u]} {arrow}{text} {ids[v]}")
    kinds = {_node_kind(g, n) for n in nodes}
    for kind in NODE_KINDS:
        if kind in kinds:
            fill, stroke, color = _NODE_COLORS[kind]
            dash = ",stroke-dasharray:5 3" if kind == "dynamic" else ""
            lines.append(
                f"    classDef kind_{kind} fill:{fill},stroke:{stroke},color:{color}{dash}"
            )
    for kind in EDGE_KINDS:
        if kind in by_kind:
            color, width, dash_pattern = _EDGE_STYLES[kind]
            dash = ""
            if dash_pattern is not None:
                dash = ",stroke-dasharray:" + " ".join(f"{max(d, 1):g}" for d in dash_pattern)
            idx = ",".join(map(str, by_kind[kind]))
            lines.append(f"    linkStyle {idx} stroke:{color},stroke-width:{width:g}px{dash}")
    if ov is not None:
        lines.append(f"    classDef visited stroke:{_PATH_COLOR},stroke-width:3px")
        lines.append(f"    classDef dimmed opacity:{_DIM_OPACITY}")
        visited = [ids[n] for n in nodes if n in ov.steps]
        dimmed = [ids[n] for n in nodes if n not in ov.steps]
        if visited:
            lines.append(f"    class {','.join(visited)} visited")
        for n in nodes:
            if n in ov.colors:  # a decision's state: its own colour
                lines.append(f"    style {ids[n]} stroke:{ov.colors[n]},stroke-width:3px")
        if dimmed:
            lines.append(f"    class {','.join(dimmed)} dimmed")
        walked = [str(i) for i, e in enumerate(edges) if e in ov.edges]
        if walked:
            lines.append(f"    linkStyle {','.join(walked)} stroke:{_PATH_COLOR},stroke-width:4px")
    return "\n".join(lines) + "\n"
