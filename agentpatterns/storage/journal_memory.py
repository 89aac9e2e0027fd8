"""The turn journal of savers that keep no journal table (``memory``, other kinds).

Their entries live in this process, per saver (weakly: a journal must not keep a saver
alive), as :mod:`agentpatterns.storage.journal` reads and writes them; deleting a thread
forgets its entries (:mod:`agentpatterns.storage.thread_delete`).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

__all__ = ["forget_memory_rows", "memory_rows"]


class MemoryRows:
    """One saver's entries: ``{(thread_id, checkpoint_ns, task_id): {seq: (kind, name,
    value)}}`` under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[tuple[str, str, str], dict[int, tuple[str, str, Any]]] = {}


_memory_rows: weakref.WeakKeyDictionary[Any, MemoryRows] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def memory_rows(saver: Any) -> MemoryRows:
    """The entries kept in this process for ``saver`` (made on first use)."""
    with _lock:
        rows = _memory_rows.get(saver)
        if rows is None:
            rows = _memory_rows[saver] = MemoryRows()
        return rows


def forget_memory_rows(saver: Any, thread_id: str) -> int:
    """Drop every entry of ``thread_id`` kept for ``saver``; how many were dropped."""
    with _lock:
        rows = _memory_rows.get(saver)
    if rows is None:
        return 0
    with rows.lock:
        keys = [k for k in rows.rows if k[0] == str(thread_id)]
        dropped = sum(len(rows.rows.pop(k)) for k in keys)
    return dropped
