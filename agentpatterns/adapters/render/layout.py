"""The pure-Python layered (Sugiyama-style) layout behind the ``python`` drawing engine.

Ranks come from longest paths after breaking cycles at DFS back edges; long edges get a
chain of dummy points (one of which carries the edge's label); barycenter sweeps reduce
crossings; rows are placed by isotonic regression so that parents sit over their children
and long edges run straight. Wide layers switch the drawing to left-to-right.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from agentpatterns.adapters.render.scheme import (
    MAX_LAYER_WIDTH,
    _edge_kind,
    _edge_label,
    _label,
    _node_kind,
    _node_order,
    _Overlay,
    _text_width,
)

if TYPE_CHECKING:
    import networkx as nx

_Point = tuple[float, float]


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
    # edge index -> indices of its points where the path runs along the rank axis: the
    # two ends of its crossing of a row that holds labels (it stays in its own lane there)
    straight: dict[int, set[int]] = field(default_factory=dict)


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
        steps = ov.note(n) if ov is not None and n in ov.steps else ""
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
    bands: list[float] = []  # each row's extent along the rank axis
    cursor = 0.0
    for r, row in enumerate(rows):
        if r:
            spread = max((abs(a.o - b.o) for a in rows[r - 1] for b in a.down), default=0.0)
            cursor += min(max(20.0, 0.2 * spread), 120.0 if lr else 80.0)
        thick = max((it.thick for it in row), default=0.0)
        r_pos.append(cursor + thick / 2)
        bands.append(thick)
        cursor += thick
    lo_o = min((it.o - it.lo for row in rows for it in row), default=0.0)
    hi_o = max((it.o + it.hi for row in rows for it in row), default=0.0)

    def xy(it: _Item, along: float = 0.0) -> _Point:
        o, r = it.o - lo_o, r_pos[it.rank] + along
        return (r, o) if lr else (o, r)

    for n, it in items.items():
        shapes[n].cx, shapes[n].cy = xy(it)
    edges: list[tuple[_LaidEdge, list[_Point]]] = []
    label_pos: dict[int, _Point] = {}
    straight: dict[int, set[int]] = {}
    for i, e in enumerate(laid):
        pts = [_port(shapes[e.chain[0].node], e.chain[0], e.chain[1], True, lr)]
        lane: set[int] = set()
        for it in e.chain[1:-1]:
            half = bands[it.rank] / 2
            if half < 1:  # a row of bare bends: one point, the spline goes smoothly through
                pts.append(xy(it))
                continue
            # a row with labels is crossed along the rank axis, so no edge runs through
            # another's label (rows never overlap their items; labels sit in these rows)
            lane.update((len(pts), len(pts) + 1))
            pts += [xy(it, -half), xy(it, half)]
        pts.append(_port(shapes[e.chain[-1].node], e.chain[-1], e.chain[-2], False, lr))
        if e.label_item is not None:
            label_pos[i] = xy(e.label_item)
        if e.back:
            pts.reverse()
            lane = {len(pts) - 1 - k for k in lane}
        if lane:
            straight[i] = lane
        edges.append((e, pts))
    width, height = (cursor, hi_o - lo_o) if lr else (hi_o - lo_o, cursor)
    return _Layout(width, height, lr, shapes, edges, loops, label_pos, straight)


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
