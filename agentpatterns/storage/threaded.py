"""Savers whose async methods run their sync twins in a worker thread.

A saver opened for a compiled graph (``Pattern.compile(checkpointer=URL)``) is a sync saver
that must also serve ``ainvoke``/``astream``; only the async methods the class really
implements are wrapped, so LangGraph's capability checks stay truthful.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

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
