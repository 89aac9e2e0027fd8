"""Topology as a networkx graph: export, static analysis, drawing with a run's path.

Two views of the same topology become the same kind of ``nx.DiGraph``:

* the **pattern view**, ``to_networkx(pattern)``: the typed nodes and edges the builder
  declared (edge kinds ``handoff``, ``route``, ``sequence``, ``tool``, ``loop``, ``fanout``,
  ``join``, ``interrupt``);
* the **compiled view**, ``to_networkx(pattern.compile())``: what LangGraph actually built,
  read from ``graph.get_graph()``. Its edge kinds are coarser (``route`` for a conditional
  edge or a ``Command`` destination, ``sequence`` for a plain edge), and the work that runs
  *inside* a node (function tools, agents used as tools) is folded back in from the node's
  ``metadata["agentpatterns"]["inner"]`` as ``tool`` edges.

The two views **agree** when they have the same node ids with the same node kinds, the
same ``(source, target)`` edge pairs, and the same pairs are ``tool`` edges;
:func:`view_differences` lists every way they do not.

Example:
    >>> from agentpatterns import Agent, reflection
    >>> p = reflection(Agent(name="Writer", instructions="Write"),
    ...                Agent(name="Critic", instructions="Review"), iterations=2)
    >>> sorted((u, v, k) for u, v, k in to_networkx(p).edges(data="kind"))[:2]
    [('Critic', 'Writer', 'loop'), ('Critic', '__end__', 'route')]
    >>> a = analyze(p)
    >>> a.max_model_calls, [(c.nodes, c.bound) for c in a.cycles]
    (4, [(('Writer', 'Critic'), 2)])
    >>> view_differences(p)
    []
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from agentpatterns.adapters.render.scheme import RunOverlay
from agentpatterns.errors import InputError

# the static analysis lives in a module of its own; its names are public here
from agentpatterns.graphs.analysis import MAX_CYCLES as MAX_CYCLES
from agentpatterns.graphs.analysis import Analysis, Cycle, analyze, turn_calls
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.graphs.topology import to_networkx, view_differences
from agentpatterns.nodes.agent import Agent

__all__ = [
    "FORMATS",
    "Analysis",
    "RunOverlay",
    "Cycle",
    "Drawing",
    "analyze",
    "draw",
    "result_overlay",
    "run_overlay",
    "run_path",
    "show",
    "to_networkx",
    "turn_calls",
    "view_differences",
]

#: file suffix -> drawing format
FORMATS = {".svg": "svg", ".png": "png", ".mmd": "mmd"}
_FORMAT_ALIASES = {"svg": "svg", "png": "png", "mmd": "mmd", "mermaid": "mmd"}


# --------------------------------------------------------------------------- run path


def run_path(
    target: Any, *, thread_id: str, checkpointer: Any = None, checkpoint_id: str | None = None
) -> list[str]:
    """The agents of a checkpointed run, in the order they took a turn.

    Args:
        target: The ``Pattern`` (or ``Agent``, or compiled graph) the thread ran.
        thread_id: The run's thread.
        checkpointer: A saver or a URL (``memory``, ``sqlite:///file``, ...). Default: the
            compiled graph's own saver, else the process-wide ``memory`` one.
        checkpoint_id: A checkpoint of the thread (default: its latest), e.g. a fork.

    Returns:
        The ``path`` of the run at that checkpoint (the latest run on the thread).

    Raises:
        InputError: The thread (or checkpoint) has no checkpoint there.
    """
    _, values = _snapshot(target, thread_id, checkpointer, checkpoint_id)
    return [str(a) for a in values.get("path") or []]


def run_overlay(
    target: Any, *, thread_id: str, checkpointer: Any = None, checkpoint_id: str | None = None
) -> RunOverlay:
    """What a checkpointed run did, for drawing: its path, tool calls, whether it finished
    and the state of its human decision (waiting, approved, rejected).

    Arguments and errors as for :func:`run_path`.
    """
    snapshot, values = _snapshot(target, thread_id, checkpointer, checkpoint_id)
    waiting = bool(getattr(snapshot, "interrupts", ()))
    return RunOverlay.of(values, waiting=waiting,
                         finished=not snapshot.next or waiting)


def result_overlay(result: Any) -> RunOverlay:
    """What a ``RunResult`` did, for drawing (either runtime)."""
    values = {**(result.values or {}), "path": list(result.path)}
    return RunOverlay.of(values, waiting=bool(result.interrupted),
                         tool_calls=result.tool_calls)


def _snapshot(target: Any, thread_id: str, checkpointer: Any,
              checkpoint_id: str | None) -> tuple[Any, Mapping[str, Any]]:
    """The thread's ``StateSnapshot`` and its values (a nested pattern's run settled in)."""
    from langchain_core.runnables import RunnableConfig

    from agentpatterns.storage import open_checkpointer

    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    config = RunnableConfig(configurable=configurable)
    if isinstance(target, Agent):
        from agentpatterns.graphs.handoffs import as_pattern

        target = as_pattern(target)
    if checkpointer is None and not isinstance(target, Pattern):
        checkpointer = getattr(target, "checkpointer", None) or None
    where = (
        checkpointer
        if isinstance(checkpointer, str)
        else (type(checkpointer).__name__ if checkpointer is not None else "memory")
    )
    if isinstance(checkpointer, str) and checkpointer.strip().startswith("sqlite:///"):
        file = Path(checkpointer.strip()[len("sqlite:///") :])
        if not file.exists():  # reading must not create an empty database
            raise InputError(
                f"no database file {os.fspath(file)!r} for {checkpointer!r}; "
                "pass the --db the thread ran with"
            )
    with open_checkpointer(checkpointer) as saver:
        if isinstance(target, Pattern):
            graph = target.graph().compile(checkpointer=saver, name=target.name)
        else:
            graph = target.copy(update={"checkpointer": saver})
        snapshot = graph.get_state(config)
        values = snapshot.values or {}
        if isinstance(target, Pattern) and target.patterns and snapshot.created_at is not None:
            from agentpatterns.run.invoke import settled  # a run waiting inside a nested one

            values = settled(target, graph, config, snapshot).values or {}
    if snapshot.created_at is None:
        at = f" checkpoint {checkpoint_id!r}" if checkpoint_id else ""
        raise InputError(
            f"thread {thread_id!r}{at} has no checkpoint in {where}; run it "
            "first, or pass the checkpointer (--db) it ran with"
        )
    return snapshot, values


def _check_overlay(g: nx.DiGraph, path: Sequence[str], thread_id: str) -> None:
    labels = {g.nodes[n].get("label") for n in g}
    if any(g.nodes[n]["kind"] == "dynamic" for n in g):
        return  # agents made at run time are drawn as the dynamic node
    unknown = [a for a in dict.fromkeys(path) if a not in g and a not in labels]
    if unknown:
        raise InputError(
            f"thread {thread_id!r} ran {', '.join(map(repr, unknown))}, not in "
            f"pattern {g.graph.get('name')!r}; draw the pattern that ran it"
        )


# --------------------------------------------------------------------------- drawing


def _format_of(format: str | None, path: str | os.PathLike[str] | None) -> str:
    fmt = None
    if format is not None:
        fmt = _FORMAT_ALIASES.get(str(format).lower())
        if fmt is None:
            raise InputError(f"unknown drawing format {format!r}; use 'svg', 'png' or 'mmd'")
    if path is None:
        return fmt or "svg"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"refusing to write {os.fspath(path)!r}: the file name must end in .svg, .png or .mmd"
        )
    if fmt is not None and fmt != FORMATS[suffix]:
        raise InputError(
            f"format={format!r} but {os.fspath(path)!r} ends in {suffix}; pass "
            f"format={FORMATS[suffix]!r} or change the file name"
        )
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{os.fspath(path)!r} is a directory; name a .svg, .png or .mmd file")
    if not target.absolute().parent.is_dir():
        raise InputError(
            f"cannot write {os.fspath(path)!r}: folder "
            f"{os.fspath(target.absolute().parent)!r} does not exist"
        )
    return FORMATS[suffix]


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half file).

    Raises:
        OSError: The folder is not writable (nothing is left behind).
    """
    target = Path(path).absolute()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; an image is a normal file
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def draw(
    target: Any,
    *,
    format: str | None = None,
    path: str | os.PathLike[str] | None = None,
    thread_id: str | None = None,
    checkpointer: Any = None,
    checkpoint_id: str | None = None,
    engine: str = "auto",
    result: Any = None,
) -> Any:
    """Draw a topology offline as SVG, PNG or Mermaid text, optionally with a run on it.

    Args:
        target: A ``Pattern``, an ``Agent`` or a compiled graph.
        format: ``"svg"``, ``"png"`` or ``"mmd"`` (Mermaid text). Default: from the
            suffix of ``path``, else SVG.
        path: Write the drawing there (through a temporary file and a rename) and return
            the path instead of the bytes. The name must end in ``.svg``, ``.png`` or
            ``.mmd``.
        thread_id: Overlay the run on this thread: its agents with the step numbers at
            which they ran, the edges it took (into the end too), the tools it called, a
            human decision's state (waiting, approved, rejected); the rest dimmed.
        checkpointer: Where the thread is (saver or URL; see :func:`run_path`).
        checkpoint_id: Overlay the run as of this checkpoint (default: the latest).
        engine: ``"dot"`` (Graphviz), ``"python"`` (built in) or ``"auto"``.
        result: Overlay this ``RunResult`` instead of a thread (either runtime).

    Returns:
        The drawing's bytes (Mermaid as UTF-8); with ``path``, the ``pathlib.Path``
        written (so a notebook cell shows the file name, not the bytes).

    Raises:
        InputError: A bad format or file name, a missing folder, or an unknown thread.
        RenderError: ``engine="dot"`` without a working Graphviz.
        OSError: ``path`` cannot be written (no file is left behind).
    """
    from agentpatterns.adapters import render

    fmt = _format_of(format, path)
    g = to_networkx(target)
    overlay = None
    if result is not None:
        overlay = result_overlay(result)
        _check_overlay(g, overlay.path, result.thread_id)
    elif thread_id is not None:
        overlay = run_overlay(
            target, thread_id=thread_id, checkpointer=checkpointer, checkpoint_id=checkpoint_id
        )
        _check_overlay(g, overlay.path, thread_id)
    if fmt == "mmd":
        data = render.to_mermaid(g, overlay=overlay).encode()
    elif fmt == "png":
        data = render.render_png(g, overlay=overlay, engine=engine)
    else:
        data = render.render_svg(g, overlay=overlay, engine=engine)
    if path is None:
        return data
    write_atomic(path, data)
    return Path(path)


@dataclass(frozen=True)
class Drawing:
    """An SVG drawing that displays itself in Jupyter (what :func:`show` returns).

    Attributes:
        svg: The SVG text.
        title: What it draws.
    """

    svg: str
    title: str = ""

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<Drawing {self.title!r}: {len(self.svg)} characters of SVG>"


def show(
    target: Any,
    *,
    thread_id: str | None = None,
    checkpointer: Any = None,
    checkpoint_id: str | None = None,
    engine: str = "auto",
    result: Any = None,
) -> Drawing:
    """A drawing that Jupyter displays: for compiled graphs, whose own display calls a web API.

    LangGraph's ``CompiledStateGraph`` displays itself through ``draw_mermaid_png()``, which
    calls the mermaid.ink web service; ``show(graph)`` draws it here instead (the compiled
    view), and ``show(pattern, thread_id=...)`` with a run's path.

    Args:
        target: A ``Pattern``, an ``Agent`` or a compiled graph.
        thread_id: Overlay this run (see :func:`draw`).
        checkpointer: Where the thread is.
        checkpoint_id: Overlay the run as of this checkpoint.
        engine: ``"dot"``, ``"python"`` or ``"auto"``.
        result: Overlay this ``RunResult`` (see :func:`draw`).
    """
    svg = draw(
        target,
        format="svg",
        thread_id=thread_id,
        checkpointer=checkpointer,
        checkpoint_id=checkpoint_id,
        engine=engine,
        result=result,
    ).decode()
    title = (
        str(to_networkx(target).graph.get("name", ""))
        if not isinstance(target, Pattern)
        else target.name
    )
    thread = result.thread_id if result is not None else thread_id
    return Drawing(svg, title + (f" (thread {thread})" if thread else ""))
