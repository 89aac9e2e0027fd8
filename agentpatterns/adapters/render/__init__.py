"""Draw a pattern's topology: Mermaid text, SVG and PNG, offline.

An adapter over networkx graphs: imports only ``errors``; never the SDK adapter.

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

from agentpatterns.adapters.render.dot import to_dot
from agentpatterns.adapters.render.mermaid import to_mermaid
from agentpatterns.adapters.render.png import _raster_png
from agentpatterns.adapters.render.scheme import (
    MAX_LAYER_WIDTH,
    RunOverlay,
    _resolve_overlay,
)
from agentpatterns.adapters.render.svg import _scene, _write_svg
from agentpatterns.errors import AgentPatternsError, InputError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DOT_TIMEOUT",
    "MAX_LAYER_WIDTH",
    "RenderError",
    "RunOverlay",
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
    g: nx.DiGraph, *, overlay: Sequence[str] | RunOverlay | None = None, engine: str = "auto"
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
    g: nx.DiGraph, *, overlay: Sequence[str] | RunOverlay | None = None, engine: str = "auto"
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
