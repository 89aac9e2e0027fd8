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

import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentpatterns.adapters._render_dot import to_dot
from agentpatterns.adapters._render_layout import _left_to_right
from agentpatterns.adapters._render_png import _raster_png
from agentpatterns.adapters._render_scheme import (
    _DIM_OPACITY,
    _EDGE_STYLES,
    _NODE_COLORS,
    _PATH_COLOR,
    EDGE_KINDS,
    MAX_LAYER_WIDTH,
    NODE_KINDS,
    _clean,
    _edge_kind,
    _edge_label,
    _label,
    _node_kind,
    _node_order,
    _resolve_overlay,
    _stable_ids,
    _steps_text,
)
from agentpatterns.adapters._render_svg import _scene, _write_svg
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


class RenderError(AgentPatternsError, RuntimeError):
    """Graphviz ``dot`` was asked for but is missing, failed, or timed out."""


def has_dot() -> bool:
    """Whether Graphviz ``dot`` is on ``PATH``.

    Returns:
        True when ``render_svg``/``render_png`` with ``engine="auto"`` will use Graphviz.
    """
    return shutil.which("dot") is not None


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
