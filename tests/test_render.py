"""Drawing topologies: Mermaid text, SVG and PNG from both engines, and the run-path overlay."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest

from agentpatterns.adapters import render
from agentpatterns.adapters.render import (
    RenderError,
    has_dot,
    render_png,
    render_svg,
    to_dot,
    to_mermaid,
)
from agentpatterns.errors import AgentPatternsError

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENGINES = [
    "python",
    pytest.param("dot", marks=pytest.mark.skipif(not has_dot(), reason="Graphviz not installed")),
]


# --------------------------------------------------------------------------- sample graphs


def _graph(name: str) -> nx.DiGraph:
    g = nx.DiGraph(name=name)
    g.add_node("__start__", kind="start", label="start")
    g.add_node("__end__", kind="end", label="end")
    return g


def _node(g: nx.DiGraph, node_id: str, kind: str = "agent", label: str | None = None) -> None:
    g.add_node(node_id, kind=kind, label=label or node_id, description=f"{node_id} does work")


def triage() -> nx.DiGraph:
    g = _graph("triage")
    _node(g, "Triage Agent")
    g.add_edge("__start__", "Triage Agent", kind="sequence", label="")
    for name, why in [("Booking Agent", "booking"), ("Support Agent", "support"),
                      ("Billing Agent", "billing")]:  # fmt: skip
        _node(g, name)
        g.add_edge("Triage Agent", name, kind="handoff", label=why)
        g.add_edge(name, "__end__", kind="sequence", label="")
    g.add_edge("Triage Agent", "__end__", kind="route", label="no handoff")
    return g


def sequential() -> nx.DiGraph:
    g = _graph("sequential")
    chain = ["__start__", "Researcher", "Writer", "Editor", "__end__"]
    for name in chain[1:-1]:
        _node(g, name)
    for a, b in pairwise(chain):
        g.add_edge(a, b, kind="sequence")
    return g


def reflection() -> nx.DiGraph:
    g = _graph("reflection")
    _node(g, "Generator")
    _node(g, "Critic")
    g.add_edge("__start__", "Generator", kind="sequence")
    g.add_edge("Generator", "Critic", kind="sequence", label="review")
    g.add_edge("Critic", "Generator", kind="loop", label="≤ 3 iterations")
    g.add_edge("Critic", "__end__", kind="route", label="approved")
    return g


def parallel(n: int) -> nx.DiGraph:
    g = _graph(f"parallel {n}")
    _node(g, "join", kind="join")
    _node(g, "Synthesizer")
    for i in range(1, n + 1):
        _node(g, f"Researcher {i}")
        g.add_edge("__start__", f"Researcher {i}", kind="fanout")
        g.add_edge(f"Researcher {i}", "join", kind="join")
    g.add_edge("join", "Synthesizer", kind="sequence")
    g.add_edge("Synthesizer", "__end__", kind="sequence")
    return g


def supervisor() -> nx.DiGraph:
    g = _graph("supervisor")
    _node(g, "Boss")
    g.add_edge("__start__", "Boss", kind="sequence")
    for worker in ("Worker 1", "Worker 2"):
        _node(g, worker)
        g.add_edge("Boss", worker, kind="route", label="assign")
        g.add_edge(worker, "Boss", kind="loop", label="report (≤ 4 rounds)")
    g.add_edge("Boss", "__end__", kind="route", label="done")
    return g


def human_approval() -> nx.DiGraph:
    g = _graph("human approval")
    _node(g, "Planner")
    _node(g, "approval", kind="interrupt", label="Human approval")
    _node(g, "Executor")
    g.add_edge("__start__", "Planner", kind="sequence")
    g.add_edge("Planner", "approval", kind="interrupt", label="plan")
    g.add_edge("approval", "Executor", kind="route", label="approved")
    g.add_edge("approval", "__end__", kind="route", label="rejected")
    g.add_edge("Executor", "__end__", kind="sequence")
    return g


def hierarchical() -> nx.DiGraph:
    g = _graph("hierarchical")
    _node(g, "Orchestrator")
    g.add_edge("__start__", "Orchestrator", kind="sequence")
    for tool in ("translate_to_spanish", "translate_to_french", "summarize"):
        _node(g, tool, kind="tool")
        g.add_edge("Orchestrator", tool, kind="tool", label=tool)
    g.add_edge("Orchestrator", "__end__", kind="route", label="no handoff")
    return g


def dynamic() -> nx.DiGraph:
    g = _graph("dynamic")
    _node(g, "Analyzer")
    _node(g, "specialists", kind="dynamic", label="Specialists (≤ 5)")
    _node(g, "Synthesizer")
    g.add_edge("__start__", "Analyzer", kind="sequence")
    g.add_edge("Analyzer", "specialists", kind="fanout", label="per domain")
    g.add_edge("specialists", "Synthesizer", kind="join")
    g.add_edge("Synthesizer", "__end__", kind="sequence")
    return g


def self_loop() -> nx.DiGraph:
    g = _graph("poller")
    _node(g, "Poller")
    g.add_edge("__start__", "Poller", kind="sequence")
    g.add_edge("Poller", "Poller", kind="loop", label="until ready, ≤ 5")
    g.add_edge("Poller", "__end__", kind="sequence")
    return g


NASTY = 'R&D <"Lab"> Agent'


def nasty() -> nx.DiGraph:
    g = _graph('R&D <"team">')
    _node(g, NASTY)
    g.add_edge("__start__", NASTY, kind="sequence", label='if a<b & "c"')
    g.add_edge(NASTY, "__end__", kind="sequence")
    return g


SAMPLES: dict[str, Callable[[], nx.DiGraph]] = {
    "triage": triage,
    "sequential": sequential,
    "reflection": reflection,
    "parallel3": lambda: parallel(3),
    "parallel50": lambda: parallel(50),
    "supervisor": supervisor,
    "human_approval": human_approval,
    "hierarchical": hierarchical,
    "dynamic": dynamic,
    "self_loop": self_loop,
    "nasty": nasty,
}


def _node_groups(svg: bytes) -> dict[str, set[str]]:
    """Node id (the SVG <title> of the node's group) -> the group's CSS classes."""
    root = ET.fromstring(svg)
    out: dict[str, set[str]] = {}
    for grp in root.iter(f"{SVG}g"):
        classes = set((grp.get("class") or "").split())
        title = grp.find(f"{SVG}title")
        if "node" in classes and "legend" not in classes and title is not None:
            out[title.text or ""] = classes
    return out


def _edge_groups(svg: bytes) -> list[set[str]]:
    root = ET.fromstring(svg)
    groups = [set((grp.get("class") or "").split()) for grp in root.iter(f"{SVG}g")]
    return [c for c in groups if "edge" in c and "legend" not in c]


def _labels(g: nx.DiGraph) -> list[str]:
    return [g.nodes[n]["label"] for n in g.nodes]


# --------------------------------------------------------------------------- Mermaid

TRIAGE_MERMAID = """\
---
title: "triage"
---
flowchart TD
    __start__(("start")):::kind_start
    Billing_Agent("Billing Agent"):::kind_agent
    Booking_Agent("Booking Agent"):::kind_agent
    Support_Agent("Support Agent"):::kind_agent
    Triage_Agent("Triage Agent"):::kind_agent
    __end__((("end"))):::kind_end
    __start__ --> Triage_Agent
    Billing_Agent --> __end__
    Booking_Agent --> __end__
    Support_Agent --> __end__
    Triage_Agent -->|"billing"| Billing_Agent
    Triage_Agent -->|"booking"| Booking_Agent
    Triage_Agent -->|"support"| Support_Agent
    Triage_Agent ==>|"no handoff"| __end__
    classDef kind_start fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_end fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_agent fill:#dbeafe,stroke:#1d4ed8,color:#0f172a
    linkStyle 4,5,6 stroke:#2563eb,stroke-width:1.5px
    linkStyle 7 stroke:#111827,stroke-width:2.4px
    linkStyle 0,1,2,3 stroke:#6b7280,stroke-width:1.5px
"""


def test_mermaid_snapshot_triage() -> None:
    assert to_mermaid(triage()) == TRIAGE_MERMAID


def _shuffled(g: nx.DiGraph) -> nx.DiGraph:
    """The same graph with nodes and edges inserted in reverse order."""
    h = nx.DiGraph(**g.graph)
    h.add_nodes_from(reversed(list(g.nodes(data=True))))
    h.add_edges_from(reversed(list(g.edges(data=True))))
    return h


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_output_is_deterministic_and_ignores_insertion_order(name: str) -> None:
    g = SAMPLES[name]()
    h = _shuffled(g)
    assert list(g.nodes) != list(h.nodes)
    assert to_mermaid(g) == to_mermaid(g) == to_mermaid(h)
    assert to_dot(g) == to_dot(h)
    assert render_svg(g, engine="python") == render_svg(h, engine="python")
    path = [n for n in g.nodes if g.nodes[n]["kind"] == "agent"][:2]
    assert to_mermaid(g, overlay=path) == to_mermaid(h, overlay=path)


def test_mermaid_edge_arrows_and_shapes_per_kind() -> None:
    text = to_mermaid(human_approval()) + to_mermaid(hierarchical()) + to_mermaid(dynamic())
    assert 'approval{{"Human approval"}}:::kind_interrupt' in text
    assert 'Planner -.->|"plan"| approval' in text  # interrupt: dotted
    assert 'Orchestrator -.->|"summarize"| summarize' in text  # tool: dotted
    assert 'summarize[["summarize"]]:::kind_tool' in text
    assert 'specialists[/"Specialists (≤ 5)"/]:::kind_dynamic' in text
    assert "stroke-dasharray:5 3" in text  # dynamic nodes are dashed
    loop = to_mermaid(reflection())
    assert 'Critic ==>|"≤ 3 iterations"| Generator' in loop
    assert "linkStyle 1 stroke:#c026d3,stroke-width:3px" in loop


def test_mermaid_ids_are_sanitised_unique_and_never_keywords() -> None:
    g = nx.DiGraph()
    for node_id in ("A B", "A_B", "end", "1st", "Ünïcode-Agent"):
        g.add_node(node_id, kind="agent", label=node_id)
    g.add_edge("A B", "end", kind="handoff")
    text = to_mermaid(g)
    assert 'A_B("A B")' in text and 'A_B_2("A_B")' in text
    assert 'n_end("end")' in text and 'n_1st("1st")' in text
    assert '_n_code_Agent("Ünïcode-Agent")' in text
    assert "A_B --> n_end" in text


def test_mermaid_escapes_quotes_and_markup() -> None:
    text = to_mermaid(nasty())
    assert 'R_D___Lab___Agent("R#amp;D #lt;#quot;Lab#quot;#gt; Agent")' in text
    assert '|"if a#lt;b #amp; #quot;c#quot;"|' in text
    assert 'title: "R&D <\\"team\\">"' in text


def test_mermaid_overlay_marks_steps_and_dims_the_rest() -> None:
    path = ["Generator", "Critic", "Generator", "Critic"]
    text = to_mermaid(reflection(), overlay=path)
    assert 'Generator("Generator<br/>steps 1,3")' in text
    assert 'Critic("Critic<br/>steps 2,4")' in text
    assert "class Critic,Generator visited" in text
    assert "class __start__,__end__ dimmed" in text
    # both directions of the cycle were walked: Critic -> Generator and Generator -> Critic
    assert "linkStyle 1,3 stroke:#f97316,stroke-width:4px" in text


def test_wide_fanout_is_drawn_left_to_right_with_every_branch() -> None:
    g = parallel(50)
    assert to_mermaid(g).splitlines()[3] == "flowchart LR"
    assert "rankdir=LR" in to_dot(g)
    assert to_mermaid(parallel(3)).splitlines()[3] == "flowchart TD"


# --------------------------------------------------------------------------- SVG


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_svg_parses_and_shows_every_label(engine: str, name: str) -> None:
    g = SAMPLES[name]()
    svg = render_svg(g, engine=engine)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    for label in _labels(g):
        assert html.escape(label).encode() in svg, label
    for _, _, label in g.edges(data="label"):
        if label:
            assert html.escape(label).encode() in svg, label
    assert set(_node_groups(svg)) == {str(n) for n in g.nodes}


@pytest.mark.parametrize("engine", ENGINES)
def test_names_with_markup_are_xml_escaped(engine: str) -> None:
    svg = render_svg(nasty(), engine=engine)
    assert b"R&amp;D &lt;&quot;Lab&quot;&gt; Agent" in svg
    assert b'<"Lab">' not in svg and b"R&D" not in svg
    texts = "".join(ET.fromstring(svg).itertext())
    assert NASTY in texts and 'if a<b & "c"' in texts


@pytest.mark.parametrize("engine", ENGINES)
def test_legend_lists_the_edge_kinds_drawn(engine: str) -> None:
    svg = render_svg(human_approval(), engine=engine)
    root = ET.fromstring(svg)
    legend = [grp for grp in root.iter(f"{SVG}g") if "legend" in (grp.get("class") or "")]
    text = " ".join("".join(grp.itertext()) for grp in legend)
    for kind in ("route", "sequence", "interrupt"):
        assert kind in text
    assert "handoff" not in text and "fanout" not in text


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("reflection", ["Generator", "Critic", "Generator", "Critic", "Generator"]),
        ("triage", ["Triage Agent", "Booking Agent"]),
        ("supervisor", ["Boss", "Worker 1", "Boss", "Worker 2", "Boss"]),
        ("human_approval", ["Planner", "approval", "Executor"]),
        ("parallel50", ["Researcher 7", "join", "Synthesizer"]),
    ],
)
def test_overlay_marks_exactly_the_visited_nodes(engine: str, name: str, path: list[str]) -> None:
    g = SAMPLES[name]()
    svg = render_svg(g, overlay=path, engine=engine)
    nodes = _node_groups(svg)
    assert set(nodes) == {str(n) for n in g.nodes}
    for node_id, classes in nodes.items():
        assert ("visited" in classes) == (node_id in path), node_id
        assert ("dimmed" in classes) == (node_id not in path), node_id
    walked = {(a, b) for a, b in pairwise(path) if g.has_edge(a, b)}
    assert sum("visited" in c for c in _edge_groups(svg)) == len(walked)
    # the order of the steps is shown on the nodes
    steps: dict[str, list[int]] = {}
    for i, node in enumerate(path, start=1):
        steps.setdefault(node, []).append(i)
    texts = [t.strip() for t in ET.fromstring(svg).itertext() if t.strip()]
    for numbers in steps.values():
        assert ",".join(map(str, numbers)) in texts


def test_overlay_without_it_nothing_is_marked() -> None:
    svg = render_svg(reflection(), engine="python")
    assert not any({"visited", "dimmed"} & c for c in _node_groups(svg).values())


def test_overlay_of_run_time_specialists_lands_on_the_dynamic_node() -> None:
    path = ["Analyzer", "Finance Specialist", "Legal Specialist", "Synthesizer"]
    svg = render_svg(dynamic(), overlay=path, engine="python")
    nodes = _node_groups(svg)
    assert {n for n, c in nodes.items() if "visited" in c} == {
        "Analyzer",
        "specialists",
        "Synthesizer",
    }
    assert b">2,3<" in svg


def test_overlay_matches_labels_and_skips_unknown_steps() -> None:
    svg = render_svg(human_approval(), overlay=["Planner", "Human approval", "nobody"],
                     engine="python")  # fmt: skip
    visited = {n for n, c in _node_groups(svg).items() if "visited" in c}
    assert visited == {"Planner", "approval"}


def test_long_step_lists_are_shortened() -> None:
    path = ["Generator", "Critic"] * 10
    svg = render_svg(reflection(), overlay=path, engine="python")
    assert "1,3,5,…,19".encode() in svg and "2,4,6,…,20".encode() in svg


def test_edge_kinds_are_drawn_differently() -> None:
    g = _graph("all kinds")
    kinds = ["handoff", "route", "sequence", "tool", "loop", "fanout", "join", "interrupt"]
    for kind in kinds:
        _node(g, f"from {kind}")
        _node(g, f"to {kind}")
        g.add_edge(f"from {kind}", f"to {kind}", kind=kind)
    root = ET.fromstring(render_svg(g, engine="python"))
    looks = {}
    for grp in root.iter(f"{SVG}g"):
        classes = (grp.get("class") or "").split()
        if "edge" in classes:
            path = grp.find(f"{SVG}path")
            assert path is not None
            looks[classes[1]] = (path.get("stroke"), path.get("stroke-width"),
                                 path.get("stroke-dasharray"))  # fmt: skip
    assert sorted(looks) == sorted(kinds)
    assert len(set(looks.values())) == len(kinds)
    assert looks["tool"][2] and looks["interrupt"][2] and not looks["handoff"][2]
    assert float(looks["loop"][1] or 0) > float(looks["handoff"][1] or 0)


Box = tuple[float, float, float, float]


def _boxes(svg: bytes) -> tuple[dict[str, Box], list[Box]]:
    """Bounding boxes of node shapes and of edge-label backdrops in a python-engine SVG."""
    root = ET.fromstring(svg)
    nodes: dict[str, Box] = {}
    labels: list[Box] = []
    for grp in root.iter(f"{SVG}g"):
        classes = (grp.get("class") or "").split()
        shape = next(iter(grp), None)
        if shape is None:
            continue
        xs: list[float] = []
        ys: list[float] = []
        for el in grp:
            tag = el.tag.removeprefix(SVG)
            if tag == "rect":
                x, y = float(el.get("x", 0)), float(el.get("y", 0))
                xs += [x, x + float(el.get("width", 0))]
                ys += [y, y + float(el.get("height", 0))]
            elif tag == "ellipse":
                cx, cy = float(el.get("cx", 0)), float(el.get("cy", 0))
                rx, ry = float(el.get("rx", 0)), float(el.get("ry", 0))
                xs += [cx - rx, cx + rx]
                ys += [cy - ry, cy + ry]
            elif tag == "polygon":
                for point in (el.get("points") or "").split():
                    px, py = point.split(",")
                    xs.append(float(px))
                    ys.append(float(py))
        if not xs:
            continue
        box = (min(xs), min(ys), max(xs), max(ys))
        if "node" in classes:
            title = grp.find(f"{SVG}title")
            nodes[(title.text or "") if title is not None else ""] = box
        elif "edge-label" in classes:
            labels.append(box)
    return nodes, labels


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_python_layout_keeps_nodes_and_labels_apart_and_on_the_canvas(name: str) -> None:
    g = SAMPLES[name]()
    path = [n for n in g.nodes if g.nodes[n]["kind"] != "start"][:3]
    for overlay in (None, path):
        svg = render_svg(g, overlay=overlay, engine="python")
        root = ET.fromstring(svg)
        width, height = float(root.get("width", 0)), float(root.get("height", 0))
        nodes, labels = _boxes(svg)
        assert len(nodes) == g.number_of_nodes()
        boxes = list(nodes.values()) + labels
        for i, a in enumerate(boxes):
            assert 0 <= a[0] and a[2] <= width and 0 <= a[1] and a[3] <= height
            for b in boxes[i + 1 :]:
                assert not _overlap(a, b), (a, b)


def test_every_node_is_wide_enough_for_its_label() -> None:
    g = parallel(3)
    _node(g, "An agent with a rather long name, WWW")
    g.add_edge("__start__", "An agent with a rather long name, WWW", kind="fanout")
    nodes, _ = _boxes(render_svg(g, engine="python"))
    x0, _, x1, _ = nodes["An agent with a rather long name, WWW"]
    # 37 characters at 13px in the widest common sans-serif font need about 260px
    assert x1 - x0 >= 260


def test_empty_graph_still_draws() -> None:
    g = nx.DiGraph()
    assert to_mermaid(g) == "flowchart TD\n"
    ET.fromstring(render_svg(g, engine="python"))


# --------------------------------------------------------------------------- PNG


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["triage", "reflection", "parallel50", "human_approval"])
def test_png_has_the_png_signature(engine: str, name: str) -> None:
    if engine == "python":
        pytest.importorskip("matplotlib")
    g = SAMPLES[name]()
    png = render_png(g, engine=engine, overlay=list(g.nodes)[:2])
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 2000


def test_png_without_graphviz_or_matplotlib_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not has_dot()
    with pytest.raises(ImportError, match=r"apt-get install graphviz.*pip install matplotlib"):
        render_png(triage())


# --------------------------------------------------------------------------- engines


def test_auto_engine_falls_back_to_python_without_graphviz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    svg = render_svg(triage())
    assert b"graphviz" not in svg.lower()
    assert svg == render_svg(triage(), engine="python")


def test_dot_engine_without_graphviz_says_how_to_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="install it") as info:
        render_svg(triage(), engine="dot")
    assert isinstance(info.value, AgentPatternsError)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown drawing engine 'neato'"):
        render_svg(triage(), engine="neato")


def _fake_dot(tmp_path: Path, body: str) -> None:
    """A stand-in ``dot`` on an otherwise empty PATH."""
    exe = tmp_path / "dot"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)


def test_dot_failure_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_dot(tmp_path, 'echo "Error: syntax error in line 1" >&2; exit 1')
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="exit 1.*syntax error"):
        render_svg(triage(), engine="dot")


def test_dot_is_killed_after_the_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sleep = shutil.which("sleep")
    assert sleep is not None
    _fake_dot(tmp_path, f"exec {sleep} 30")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(render, "DOT_TIMEOUT", 0.3)
    with pytest.raises(RenderError, match="longer than 0.3 s"):
        render_png(triage(), engine="dot")


@pytest.mark.skipif(not has_dot(), reason="Graphviz not installed")
def test_dot_source_is_valid_for_every_sample() -> None:
    for name, make in SAMPLES.items():
        g = make()
        for overlay in (None, list(g.nodes)[:3]):
            proc = subprocess.run(["dot", "-Tcanon"], input=to_dot(g, overlay=overlay).encode(),
                                  capture_output=True, timeout=60)  # fmt: skip
            assert proc.returncode == 0, (name, proc.stderr)
            assert b"Warning" not in proc.stderr, (name, proc.stderr)


def test_importing_the_module_is_cheap() -> None:
    code = (
        "import sys, agentpatterns; before = set(sys.modules); "
        "import agentpatterns.adapters.render; "
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in ('networkx', 'matplotlib', 'subprocess')))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
