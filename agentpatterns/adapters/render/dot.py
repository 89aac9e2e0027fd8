"""Graphviz DOT source for a topology graph, in the shared shapes, colours and legend.

Running ``dot`` on it is left to :mod:`agentpatterns.adapters.render`, which owns the
timeout and the errors.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape as _xml_escape

from agentpatterns.adapters.render.layout import _layers, _left_to_right
from agentpatterns.adapters.render.scheme import (
    _BUNDLE,
    _CLUSTER_COLORS,
    _EDGE_STYLES,
    _NODE_COLORS,
    _PATH_COLOR,
    _PATH_TEXT,
    EDGE_KINDS,
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
)

if TYPE_CHECKING:
    import networkx as nx

_DOT_EDGE_STYLE = {
    "handoff": "solid",
    "route": "bold",
    "sequence": "solid",
    "tool": "dashed",
    "loop": "bold",
    "fanout": "solid",
    "join": "dashed",
    "interrupt": "dotted",
}


def _dot_quote(text: str) -> str:
    # an id is taken literally except for \" ; a trailing backslash would eat the quote
    return '"' + text.replace('"', '\\"').rstrip("\\") + '"'


def _dot_label(text: str) -> str:
    text = text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _html(text: str) -> str:
    return _xml_escape(text, {'"': "&quot;"})


def _dot_alpha(color: str, dim: bool) -> str:
    return color + "4d" if dim else color


def _dot_attrs(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + "]"


def to_dot(g: nx.DiGraph, *, overlay: Sequence[str] | RunOverlay | None = None) -> str:
    """Render the graph as Graphviz DOT source with this module's shapes, colours and legend.

    Args:
        g: A topology graph.
        overlay: A run path; see :func:`render_svg`.

    Returns:
        DOT source for ``dot -Tsvg`` / ``dot -Tpng``.
    """
    ids = _stable_ids(g)
    ov = _resolve_overlay(g, overlay)
    nodes = _node_order(g)
    rank = {n: i for i, n in enumerate(nodes)}
    name = _clean(g.graph.get("name") or "")
    font = '"Helvetica,Arial,sans-serif"'
    out = [f"digraph {_dot_quote(name or 'pattern')} {{"]
    lr = _left_to_right(g)
    _, back = _layers(g)

    def stacked(top: Hashable, bottom: Hashable) -> bool:
        """Whether ``bottom`` is the only node ``top`` leads forward to (dot stacks them)."""
        ahead = [w for w in g.successors(top) if w != top and (top, w) not in back]
        return ahead == [bottom]

    graph_attrs = {
        "rankdir": "LR" if lr else "TB",
        "nodesep": "0.3",
        "ranksep": "1.6" if lr else "0.45",  # room for a wide fan to spread out
        "pad": "0.2",
        "bgcolor": "white",
        "fontname": font,
        "fontsize": "14",
        "labelloc": "t",
        "labeljust": "l",
        "newrank": "true",
    }
    if name:
        graph_attrs["label"] = _dot_label(name)
    out.append(f"  graph {_dot_attrs(graph_attrs)};")
    out.append(f'  node [fontname={font}, fontsize=11, margin="0.14,0.06", height=0.36];')
    out.append(f"  edge [fontname={font}, fontsize=9, arrowsize=0.7];")
    node_lines: dict[Hashable, str] = {}
    for n in nodes:
        kind = _node_kind(g, n)
        fill, stroke, text = _NODE_COLORS[kind]
        dim = ov is not None and n not in ov.steps
        label = _label(g, n)
        attrs = {
            "id": f'"node-{ids[n]}"',
            "class": f'"{kind}{" visited" if ov is not None and n in ov.steps else ""}'
            f'{" dimmed" if dim else ""}"',
            "label": _dot_label(label),
            "style": '"filled"',
            "fillcolor": f'"{_dot_alpha(fill, dim)}"',
            "color": f'"{_dot_alpha(stroke, dim)}"',
            "fontcolor": f'"{_dot_alpha(text, dim)}"',
        }
        if kind in ("start", "end"):
            attrs.update(shape="circle" if kind == "start" else "doublecircle", fontsize="9")
            attrs.update(margin="0.02", width="0.3")
        elif kind == "agent":
            attrs.update(shape="box", style='"rounded,filled"')
        elif kind == "tool":
            attrs.update(shape="box")
        elif kind == "interrupt":
            attrs.update(shape="hexagon", margin='"0.06,0.04"')
        elif kind == "join":
            attrs.update(shape="diamond", fontsize="9", margin='"0.02,0.02"', height="0.3")
        else:
            attrs.update(shape="box", style='"rounded,dashed,filled"')
        description = g.nodes[n].get("description")
        if description:
            attrs["tooltip"] = _dot_label(_clean(description))
        if ov is not None and n in ov.steps:
            attrs["penwidth"] = "2.5"
            attrs["color"] = f'"{ov.color(n)}"'
            if ov.note(n):  # the step numbers (or a decision's state), as a second line
                attrs["label"] = (
                    f'<{_html(label)}<BR/><FONT POINT-SIZE="8" '
                    f'COLOR="{ov.colors.get(n, _PATH_TEXT)}">{_html(ov.note(n))}</FONT>>'
                )
        node_lines[n] = f"{_dot_quote(str(n))} {_dot_attrs(attrs)};"
    members, children = _clusters(g)
    boxed = {n for ms in members.values() for n in ms}
    out += [f"  {node_lines[n]}" for n in nodes if n not in boxed]
    cids = _cluster_ids(g)
    fill, stroke, text = _CLUSTER_COLORS

    def cluster(c: str, depth: int) -> None:  # a nested pattern: a labelled cluster
        pad = "  " * depth
        out.append(f"{pad}subgraph cluster_{cids[c]} {{")
        out.append(f'{pad}  graph [label={_dot_label(_clean(c))}, style="rounded,filled", '
                   f'fillcolor="{fill}", color="{stroke}", fontcolor="{text}", fontsize=12];')
        out.extend(f"{pad}  {node_lines[n]}" for n in members[c])
        for sub in children.get(c, []):
            cluster(sub, depth + 1)
        out.append(f"{pad}}}")

    for c in children.get("", []):
        cluster(c, 1)
    edge_kinds: set[str] = set()
    fan_in: dict[tuple[Hashable, str], int] = {}
    for u, v in g.edges:
        if (u, v) not in back:
            key = (v, _edge_kind(g, u, v))
            fan_in[key] = fan_in.get(key, 0) + 1
    for u, v in sorted(g.edges, key=lambda e: (rank[e[0]], rank[e[1]])):
        kind = _edge_kind(g, u, v)
        edge_kinds.add(kind)
        color, width, _ = _EDGE_STYLES[kind]
        walked = ov is not None and (u, v) in ov.edges
        dim = ov is not None and not walked
        attrs = {
            "class": f'"{kind}{" visited" if walked else ""}{" dimmed" if dim else ""}"',
            "color": f'"{_PATH_COLOR if walked else _dot_alpha(color, dim)}"',
            "fontcolor": f'"{_dot_alpha(color, dim)}"',
            "penwidth": f"{(width + 1.5 if walked else width) * 0.85:.2f}",
            "style": _DOT_EDGE_STYLE[kind],
        }
        label = _edge_label(g, u, v)
        if label:
            attrs["label"] = _dot_label(f" {label} ")
        tail, head = u, v
        if fan_in.get((v, kind), 0) > _BUNDLE:  # a big fan-in shares one arrowhead
            attrs["samehead"] = f'"{kind}"'
        if (u, v) in back:
            # declared forwards and drawn backwards, so dot ranks by this module's layering
            # (its own cycle breaking depends on declaration order) and routes it like any edge
            tail, head = v, u
            attrs["dir"] = "back"
            if stacked(v, u):  # it would lie on top of the way out: send it along the side
                attrs["tailport"] = attrs["headport"] = "s" if lr else "e"
        out.append(f"  {_dot_quote(str(tail))} -> {_dot_quote(str(head))} {_dot_attrs(attrs)};")
    out += _dot_legend(g, [k for k in EDGE_KINDS if k in edge_kinds], ov is not None, lr)
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_legend(g: nx.DiGraph, kinds: list[str], overlay: bool, lr: bool) -> list[str]:
    """A legend cluster below the drawing: one short sample edge per edge kind drawn."""
    entries = [(k, *_EDGE_STYLES[k][:2], _DOT_EDGE_STYLE[k]) for k in kinds]
    if overlay:
        entries.append(("run path", _PATH_COLOR, 3.0, "solid"))
    if not entries:
        return []
    prefix = "__legend__"
    while any(str(n).startswith(prefix) for n in g.nodes):
        prefix += "_"
    names = [(f'"{prefix}{i}a"', f'"{prefix}{i}b"') for i in range(len(entries))]
    out = [
        "  subgraph cluster_legend {",
        '    graph [label="", color="#e5e7eb", bgcolor="#f9fafb", style="rounded", margin=4];',
        '    node [shape=point, width=0.01, height=0.01, color="#f9fafb", class="legend"];',
    ]
    # samples must run across the page: within one rank top-down, across two left-right
    if lr:
        out.append("    { rank=same; " + " ".join(f"{a};" for a, _ in names) + " }")
        out.append("    { rank=same; " + " ".join(f"{b};" for _, b in names) + " }")
    else:
        out.append("    { rank=same; " + " ".join(f"{a}; {b};" for a, b in names) + " }")
    for i, ((kind, color, width, style), (a, b)) in enumerate(zip(entries, names, strict=True)):
        out.append(
            f'    {b} [shape=plaintext, width=0, height=0.2, margin="0.1,0", fontsize=9, '
            f'label="{kind}", fontcolor="#374151"];'
        )
        out.append(
            f'    {a} -> {b} [color="{color}", penwidth={width * 0.85:.2f}, style={style}, '
            'minlen=1, class="legend"];'
        )
        if i:  # keeps the entries in order (a left-to-right rank runs bottom-up)
            pair = f"{a} -> {names[i - 1][0]}" if lr else f"{names[i - 1][1]} -> {a}"
            out.append(f"    {pair} [style=invis, minlen=0];")
    out.append("  }")
    # hang the legend below the last rank, its middle under the sinks (usually END)
    sinks = [n for n in _node_order(g) if g.out_degree(n) == 0] or _node_order(g)[-1:]
    middle = names[len(names) // 2][0]
    out += [f"  {_dot_quote(str(n))} -> {middle} [style=invis];" for n in sinks]
    return out
