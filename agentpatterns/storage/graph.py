"""Savers and stores kept open for compiled graphs, whose async methods run in a thread.

Behind :func:`agentpatterns.storage.checkpointer_for_graph` and
:func:`~agentpatterns.storage.store_for_graph`: one backend per URL per process, closed at
interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
from contextlib import ExitStack, suppress
from typing import Any, Literal

from agentpatterns.storage.dispatch import _open_sync
from agentpatterns.storage.spec import DEFAULT_TIMEOUT, _memory, _parse, _Spec
from agentpatterns.storage.sqlite import _sqlite_path

_graph_lock = threading.Lock()
_graph_backends: dict[tuple[str, str, str], Any] = {}
_graph_exit: ExitStack | None = None


def _for_graph(spec: object, kind: Literal["checkpointer", "store"]) -> Any:
    if spec is None or isinstance(spec, bool):
        return spec
    parsed = _parse(spec, kind)
    if parsed.backend == "object":
        return parsed.target
    if parsed.backend == "memory":
        return _memory(parsed)
    target = str(_sqlite_path(parsed.target)) if parsed.backend == "sqlite" else parsed.target
    key = (kind, parsed.backend, target)
    global _graph_exit
    with _graph_lock:
        if key not in _graph_backends:
            if _graph_exit is None:
                _graph_exit = ExitStack()
                atexit.register(_close_graph_backends)
            cm = _open_sync(
                _Spec(kind=kind, backend=parsed.backend, target=target),
                DEFAULT_TIMEOUT,
                threaded=True,
            )
            _graph_backends[key] = _graph_exit.enter_context(cm)
        return _graph_backends[key]


def _close_graph_backends() -> None:
    # at exit a server may already be gone; closing is best effort and must not print
    if _graph_exit is not None:
        with suppress(Exception):
            _graph_exit.close()

