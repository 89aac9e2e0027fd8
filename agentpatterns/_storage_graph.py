"""Savers and stores kept open for compiled graphs, whose async methods run in a thread.

Behind :func:`agentpatterns.storage.checkpointer_for_graph` and
:func:`~agentpatterns.storage.store_for_graph`: one backend per URL per process, closed at
interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import AsyncIterator
from contextlib import ExitStack, suppress
from typing import Any, Literal

from agentpatterns._storage_sqlite import _sqlite_path
from agentpatterns.storage import DEFAULT_TIMEOUT, _memory, _open_sync, _parse, _Spec

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


_threaded_classes: dict[type, type] = {}

# The async methods of a checkpointer, each run as its sync twin in a worker thread.
_SAVER_ASYNC = (
    "aget_tuple",
    "aput",
    "aput_writes",
    "adelete_thread",
    "acopy_thread",
    "aprune",
    "adelete_for_runs",
    "aget_delta_channel_history",
)


def _threaded_async(cls: type) -> type:
    """A subclass of a sync saver/store whose async methods run the sync ones in a thread.

    SqliteSaver, PostgresSaver and SqliteStore refuse async calls; a graph compiled from a
    URL cannot know whether it will be invoked or awaited, so it gets both. The sync
    classes already serialise access to their one connection with a lock.
    """
    if cls in _threaded_classes:
        return _threaded_classes[cls]
    # named after the public module, as before these helpers moved here
    namespace: dict[str, Any] = {"__module__": "agentpatterns.storage"}
    if hasattr(cls, "get_tuple"):
        from langgraph.checkpoint.base import BaseCheckpointSaver

        for name in _SAVER_ASYNC:
            sync = name[1:]
            # wrap only what the class implements, so capability probes (LangGraph's
            # conformance suite) see the base class's "not supported" as it is
            if getattr(cls, sync, None) is not getattr(BaseCheckpointSaver, sync, None):
                namespace[name] = _in_thread(sync)

        async def alist(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            items = await asyncio.to_thread(lambda: list(self.list(*args, **kwargs)))
            for item in items:
                yield item

        namespace["alist"] = alist
    else:
        namespace["abatch"] = _in_thread("batch")
    threaded = type(f"Threaded{cls.__name__}", (cls,), namespace)
    _threaded_classes[cls] = threaded
    return threaded


def _in_thread(sync_name: str) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self, sync_name), *args, **kwargs)

    method.__name__ = "a" + sync_name
    return method
