"""Draw a pattern's topology: Mermaid text, SVG and PNG, offline.

The input is the ``nx.DiGraph`` that :func:`agentpatterns.adapters.networkx.to_networkx`
produces: every node has a ``kind`` (``start``, ``end``, ``agent``, ``tool``, ``interrupt``,
``join``, ``dynamic``) and a ``label``; every edge has a ``kind`` (``handoff``, ``route``,
``sequence``, ``tool``, ``loop``, ``fanout``, ``join``, ``interrupt``) and maybe a ``label``.

SVG and PNG come from Graphviz ``dot`` when it is on ``PATH`` and otherwise from a small
pure-Python layered layout (SVG always; PNG through matplotlib when it is installed).
Both engines use the same shapes, colours and legend, and both mark a run's path
(``overlay``): visited nodes carry the CSS class ``visited``, a halo and a second line with
the step numbers at which they ran; everything else is dimmed. No node is ever hidden: wide
fan-outs (more than :data:`MAX_LAYER_WIDTH` nodes side by side) switch the drawing to
left-to-right so that every branch keeps a readable, horizontal label.

Example:
    >>> import networkx as nx
    >>> g = nx.DiGraph(name="demo")
    >>> g.add_node("__start__", kind="start", label="START")
    >>> g.add_node("Writer", kind="agent", label="Writer")
    >>> g.add_edge("__start__", "Writer", kind="sequence")
    >>> print(to_mermaid(g).splitlines()[3])
    flowchart TD
"""

from __future__ import annotations

import bisect
import io
import re
import shutil
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as _xml_escape

from agentpatterns.errors import AgentPatternsError, InputError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DOT_TIMEOUT",
    "MAX_LAYER_WIDTH",
    "RenderError",
    "has_dot",
    "render_png",
    "render_svg",
    "to_dot",
    "to_mermaid",
]

DOT_TIMEOUT = 30.0
"""Seconds a ``dot`` subprocess may take before it is killed."""

MAX_LAYER_WIDTH = 12
"""More nodes than this side by side in one layer switches the drawing to left-to-right."""


class RenderError(AgentPatternsError, RuntimeError):
    """Graphviz ``dot`` was asked for but is missing, failed, or timed out."""


# --------------------------------------------------------------------------- visual scheme

NODE_KINDS = ("start", "end", "agent", "tool", "interrupt", "join", "dynamic")
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
}

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
_MERMAID_ARROW = {"tool": "-.->", "interrupt": "-.->", "loop": "==>", "route": "==>"}

_BUNDLE = 6  # more edges of one kind than this into one node share a single arrowhead
_Point = tuple[float, float]
_LegendEntry = tuple[str, str, str, float]  # what (edge/path/node), kind, text, width
_PATH_COLOR = "#f97316"  # the run-path overlay
_PATH_TEXT = "#9a3412"
_DIM_OPACITY = 0.3
_FONT = "Helvetica, Arial, DejaVu Sans, Liberation Sans, sans-serif"
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


def has_dot() -> bool:
    """Whether Graphviz ``dot`` is on ``PATH``.

    Returns:
        True when ``render_svg``/``render_png`` with ``engine="auto"`` will use Graphviz.
    """
    return shutil.which("dot") is not None


# --------------------------------------------------------------------------- shared helpers


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


@dataclass(frozen=True)
class _Overlay:
    steps: dict[Hashable, list[int]]  # node -> 1-based positions in the run path
    edges: set[tuple[Hashable, Hashable]]  # edges between consecutive steps


def _resolve_overlay(g: nx.DiGraph, overlay: Sequence[str] | None) -> _Overlay | None:
    """Match a run path to nodes: by id, then by label, then to the graph's one dynamic node.

    Ids matching nothing (e.g. a tool call the graph does not draw) are skipped, but the
    step numbers keep counting them so they line up with ``RunResult.path``.
    """
    if overlay is None:
        return None
    if isinstance(overlay, str):
        overlay = [overlay]
    by_label: dict[str, list[Hashable]] = {}
    for n in g.nodes:
        by_label.setdefault(_label(g, n), []).append(n)
    dynamic = [n for n in g.nodes if _node_kind(g, n) == "dynamic"]
    steps: dict[Hashable, list[int]] = {}
    resolved: list[Hashable] = []
    for i, name in enumerate(overlay, start=1):
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
    edges = {(a, b) for a, b in pairwise(resolved) if g.has_edge(a, b)}
    return _Overlay(steps, edges)


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


def _layers(g: nx.DiGraph) -> tuple[dict[Hashable, int], set[tuple[Hashable, Hashable]]]:
    """Longest-path layers after breaking cycles at DFS back edges.

    Returns:
        The layer of every node, and the set of edges that point backwards (cycle edges).
    """
    order = _node_order(g)
    pos = {n: i for i, n in enumerate(order)}

    def succ_key(u: Hashable) -> Any:
        # follow forward-looking edges first so that loops, not their bodies, become back edges
        return lambda v: (_edge_kind(g, u, v) == "loop", _node_kind(g, v) == "end", pos[v])

    back: set[tuple[Hashable, Hashable]] = set()
    state: dict[Hashable, int] = {}  # 1 on the DFS stack, 2 finished
    roots = [n for n in order if _node_kind(g, n) == "start"]
    roots += [n for n in order if g.in_degree(n) == 0 and n not in roots] + order
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(sorted(g.successors(root), key=succ_key(root))))]
        while stack:
            u, it = stack[-1]
            for v in it:
                if v == u:
                    continue
                if state.get(v) == 1:
                    back.add((u, v))
                elif v not in state:
                    state[v] = 1
                    stack.append((v, iter(sorted(g.successors(v), key=succ_key(v)))))
                    break
            else:
                state[u] = 2
                stack.pop()
    preds: dict[Hashable, list[Hashable]] = {n: [] for n in g.nodes}
    for u, v in g.edges:
        if u == v:
            continue
        a, b = (v, u) if (u, v) in back else (u, v)
        preds[b].append(a)
    layer: dict[Hashable, int] = {}

    def depth(n: Hashable) -> int:  # iterative longest path over the acyclic edge set
        todo = [n]
        while todo:
            x = todo[-1]
            missing = [p for p in preds[x] if p not in layer]
            if missing:
                todo.extend(missing)
                continue
            todo.pop()
            layer[x] = max((layer[p] + 1 for p in preds[x]), default=0)
        return layer[n]

    for n in order:
        depth(n)
    return layer, back


def _left_to_right(g: nx.DiGraph) -> bool:
    layer, _ = _layers(g)
    counts: dict[int, int] = {}
    for n in layer.values():
        counts[n] = counts.get(n, 0) + 1
    return max(counts.values(), default=0) > MAX_LAYER_WIDTH


# --------------------------------------------------------------------------- Mermaid


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


def to_mermaid(g: nx.DiGraph, *, overlay: Sequence[str] | None = None) -> str:
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
    for n in nodes:
        kind = _node_kind(g, n)
        text = _mermaid_text(_label(g, n))
        if ov is not None and n in ov.steps:
            text += "<br/>step" + ("s " if len(ov.steps[n]) > 1 else " ")
            text += _steps_text(ov.steps[n])
        lines.append(f"    {ids[n]}{_mermaid_shape(kind, text)}:::kind_{kind}")
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
        if dimmed:
            lines.append(f"    class {','.join(dimmed)} dimmed")
        walked = [str(i) for i, e in enumerate(edges) if e in ov.edges]
        if walked:
            lines.append(f"    linkStyle {','.join(walked)} stroke:{_PATH_COLOR},stroke-width:4px")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Graphviz dot


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


def to_dot(g: nx.DiGraph, *, overlay: Sequence[str] | None = None) -> str:
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
            attrs["color"] = f'"{_PATH_COLOR}"'
            attrs["label"] = (
                f'<{_html(label)}<BR/><FONT POINT-SIZE="8" COLOR="{_PATH_TEXT}">'
                f"{_html(_steps_text(ov.steps[n]))}</FONT>>"
            )
        out.append(f"  {_dot_quote(str(n))} {_dot_attrs(attrs)};")
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


def _run_dot(source: str, fmt: str) -> bytes:
    """Run ``dot -T<fmt>`` on ``source`` with a timeout."""
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(
            "Graphviz 'dot' is not on PATH; install it (apt-get install graphviz, "
            "brew install graphviz) or pass engine='python'"
        )
    args = [exe, f"-T{fmt}", *(["-Gdpi=144"] if fmt == "png" else [])]
    try:
        proc = subprocess.run(
            args, input=source.encode("utf-8"), capture_output=True, timeout=DOT_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(
            f"Graphviz 'dot' took longer than {DOT_TIMEOUT:g} s; pass engine='python'"
        ) from exc
    except OSError as exc:  # found on PATH but not runnable
        raise RenderError(f"Graphviz 'dot' could not be run: {exc}") from exc
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"Graphviz 'dot' failed (exit {proc.returncode}): {err}")
    return proc.stdout


# --------------------------------------------------------------------------- python layout


@dataclass(eq=False)
class _Item:
    """A node or a dummy point of a long edge, placed in one rank of the layout."""

    rank: int
    lo: float  # extent towards smaller order coordinates
    hi: float  # extent towards larger order coordinates
    thick: float  # extent along the rank axis
    node: Hashable | None = None
    order: float = 0.0  # position within the rank (barycenter ordering)
    o: float = 0.0  # order-axis coordinate of the centre
    up: list[_Item] = field(default_factory=list)
    down: list[_Item] = field(default_factory=list)


@dataclass
class _LaidEdge:
    u: Hashable
    v: Hashable
    kind: str
    label: str
    chain: list[_Item]  # in layout direction (top to bottom); reversed for back edges
    back: bool
    label_item: _Item | None


@dataclass
class _Shape:
    kind: str
    label: str
    cx: float
    cy: float
    w: float
    h: float
    font: float


_FONT_NODE = 13.0
_FONT_SMALL = 10.0
_FONT_EDGE = 11.0
_LINE_H = 15.0


def _node_size(kind: str, label: str, steps: str = "") -> tuple[float, float, float]:
    """Width, height and font size of a node's shape; ``steps`` adds a second line."""
    extra = _LINE_H - 2 if steps else 0.0
    sw = _text_width(steps, _FONT_SMALL, bold=True)
    if kind in ("start", "end"):
        tw = max(_text_width(label, _FONT_SMALL), sw)
        d = max(30.0, tw + (14 if kind == "start" else 20), 30 + extra)
        return d, d, _FONT_SMALL
    tw = max(_text_width(label, _FONT_NODE), sw)
    if kind == "interrupt":
        return tw + 44, 36.0 + extra, _FONT_NODE
    if kind == "join":
        tw = max(_text_width(label, _FONT_SMALL), sw)
        return max(44.0, tw * 1.6 + 16), 30.0 + extra * 1.6, _FONT_SMALL
    return max(64.0, tw + 26), 34.0 + extra, _FONT_NODE


@dataclass
class _Layout:
    width: float
    height: float
    lr: bool
    shapes: dict[Hashable, _Shape]
    edges: list[tuple[_LaidEdge, list[tuple[float, float]]]]  # polyline control points
    loops: list[tuple[Hashable, str, str]]  # self loops: node, kind, label
    label_pos: dict[int, tuple[float, float]]  # edge index -> centre of its label


def _isotonic_place(items: list[_Item], desired: list[float], weights: list[float]) -> None:
    """Place items of one rank as close to ``desired`` as their order and sizes allow.

    With ``s_i`` the least distance of item ``i`` from item 0, the positions ``o_i - s_i``
    must not decrease, so the least-squares placement is an isotonic regression (PAVA).
    """
    s = [0.0]
    for a, b in pairwise(items):
        gap = 24.0 if a.node is not None and b.node is not None else 10.0
        if a.node is None and b.node is None:
            gap = 6.0
        s.append(s[-1] + a.hi + gap + b.lo)
    blocks: list[list[float]] = []  # [mean, weight, count]
    targets = [d - si for d, si in zip(desired, s, strict=True)]
    for t, w in zip(targets, weights, strict=True):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks[-1]
            blocks[-1] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2]
    i = 0
    for mean, _, count in blocks:
        for _ in range(int(count)):
            items[i].o = mean + s[i]
            i += 1


def _crossings(upper: list[_Item]) -> int:
    """Edge crossings between a rank and the next: inversions of the lower ends' order."""
    pairs = sorted((a.order, b.order) for a in upper for b in a.down)
    seen: list[float] = []
    count = 0
    for _, lo in pairs:
        idx = bisect.bisect_right(seen, lo)
        count += len(seen) - idx
        seen.insert(idx, lo)
    return count


def _chains(
    g: nx.DiGraph, ov: _Overlay | None, lr: bool
) -> tuple[dict[Hashable, _Item], dict[Hashable, _Shape], list[_LaidEdge], list[Any]]:
    """Items for nodes (on even ranks) and chains of dummies for edges, labels on odd ranks.

    Every edge spans at least two ranks, so each has a dummy in between: labels get room
    of their own there, and a pair of opposite edges (a cycle of two) bends apart.
    """
    layer, back = _layers(g)
    order = _node_order(g)
    loops = [(n, _edge_kind(g, n, n), _edge_label(g, n, n)) for n in order if g.has_edge(n, n)]
    looped = {n: label for n, _, label in loops}
    shapes: dict[Hashable, _Shape] = {}
    items: dict[Hashable, _Item] = {}
    for n in order:
        kind, label = _node_kind(g, n), _label(g, n)
        steps = _steps_text(ov.steps[n]) if ov is not None and n in ov.steps else ""
        w, h, font = _node_size(kind, label, steps)
        shapes[n] = _Shape(kind, label, 0.0, 0.0, w, h, font)
        across, along = (h, w) if lr else (w, h)
        extra = 0.0
        if n in looped:  # room for a self loop and its label on the far side
            text = _LINE_H if lr else _text_width(looped[n], _FONT_EDGE)
            extra = 46 + text * bool(looped[n])
        items[n] = _Item(2 * layer[n], across / 2, across / 2 + extra, along, node=n)
    laid: list[_LaidEdge] = []
    rank_of = {n: i for i, n in enumerate(order)}
    for u, v in sorted(g.edges, key=lambda e: (rank_of[e[0]], rank_of[e[1]])):
        if u == v:
            continue
        is_back = (u, v) in back
        a, b = (v, u) if is_back else (u, v)
        label = _edge_label(g, u, v)
        ra, rb = items[a].rank, items[b].rank
        chain, label_item = [items[a]], None
        for r in range(ra + 1, rb):
            if r == (ra + rb + 1) // 2 and label:
                tw = _text_width(label, _FONT_EDGE) + 10
                across, along = (_LINE_H + 2, tw) if lr else (tw, _LINE_H + 2)
                label_item = _Item(r, across / 2, across / 2, along)
                chain.append(label_item)
            else:
                chain.append(_Item(r, 3.0, 3.0, 0.0))
        chain.append(items[b])
        for x, y in pairwise(chain):
            x.down.append(y)
            y.up.append(x)
        laid.append(_LaidEdge(u, v, _edge_kind(g, u, v), label, chain, is_back, label_item))
    return items, shapes, laid, loops


def _order_rows(items: dict[Hashable, _Item]) -> list[list[_Item]]:
    """Ranks as rows, ordered by barycenter sweeps to reduce edge crossings."""
    ranks: dict[int, list[_Item]] = {}
    seen: set[int] = set()
    for start in items.values():  # first in DFS order, so that siblings stay together
        todo = [start]
        while todo:
            it = todo.pop()
            if id(it) not in seen:
                seen.add(id(it))
                ranks.setdefault(it.rank, []).append(it)
                todo.extend(reversed(it.down))
    rows = [ranks.get(r, []) for r in range(max(ranks, default=-1) + 1)]

    def number() -> None:
        for row in rows:
            for i, it in enumerate(row):
                it.order = float(i)

    def crossings() -> int:
        return sum(_crossings(row) for row in rows[:-1])

    number()
    best, best_rows = crossings(), [list(r) for r in rows]
    for sweep in range(16 if best else 0):
        down = sweep % 2 == 0
        for r in range(1, len(rows)) if down else range(len(rows) - 2, -1, -1):

            def bary(it: _Item, down: bool = down) -> float:
                nb = it.up if down else it.down
                return sum(x.order for x in nb) / len(nb) if nb else it.order

            rows[r].sort(key=lambda it: (bary(it), it.order))
            for i, it in enumerate(rows[r]):
                it.order = float(i)
        if (c := crossings()) < best:
            best, best_rows = c, [list(r) for r in rows]
            if not best:
                break
    rows = best_rows
    number()
    return rows


def _place_rows(rows: list[list[_Item]]) -> None:
    """Order-axis coordinates: pack each row, then pull every item towards its neighbours.

    Directional sweeps first, then block coordinate descent on the weighted sum of squared
    edge slants (each row placed exactly by PAVA), which converges: it centres parents
    over children and straightens long edges.
    """
    for row in rows:
        _isotonic_place(row, [0.0] * len(row), [1.0] * len(row))
    for sweep in range(400):
        down = sweep % 2 == 0
        both = sweep >= 6
        moved = 0.0
        for r in range(len(rows)) if down else range(len(rows) - 1, -1, -1):
            row = rows[r]
            before = [it.o for it in row]
            desired, weights = [], []
            for it in row:
                nb = (it.up + it.down) if both else (it.up if down else it.down)
                # segments between two dummies pull 4x harder: long edges stay straight
                ws = [2.0 if it.node is not None or x.node is not None else 8.0 for x in nb]
                pull = sum(w * x.o for w, x in zip(ws, nb, strict=True))
                desired.append(pull / sum(ws) if nb else it.o)
                weights.append(sum(ws) or 1.0)
            _isotonic_place(row, desired, weights)
            moved = max([moved] + [abs(it.o - o) for it, o in zip(row, before, strict=True)])
        if both and moved < 0.05:
            break


def _layout(g: nx.DiGraph, ov: _Overlay | None = None) -> _Layout:
    """Sugiyama-style layered layout: ranks, dummies, crossing reduction, placement."""
    lr = _left_to_right(g)
    items, shapes, laid, loops = _chains(g, ov, lr)
    rows = _order_rows(items)
    _place_rows(rows)
    # rank-axis coordinates; the gap grows with how far edges travel sideways
    r_pos: list[float] = []
    cursor = 0.0
    for r, row in enumerate(rows):
        if r:
            spread = max((abs(a.o - b.o) for a in rows[r - 1] for b in a.down), default=0.0)
            cursor += min(max(20.0, 0.2 * spread), 120.0 if lr else 80.0)
        thick = max((it.thick for it in row), default=0.0)
        r_pos.append(cursor + thick / 2)
        cursor += thick
    lo_o = min((it.o - it.lo for row in rows for it in row), default=0.0)
    hi_o = max((it.o + it.hi for row in rows for it in row), default=0.0)

    def xy(it: _Item) -> _Point:
        o, r = it.o - lo_o, r_pos[it.rank]
        return (r, o) if lr else (o, r)

    for n, it in items.items():
        shapes[n].cx, shapes[n].cy = xy(it)
    edges: list[tuple[_LaidEdge, list[_Point]]] = []
    label_pos: dict[int, _Point] = {}
    for i, e in enumerate(laid):
        pts = [xy(it) for it in e.chain]
        pts[0] = _port(shapes[e.chain[0].node], e.chain[0], e.chain[1], True, lr)
        pts[-1] = _port(shapes[e.chain[-1].node], e.chain[-1], e.chain[-2], False, lr)
        if e.label_item is not None:
            label_pos[i] = xy(e.label_item)
        edges.append((e, pts[::-1] if e.back else pts))
    width, height = (cursor, hi_o - lo_o) if lr else (hi_o - lo_o, cursor)
    return _Layout(width, height, lr, shapes, edges, loops, label_pos)


def _port(shape: _Shape | None, it: _Item, toward: _Item, leaving: bool, lr: bool) -> _Point:
    """Where an edge meets a node: its side facing ``toward``, spread out by destination."""
    assert shape is not None
    sides = it.down if leaving else it.up
    k = len(sides)
    idx = sorted(sides, key=lambda x: x.o).index(toward)
    size = shape.h if lr else shape.w
    spacing = min(12.0, 0.6 * size / (k - 1)) if k > 1 else 0.0
    off = (idx - (k - 1) / 2) * spacing
    half_o, half_r = (shape.h / 2, shape.w / 2) if lr else (shape.w / 2, shape.h / 2)
    if shape.kind in ("start", "end"):
        reach = max(half_r**2 - off**2, 0.0) ** 0.5
    elif shape.kind == "join":
        reach = half_r * (1 - min(abs(off) / half_o, 1.0))
    elif shape.kind == "interrupt" and lr:  # the hexagon's points face the ranks
        reach = half_r - min(14.0, shape.w / 4) * abs(off) / half_o
    else:
        reach = half_r
    sign = 1 if leaving else -1
    if lr:
        return (shape.cx + sign * reach, shape.cy + off)
    return (shape.cx + off, shape.cy + sign * reach)


# --------------------------------------------------------------------------- scene


@dataclass
class _Prim:
    """One drawing primitive; both the SVG writer and matplotlib draw these."""

    op: str  # rect, ellipse, polygon, path, text
    geom: tuple[Any, ...]
    fill: str = "none"
    stroke: str = "none"
    width: float = 1.0
    dash: tuple[float, ...] | None = None
    opacity: float = 1.0
    text: str = ""
    size: float = 12.0
    anchor: str = "middle"
    bold: bool = False


@dataclass
class _Group:
    cls: str
    title: str = ""
    desc: str = ""
    gid: str = ""
    opacity: float = 1.0
    prims: list[_Prim] = field(default_factory=list)


@dataclass
class _Scene:
    width: float
    height: float
    title: str
    groups: list[_Group]


def _shape_prims(s: _Shape, fill: str, stroke: str, width: float, dash: Any) -> list[_Prim]:
    x, y, w, h = s.cx - s.w / 2, s.cy - s.h / 2, s.w, s.h
    if s.kind in ("start", "end"):
        prims = [_Prim("ellipse", (s.cx, s.cy, w / 2, h / 2), fill, stroke, width)]
        if s.kind == "end":
            prims = [
                _Prim("ellipse", (s.cx, s.cy, w / 2, h / 2), "#ffffff", stroke, width),
                _Prim("ellipse", (s.cx, s.cy, w / 2 - 4, h / 2 - 4), fill, stroke, width),
            ]
        return prims
    if s.kind == "interrupt":
        bevel = min(14.0, w / 4)
        pts = ((x, s.cy), (x + bevel, y), (x + w - bevel, y), (x + w, s.cy),
               (x + w - bevel, y + h), (x + bevel, y + h))  # fmt: skip
        return [_Prim("polygon", pts, fill, stroke, width)]
    if s.kind == "join":
        diamond = ((s.cx, y), (x + w, s.cy), (s.cx, y + h), (x, s.cy))
        return [_Prim("polygon", diamond, fill, stroke, width)]
    radius = 0.0 if s.kind == "tool" else min(9.0, h / 3)
    return [_Prim("rect", (x, y, w, h, radius), fill, stroke, width, dash)]


def _curve(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cubic Bezier control points of the Catmull-Rom spline through ``pts``."""
    n = len(pts)
    tangents = []
    for i in range(n):
        (ax, ay), (bx, by) = pts[max(i - 1, 0)], pts[min(i + 1, n - 1)]
        scale = 0.5 if 0 < i < n - 1 else 1.0
        tangents.append(((bx - ax) * scale, (by - ay) * scale))
    out = [pts[0]]
    for i in range(n - 1):
        (x0, y0), (x1, y1) = pts[i], pts[i + 1]
        (ax, ay), (bx, by) = tangents[i], tangents[i + 1]
        out += [(x0 + ax / 3, y0 + ay / 3), (x1 - bx / 3, y1 - by / 3), (x1, y1)]
    return out


def _arrow(
    bez: list[tuple[float, float]], length: float, width: float
) -> tuple[list[tuple[float, float]], tuple[tuple[float, float], ...]]:
    """Shorten a Bezier path so its stroke stops at the arrowhead; return both."""
    (px, py), (tx, ty) = bez[-2], bez[-1]
    dx, dy = tx - px, ty - py
    norm = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / norm, dy / norm
    bx, by = tx - ux * length, ty - uy * length
    head = ((tx, ty), (bx - uy * width, by + ux * width), (bx + uy * width, by - ux * width))
    shift = (bx - tx, by - ty)
    bez = [*bez[:-2], (px + shift[0], py + shift[1]), (bx, by)]
    return bez, head


def _edge_prims(
    bez: list[tuple[float, float]], kind: str, walked: bool, *, head: bool = True
) -> list[_Prim]:
    color, width, dash = _EDGE_STYLES[kind]
    length = 6.0 + 1.6 * width
    line, tip = _arrow(bez, length, length * 0.45) if head else (bez, ())
    prims = []
    if walked:
        prims.append(_Prim("path", (tuple(bez),), stroke=_PATH_COLOR, width=width + 7,
                           opacity=0.45))  # fmt: skip
    prims.append(_Prim("path", (tuple(line),), stroke=color, width=width, dash=dash))
    if head:
        prims.append(_Prim("polygon", tip, fill=color, stroke=color, width=1.0))
    return prims


def _bundles(lay: _Layout) -> dict[int, tuple[tuple[float, float], tuple[float, float]]]:
    """Big fan-ins: edge index -> (where it ends instead, where the shared arrow ends)."""
    groups: dict[tuple[Hashable, str, bool], list[int]] = {}
    for i, (e, _) in enumerate(lay.edges):
        groups.setdefault((e.v, e.kind, e.back), []).append(i)
    ends: dict[int, tuple[tuple[float, float], tuple[float, float]]] = {}
    for (v, _, back), idx in groups.items():
        if len(idx) <= _BUNDLE:
            continue
        s = lay.shapes[v]
        sign = 1 if back else -1  # forward edges arrive on the side facing the start
        half = s.w / 2 if lay.lr else s.h / 2
        points = [(s.cx + sign * d, s.cy) if lay.lr else (s.cx, s.cy + sign * d)
                  for d in (half + 18, half)]  # fmt: skip
        ends.update(dict.fromkeys(idx, (points[0], points[1])))
    return ends


def _legend_entries(g: nx.DiGraph, overlay: bool) -> list[_LegendEntry]:
    """The edge kinds drawn, the run path, and node kinds other than start/end/agent."""
    kinds = {_edge_kind(g, u, v) for u, v in g.edges}
    entries = [("edge", k, k) for k in EDGE_KINDS if k in kinds]
    if overlay:
        entries.append(("path", "sequence", "run path"))
    kinds = {_node_kind(g, n) for n in g.nodes}
    entries += [("node", k, f"{k} node") for k in NODE_KINDS[3:] if k in kinds]
    return [
        (what, kind, text, _text_width(text, _FONT_SMALL) + (46 if what == "node" else 58))
        for what, kind, text in entries
    ]


def _legend(rows: list[list[_LegendEntry]], x0: float, y0: float, width: float) -> _Group:
    grp = _Group("legend")
    box = (x0 - 6, y0, width - 2 * x0 + 12, 20.0 * len(rows) + 8, 5)
    grp.prims.append(_Prim("rect", box, fill="#f9fafb", stroke="#e5e7eb"))
    for r, row in enumerate(rows):
        x, y = x0, y0 + 14 + 20 * r
        for what, kind, text, entry_width in row:
            if what == "node":
                fill, stroke, _ = _NODE_COLORS[kind]
                sample = _Shape(kind, "", x + 12, y, 24 if kind == "interrupt" else 18, 12, 1)
                dash = (3.0, 2.0) if kind == "dynamic" else None
                grp.prims += _shape_prims(sample, fill, stroke, 1.2, dash)
                text_x = x + 30
            else:
                line = [(x, y), (x + 12, y), (x + 22, y), (x + 34, y)]
                grp.prims += _edge_prims(line, kind, what == "path")
                text_x = x + 40
            grp.prims.append(
                _Prim("text", (text_x, y), fill="#374151", text=text, size=_FONT_SMALL,
                      anchor="start")
            )  # fmt: skip
            x += entry_width
    return grp


def _wrap_legend(entries: list[_LegendEntry], width: float) -> list[list[_LegendEntry]]:
    rows: list[list[_LegendEntry]] = [[]]
    used = 0.0
    for entry in entries:
        if rows[-1] and used + entry[3] > width:
            rows.append([])
            used = 0.0
        rows[-1].append(entry)
        used += entry[3]
    return rows


def _edge_groups(lay: _Layout, ov: _Overlay | None, at: Callable[[_Point], _Point]) -> list[_Group]:
    """Edges, big fan-ins' shared arrows, self loops, then edge labels on top of them all."""
    groups: list[_Group] = []
    labels: list[_Group] = []
    merged = _bundles(lay)
    stubs: dict[_Point, tuple[str, _Point, bool]] = {}  # merge point -> kind, port, walked

    def cls(kind: str, walked: bool) -> tuple[str, float]:
        dim = ov is not None and not walked
        suffix = " visited" if walked else " dimmed" if dim else ""
        return f"edge {kind}{suffix}", _DIM_OPACITY if dim else 1.0

    for i, (e, pts) in enumerate(lay.edges):
        walked = ov is not None and (e.u, e.v) in ov.edges
        if i in merged:  # a big fan-in ends at a merge point; one arrow goes on from there
            point, port = merged[i]
            earlier = stubs.get(point)
            stubs[point] = (e.kind, port, walked or (earlier is not None and earlier[2]))
            pts = [*pts[:-1], point]
        name, opacity = cls(e.kind, walked)
        prims = _edge_prims(_curve([at(p) for p in pts]), e.kind, walked, head=i not in merged)
        groups.append(_Group(name, title=f"{e.u} → {e.v}", opacity=opacity, prims=prims))
        if e.label and i in lay.label_pos:
            cx, cy = at(lay.label_pos[i])
            tw = _text_width(e.label, _FONT_EDGE)
            color = _EDGE_STYLES[e.kind][0]
            backdrop = (cx - tw / 2 - 4, cy - 8, tw + 8, 16, 4)
            labels.append(_Group("edge-label", opacity=opacity, prims=[
                _Prim("rect", backdrop, fill="#ffffff", opacity=0.92),
                _Prim("text", (cx, cy), fill=color, text=e.label, size=_FONT_EDGE),
            ]))  # fmt: skip
    for point, (kind, port, walked) in stubs.items():
        (mx, my), (px, py) = at(point), at(port)
        dx, dy = (px - mx) / 3, (py - my) / 3
        line = [(mx, my), (mx + dx, my + dy), (mx + 2 * dx, my + 2 * dy), (px, py)]
        name, opacity = cls(kind, walked)
        name = name.replace("edge ", "edge-merge ", 1)  # not an edge of the graph
        groups.append(_Group(name, opacity=opacity, prims=_edge_prims(line, kind, walked)))
    for n, kind, label in lay.loops:
        s = lay.shapes[n]
        cx, cy = at((s.cx, s.cy))
        walked = ov is not None and (n, n) in ov.edges
        if lay.lr:  # below the node
            y = cy + s.h / 2
            line = [(cx - 10, y), (cx - 30, y + 40), (cx + 30, y + 40), (cx + 10, y + 1)]
            text_at = (cx, y + 40 + _LINE_H / 2)
        else:  # right of the node
            x = cx + s.w / 2
            line = [(x, cy - 8), (x + 40, cy - 30), (x + 40, cy + 30), (x + 1, cy + 8)]
            text_at = (x + 44 + _text_width(label, _FONT_EDGE) / 2, cy)
        prims = _edge_prims(line, kind, walked)
        if label:
            color = _EDGE_STYLES[kind][0]
            prims.append(_Prim("text", text_at, fill=color, text=label, size=_FONT_EDGE))
        name, opacity = cls(kind, walked)
        groups.append(_Group(name, title=f"{n} → {n}", opacity=opacity, prims=prims))
    return groups + labels


def _node_group(g: nx.DiGraph, n: Hashable, s: _Shape, gid: str, ov: _Overlay | None) -> _Group:
    fill, stroke, text_color = _NODE_COLORS[s.kind]
    visited = ov is not None and n in ov.steps
    dim = ov is not None and not visited
    prims: list[_Prim] = []
    if visited:  # a halo behind the shape
        halo = _shape_prims(s, "none", _PATH_COLOR, 7.0, None)[0]
        halo.opacity = 0.5
        prims.append(halo)
    prims += _shape_prims(s, fill, stroke, 1.4, (5.0, 3.0) if s.kind == "dynamic" else None)
    if ov is not None and n in ov.steps:  # the step numbers, as a second line
        dy = (_LINE_H - 2) / 2
        steps = _steps_text(ov.steps[n])
        color = "#fed7aa" if s.kind in ("start", "end") else _PATH_TEXT
        prims.append(_Prim("text", (s.cx, s.cy - dy), fill=text_color, text=s.label, size=s.font))
        prims.append(
            _Prim("text", (s.cx, s.cy + dy + 1), fill=color, text=steps, size=_FONT_SMALL,
                  bold=True)
        )  # fmt: skip
    else:
        prims.append(_Prim("text", (s.cx, s.cy), fill=text_color, text=s.label, size=s.font))
    suffix = " visited" if visited else " dimmed" if dim else ""
    desc = _clean(g.nodes[n].get("description") or "")
    opacity = _DIM_OPACITY if dim else 1.0
    return _Group(f"node {s.kind}{suffix}", _clean(n), desc, gid, opacity, prims)


def _scene(g: nx.DiGraph, ov: _Overlay | None) -> _Scene:
    """Lay the graph out and turn it into primitives, with title and legend."""
    lay = _layout(g, ov)
    title = _clean(g.graph.get("name") or "")
    margin = 16.0
    # what sticks out of the layout box: self loops and their labels
    extra_x = extra_y = 0.0
    for n, _, label in lay.loops:
        s = lay.shapes[n]
        if lay.lr:
            extra_y = max(extra_y, s.cy + s.h / 2 + 40 + _LINE_H - lay.height)
        else:
            reach = s.cx + s.w / 2 + 48 + _text_width(label, _FONT_EDGE)
            extra_x = max(extra_x, reach - lay.width)
    width = max(lay.width + extra_x + 2 * margin, 240.0)
    if title:
        width = max(width, _text_width(title, 15, bold=True) + 2 * margin)
    entries = _legend_entries(g, ov is not None)
    legend_rows = _wrap_legend(entries, width - 2 * margin)
    legend_h = 20.0 * len(legend_rows) + 14 if entries else 0.0
    top = margin + (34.0 if title else 14.0)
    height = top + lay.height + extra_y + 12 + legend_h + margin
    left = (width - lay.width - extra_x) / 2  # centred under a wider title or legend

    def at(p: _Point) -> _Point:
        return (p[0] + left, p[1] + top)

    groups: list[_Group] = []
    if title:
        heading = _Prim("text", (margin, margin + 12), fill="#111827", text=title, size=15,
                        anchor="start", bold=True)  # fmt: skip
        groups.append(_Group("title", prims=[heading]))
    groups += _edge_groups(lay, ov, at)  # edges first: nodes sit on top of their ends
    ids = _stable_ids(g)
    for n in _node_order(g):
        s = lay.shapes[n]
        cx, cy = at((s.cx, s.cy))
        placed = _Shape(s.kind, s.label, cx, cy, s.w, s.h, s.font)
        groups.append(_node_group(g, n, placed, f"node-{ids[n]}", ov))
    if entries:
        groups.append(_legend(legend_rows, margin, height - margin - legend_h, width))
    return _Scene(width, height, title, groups)


# --------------------------------------------------------------------------- SVG writer


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _attr(text: str) -> str:
    return _xml_escape(text, {'"': "&quot;"})


def _svg_style(p: _Prim) -> str:
    out = f'fill="{p.fill}" stroke="{p.stroke}"'
    if p.stroke != "none":
        out += f' stroke-width="{_f(p.width)}"'
    if p.dash:
        out += f' stroke-dasharray="{" ".join(_f(d) for d in p.dash)}"'
        if p.dash[0] < 1:
            out += ' stroke-linecap="round"'
    if p.opacity < 1:
        out += f' opacity="{p.opacity:g}"'
    return out


def _svg_prim(p: _Prim) -> str:
    g = p.geom
    if p.op == "rect":
        x, y, w, h, r = g
        rr = f' rx="{_f(r)}"' if r else ""
        return (
            f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}"{rr} {_svg_style(p)}/>'
        )
    if p.op == "ellipse":
        cx, cy, rx, ry = g
        return f'<ellipse cx="{_f(cx)}" cy="{_f(cy)}" rx="{_f(rx)}" ry="{_f(ry)}" {_svg_style(p)}/>'
    if p.op == "polygon":
        pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in g)
        return f'<polygon points="{pts}" {_svg_style(p)}/>'
    if p.op == "path":
        (pts,) = g
        d = f"M{_f(pts[0][0])},{_f(pts[0][1])}"
        for i in range(1, len(pts) - 2, 3):
            (ax, ay), (bx, by), (cx, cy) = pts[i : i + 3]
            d += f" C{_f(ax)},{_f(ay)} {_f(bx)},{_f(by)} {_f(cx)},{_f(cy)}"
        return f'<path d="{d}" {_svg_style(p)}/>'
    x, y = g
    weight = ' font-weight="bold"' if p.bold else ""
    return (
        f'<text x="{_f(x)}" y="{_f(y + p.size * 0.35)}" font-size="{_f(p.size)}" '
        f'text-anchor="{p.anchor}" fill="{p.fill}"{weight}>{_attr(p.text)}</text>'
    )


def _write_svg(scene: _Scene) -> bytes:
    w, h = _f(scene.width), _f(scene.height)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="{_FONT}">',
    ]
    if scene.title:
        out.append(f"<title>{_attr(scene.title)}</title>")
    out.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>')
    for grp in scene.groups:
        attrs = f' class="{grp.cls}"'
        if grp.gid:
            attrs = f' id="{_attr(grp.gid)}"' + attrs
        if grp.opacity < 1:
            attrs += f' opacity="{grp.opacity:g}"'
        out.append(f"<g{attrs}>")
        if grp.title:
            out.append(f"<title>{_attr(grp.title)}</title>")
        if grp.desc:
            out.append(f"<desc>{_attr(grp.desc)}</desc>")
        out += [_svg_prim(p) for p in grp.prims]
        out.append("</g>")
    out.append("</svg>")
    return ("\n".join(out) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- matplotlib


def _raster_png(scene: _Scene) -> bytes:
    """Rasterise a scene with matplotlib's Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse, FancyBboxPatch, PathPatch, Polygon, Rectangle
    from matplotlib.path import Path

    # one point per SVG pixel at 72 dpi
    fig = Figure(figsize=(scene.width / 72, scene.height / 72), dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    z = 0
    for grp in scene.groups:
        for p in grp.prims:
            z += 1
            alpha = p.opacity * grp.opacity
            kw: dict[str, Any] = {
                "facecolor": p.fill if p.fill != "none" else "none",
                "edgecolor": p.stroke if p.stroke != "none" else "none",
                "linewidth": p.width if p.stroke != "none" else 0.0,
                "alpha": alpha,
                "zorder": z,
            }
            if p.dash:
                kw["linestyle"] = (0, tuple(max(d, 0.01) / max(p.width, 0.1) for d in p.dash))
                kw["capstyle"] = "round" if p.dash[0] < 1 else "butt"
            g = p.geom
            if p.op == "rect":
                x, y, w, h, r = g
                if r:
                    r = min(r, w / 2, h / 2)
                    ax.add_patch(FancyBboxPatch((x + r, y + r), w - 2 * r, h - 2 * r,
                                                boxstyle=f"round,pad={r}", **kw))  # fmt: skip
                else:
                    ax.add_patch(Rectangle((x, y), w, h, **kw))
            elif p.op == "ellipse":
                cx, cy, rx, ry = g
                ax.add_patch(Ellipse((cx, cy), 2 * rx, 2 * ry, **kw))
            elif p.op == "polygon":
                ax.add_patch(Polygon(list(g), closed=True, joinstyle="miter", **kw))
            elif p.op == "path":
                (pts,) = g
                codes = [Path.MOVETO] + [Path.CURVE4] * (len(pts) - 1)
                kw["facecolor"] = "none"
                ax.add_patch(PathPatch(Path(list(pts), codes), **kw))
            else:
                x, y = g
                ax.text(x, y, p.text, fontsize=p.size, color=p.fill, alpha=alpha, zorder=z,
                        ha={"middle": "center"}.get(p.anchor, "left"), va="center_baseline",
                        fontweight="bold" if p.bold else "normal",
                        fontfamily=["DejaVu Sans", "sans-serif"])  # fmt: skip
    # twice the SVG's size, less for huge drawings (PNG encoding time grows with pixels)
    scale = min(2.0, (12e6 / (scene.width * scene.height)) ** 0.5, 16000 / scene.width,
                16000 / scene.height)  # fmt: skip
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72 * scale, facecolor="white",
                pil_kwargs={"compress_level": 3})  # fmt: skip
    return buf.getvalue()


# --------------------------------------------------------------------------- public entry points


def _pick(engine: str) -> str:
    if engine not in ("auto", "dot", "python"):
        raise InputError(f"unknown drawing engine {engine!r}; use 'auto', 'dot' or 'python'")
    if engine == "auto":
        return "dot" if has_dot() else "python"
    return engine


def render_svg(
    g: nx.DiGraph, *, overlay: Sequence[str] | None = None, engine: str = "auto"
) -> bytes:
    """Draw the graph as SVG.

    Args:
        g: A topology graph.
        overlay: A run path, the node ids in the order they ran (repeats allowed). Visited
            nodes get a halo, the class ``visited`` and their step numbers (``"2,4"``) under
            the label; edges between consecutive steps are highlighted; the rest is dimmed.
            Ids that are not nodes are matched by label, then to the graph's only
            ``dynamic`` node, else skipped.
        engine: ``"dot"`` (Graphviz), ``"python"`` (built-in layered layout) or ``"auto"``
            (``dot`` when it is on ``PATH``).

    Returns:
        UTF-8 SVG bytes in which every node label appears as (XML-escaped) text.

    Raises:
        RenderError: ``engine="dot"`` and Graphviz is missing, fails or times out.
        InputError: An unknown engine (a ``ValueError``).
    """
    if _pick(engine) == "dot":
        return _run_dot(to_dot(g, overlay=overlay), "svg")
    return _write_svg(_scene(g, _resolve_overlay(g, overlay)))


def render_png(
    g: nx.DiGraph, *, overlay: Sequence[str] | None = None, engine: str = "auto"
) -> bytes:
    """Draw the graph as PNG.

    Uses ``dot -Tpng`` when Graphviz is there, else rasterises the built-in layout with
    matplotlib (imported only here).

    Args:
        g: A topology graph.
        overlay: A run path; see :func:`render_svg`.
        engine: ``"dot"``, ``"python"`` or ``"auto"``.

    Returns:
        PNG bytes.

    Raises:
        ImportError: The python engine is needed and matplotlib is not installed.
        RenderError: ``engine="dot"`` and Graphviz is missing, fails or times out.
        InputError: An unknown engine (a ``ValueError``).
    """
    chosen = _pick(engine)
    if chosen == "dot":
        return _run_dot(to_dot(g, overlay=overlay), "png")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "drawing PNG needs Graphviz or matplotlib: install one of them "
            "(apt-get install graphviz, or pip install matplotlib)"
        ) from exc
    return _raster_png(_scene(g, _resolve_overlay(g, overlay)))
