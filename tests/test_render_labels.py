"""The python engine puts every edge label on its own edge, measured on the drawn SVG.

For each drawing: each label's centre lies on the path of the edge it names (the label's
``<title>`` is its edge's, ``u → v``), no other edge runs through a label's box, no two
labels overlap, and a nested pattern's box holds the labels of its own edges with its name
clear of the edges that enter it. The drawings: every built-in example and composition
(both views), and wide fan-outs with labelled back edges drawn top-down and left-to-right.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import networkx as nx
import pytest

from agentpatterns.adapters.networkx import to_networkx
from agentpatterns.adapters.render import MAX_LAYER_WIDTH, RunOverlay, render_svg
from agentpatterns.adapters.render.scheme import _text_width
from agentpatterns.examples import COMPOSITIONS, EXAMPLES, example

SVG = "{http://www.w3.org/2000/svg}"
Box = tuple[float, float, float, float]  # x, y, width, height


def _bezier(d: str, steps: int = 48) -> list[tuple[float, float]]:
    """Points along an SVG path of the form ``M x,y C ... C ...``."""
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    start, out = (nums[0], nums[1]), [(nums[0], nums[1])]
    for i in range(2, len(nums), 6):
        a, b, c = (nums[i], nums[i + 1]), (nums[i + 2], nums[i + 3]), (nums[i + 4], nums[i + 5])
        for k in range(1, steps + 1):
            t = k / steps
            u = 1 - t
            out.append(tuple(u ** 3 * start[j] + 3 * u * u * t * a[j] + 3 * u * t * t * b[j]
                             + t ** 3 * c[j] for j in range(2)))  # type: ignore[misc]
        start = c
    return out


def _rect(el: ET.Element) -> Box:
    return tuple(float(el.get(k, 0)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _drawing(svg: bytes) -> tuple[dict[str, list[tuple[float, float]]],
                                  list[tuple[str, str, Box]], list[tuple[str, Box, Box]]]:
    """Edge paths by title, labels (title, text, backdrop) and clusters (name, box, name box)."""
    root = ET.fromstring(svg)
    edges: dict[str, list[tuple[float, float]]] = {}
    labels, clusters = [], []
    for g in root.iter(f"{SVG}g"):
        cls, title = g.get("class", ""), g.findtext(f"{SVG}title") or ""
        if cls.startswith("edge ") and "→" in title:
            edges[title] = [p for path in g.iter(f"{SVG}path") for p in _bezier(path.get("d"))]
        elif cls.startswith("edge-label"):
            labels.append((title, g.findtext(f"{SVG}text") or "", _rect(g.find(f"{SVG}rect"))))
        elif cls == "cluster":
            x, y, _, _ = box = _rect(g.find(f"{SVG}rect"))
            name = g.findtext(f"{SVG}text") or ""
            clusters.append((name, box, (x, y, 10 + _text_width(name, 11, bold=True), 20.0)))
    return edges, labels, clusters


def _inside(p: tuple[float, float], box: Box, pad: float = 0.0) -> bool:
    x, y, w, h = box
    return x - pad <= p[0] <= x + w + pad and y - pad <= p[1] <= y + h + pad


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _wide(n: int) -> nx.DiGraph:
    """A triage desk with ``n`` labelled handoffs, labelled routes to the end, and labelled
    loops back from every third specialist (back edges through the crowded label rows)."""
    g = nx.DiGraph(name=f"wide {n}")
    g.add_node("__start__", kind="start", label="start")
    g.add_node("__end__", kind="end", label="end")
    g.add_node("T", kind="agent", label="Triage Agent")
    g.add_edge("__start__", "T", kind="sequence", label="entry")
    for i in range(n):
        g.add_node(f"S{i}", kind="agent", label=f"Specialist {i}")
        g.add_edge("T", f"S{i}", kind="handoff", label=f"topic number {i}")
        g.add_edge(f"S{i}", "__end__", kind="route", label="done")
        if i % 3 == 0:
            g.add_edge(f"S{i}", "T", kind="loop", label="back")
    return g


def _pattern_view(name: str) -> Callable[[], nx.DiGraph]:
    make = EXAMPLES[name][0] if name in EXAMPLES else COMPOSITIONS[name][0]
    return lambda: to_networkx(make())


def _compiled_view(name: str) -> Callable[[], nx.DiGraph]:
    make = EXAMPLES[name][0] if name in EXAMPLES else COMPOSITIONS[name][0]
    return lambda: to_networkx(make().compile())


CASES: dict[str, Callable[[], nx.DiGraph]] = {
    **{name: _pattern_view(name) for name in [*EXAMPLES, *COMPOSITIONS]},
    **{f"{name} (compiled)": _compiled_view(name) for name in [*EXAMPLES, *COMPOSITIONS]},
    "wide fan-out, top-down": lambda: _wide(MAX_LAYER_WIDTH),
    "wide fan-out, left-to-right": lambda: _wide(MAX_LAYER_WIDTH + 4),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_label_sits_on_its_own_edge_and_nowhere_else(case: str) -> None:
    g = CASES[case]()
    edges, labels, clusters = _drawing(render_svg(g, engine="python"))
    labelled = {f"{u} → {v}" for u, v, t in g.edges(data="label") if t and u != v}
    assert sorted(t for t, _, _ in labels) == sorted(labelled)  # every label drawn, once
    for title, text, box in labels:
        centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
        gap = min(math.dist(p, centre) for p in edges[title])
        assert gap < 2.0, f"{case}: label {text!r} is {gap:.0f} px off its edge {title}"
        through = sorted(t for t, pts in edges.items()
                         if t != title and any(_inside(p, box) for p in pts))
        assert not through, f"{case}: {through} run through the label {text!r} of {title}"
    for i, (t1, x1, b1) in enumerate(labels):
        for t2, x2, b2 in labels[i + 1:]:
            assert not _overlap(b1, b2), f"{case}: labels {x1!r} ({t1}) and {x2!r} ({t2})"
    for name, _, name_box in clusters:
        crossing = [t for t, pts in edges.items() if any(_inside(p, name_box) for p in pts)]
        assert not crossing, f"{case}: {crossing} run over the name of the box {name!r}"
    inner = {n: d.get("parent") for n, d in g.nodes(data=True)}
    for title, text, box in labels:
        u, v = title.split(" → ")
        parent = inner.get(u) if inner.get(u) == inner.get(v) else None
        for name, cbox, _ in clusters:
            if name == parent:
                assert _inside((box[0], box[1]), cbox) and _inside(
                    (box[0] + box[2], box[1] + box[3]), cbox), f"{case}: {text!r} sticks out"


def test_labels_stay_on_their_edges_with_a_run_drawn_over_them() -> None:
    g = to_networkx(example("supervisor"))
    overlay = RunOverlay(path=("Supervisor", "Worker 1", "Supervisor"), finished=True)
    edges, labels, _ = _drawing(render_svg(g, engine="python", overlay=overlay))
    assert labels
    for title, _, box in labels:
        centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
        assert min(math.dist(p, centre) for p in edges[title]) < 2.0
