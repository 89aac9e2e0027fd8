"""The ``python`` engine's drawing: a scene of primitives, and the SVG writer.

:func:`_scene` lays a graph out (``_render_layout``) and turns it into groups of primitives
(shapes, Bezier edges, arrowheads, labels, title, legend); :func:`_write_svg` writes them
as SVG. ``_render_png`` rasterises the same scene with matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as _xml_escape

from agentpatterns.adapters.render.layout import (
    _FONT_EDGE,
    _FONT_SMALL,
    _LINE_H,
    _Layout,
    _layout,
    _Point,
    _Shape,
)
from agentpatterns.adapters.render.scheme import (
    _BUNDLE,
    _CLUSTER_COLORS,
    _DIM_OPACITY,
    _EDGE_STYLES,
    _NODE_COLORS,
    _PATH_COLOR,
    _PATH_TEXT,
    EDGE_KINDS,
    NODE_KINDS,
    _clean,
    _clusters,
    _edge_kind,
    _node_kind,
    _node_order,
    _Overlay,
    _stable_ids,
    _text_width,
)

if TYPE_CHECKING:
    import networkx as nx

_LegendEntry = tuple[str, str, str, float]  # what (edge/path/node), kind, text, width
_FONT = "Helvetica, Arial, DejaVu Sans, Liberation Sans, sans-serif"


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


def _curve(pts: list[tuple[float, float]], lr: bool = False,
           straight: set[int] | frozenset[int] = frozenset()) -> list[tuple[float, float]]:
    """Cubic Bezier control points of the Catmull-Rom spline through ``pts``.

    At the points in ``straight`` the path runs along the rank axis (down, or right when
    ``lr``): between two such neighbours it is a straight run (an edge crossing a row of
    labels, in its own lane), and it bends only between the rows.
    """
    n = len(pts)
    tangents = []
    for i in range(n):
        (ax, ay), (bx, by) = pts[max(i - 1, 0)], pts[min(i + 1, n - 1)]
        scale = 0.5 if 0 < i < n - 1 else 1.0
        tx, ty = (bx - ax) * scale, (by - ay) * scale
        if i in straight:
            tx, ty = (tx, 0.0) if lr else (0.0, ty)
        tangents.append((tx, ty))
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
        bez = _curve([at(p) for p in pts], lay.lr, lay.straight.get(i, frozenset()))
        prims = _edge_prims(bez, e.kind, walked, head=i not in merged)
        groups.append(_Group(name, title=f"{e.u} → {e.v}", opacity=opacity, prims=prims))
        if e.label and i in lay.label_pos:
            cx, cy = at(lay.label_pos[i])
            tw = _text_width(e.label, _FONT_EDGE)
            color = _EDGE_STYLES[e.kind][0]
            backdrop = (cx - tw / 2 - 4, cy - 8, tw + 8, 16, 4)
            labels.append(_Group("edge-label", title=f"{e.u} → {e.v}", opacity=opacity, prims=[
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
        halo = _shape_prims(s, "none", ov.color(n) if ov is not None else _PATH_COLOR, 7.0,
                            None)[0]
        halo.opacity = 0.5
        prims.append(halo)
    prims += _shape_prims(s, fill, stroke, 1.4, (5.0, 3.0) if s.kind == "dynamic" else None)
    if ov is not None and n in ov.steps and ov.note(n):  # step numbers or state, 2nd line
        dy = (_LINE_H - 2) / 2
        steps = ov.note(n)
        color = "#fed7aa" if s.kind in ("start", "end") else ov.colors.get(n, _PATH_TEXT)
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


_Box = tuple[float, float, float, float]


def _cluster_boxes(g: nx.DiGraph, lay: _Layout) -> list[tuple[int, str, _Box]]:
    """Each nested pattern's box in layout coordinates, with its depth (outer boxes first).

    A box holds its nodes, its inner boxes, and the edges between its own nodes with their
    labels; its name sits top left, moved clear of any edge that enters across the top. Boxes
    may reach past the layout's own extent (padding, names): the scene makes room for them.
    """
    members, children = _clusters(g)
    boxes: list[tuple[int, str, tuple[float, float, float, float]]] = []

    def box(c: str, depth: int) -> tuple[set[Hashable], tuple[float, float, float, float]] | None:
        nodes = {n for n in members[c] if n in lay.shapes}
        inner = [b for b in (box(sub, depth + 1) for sub in children.get(c, [])) if b]
        for sub_nodes, _ in inner:
            nodes |= sub_nodes
        if not nodes:
            return None
        parts = [(s.cx - s.w / 2, s.cy - s.h / 2, s.cx + s.w / 2, s.cy + s.h / 2)
                 for s in (lay.shapes[n] for n in nodes)]
        parts += [b for _, b in inner]
        entering: list[list[_Point]] = []
        for i, (e, pts) in enumerate(lay.edges):
            if e.u in nodes and e.v in nodes:
                parts += [(x, y, x, y) for x, y in pts]
                if i in lay.label_pos:
                    (x, y), half = lay.label_pos[i], _text_width(e.label, _FONT_EDGE) / 2 + 4
                    parts.append((x - half, y - 8, x + half, y + 8))
            elif e.v in nodes or e.u in nodes:
                entering.append(pts)
        pad = 8.0
        x0, y0 = min(p[0] for p in parts) - pad, min(p[1] for p in parts) - pad - _LINE_H
        x1, y1 = max(p[2] for p in parts) + pad, max(p[3] for p in parts) + pad
        # the name's band: an edge crossing it pushes the box's left side out past the name
        name_w = _text_width(_clean(c), 11, bold=True) + 16
        crossing = [x for pts in entering for x, y in pts if y0 <= y <= y0 + _LINE_H + pad]
        if crossing and min(crossing) < x0 + name_w:
            x0 = min(crossing) - name_w
        found = (x0, y0, x1, y1)
        boxes.append((depth, c, found))
        return nodes, found

    for c in children.get("", []):
        box(c, 0)
    return sorted(boxes, key=lambda b: b[0])


def _cluster_groups(
    g: nx.DiGraph, boxes: list[tuple[int, str, _Box]], at: Callable[[_Point], _Point]
) -> list[_Group]:
    """A labelled, rounded box around each nested pattern, from `_cluster_boxes`."""
    fill, stroke, text = _CLUSTER_COLORS
    out = []
    for _, c, (x0, y0, x1, y1) in boxes:
        (ax, ay), (bx, by) = at((x0, y0)), at((x1, y1))
        out.append(_Group("cluster", _clean(c), _clean(
            (g.graph.get("clusters") or {}).get(c, {}).get("description") or ""), prims=[
            _Prim("rect", (ax, ay, bx - ax, by - ay, 10.0), fill, stroke, 1.2),
            _Prim("text", (ax + 8, ay + 13), fill=text, text=_clean(c), size=11,
                  anchor="start", bold=True)]))
    return out


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
    boxes = _cluster_boxes(g, lay)  # nested patterns' boxes may stick out on any side
    pad_left = max([0.0, *(-b[0] for _, _, b in boxes)])
    pad_top = max([0.0, *(-b[1] for _, _, b in boxes)])
    extra_x = max([extra_x, *(b[2] - lay.width for _, _, b in boxes)]) + pad_left
    extra_y = max([extra_y, *(b[3] - lay.height for _, _, b in boxes)]) + pad_top
    width = max(lay.width + extra_x + 2 * margin, 240.0)
    if title:
        width = max(width, _text_width(title, 15, bold=True) + 2 * margin)
    entries = _legend_entries(g, ov is not None)
    legend_rows = _wrap_legend(entries, width - 2 * margin)
    legend_h = 20.0 * len(legend_rows) + 14 if entries else 0.0
    top = margin + (34.0 if title else 14.0) + pad_top
    height = top - pad_top + lay.height + extra_y + 12 + legend_h + margin
    left = (width - lay.width - extra_x) / 2 + pad_left  # centred under a wider title/legend

    def at(p: _Point) -> _Point:
        return (p[0] + left, p[1] + top)

    groups: list[_Group] = []
    if title:
        heading = _Prim("text", (margin, margin + 12), fill="#111827", text=title, size=15,
                        anchor="start", bold=True)  # fmt: skip
        groups.append(_Group("title", prims=[heading]))
    groups += _cluster_groups(g, boxes, at)  # nested patterns: boxes behind everything
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
