"""The fences of leased threads, as the turn journal sees them.

A run holds its thread's lock for as long as it runs (:mod:`agentpatterns.run.locks`: a
SQLite lease with a fencing token, a PostgreSQL advisory lock). Checkpoint writes of a
thread whose SQLite lease was taken over are refused in their own transaction; that stops
what the run *stores*, but not what it *does*: a holder that wakes up after being frozen
past its lease would otherwise still start its next model call or tool call. So the lock
registers a :class:`Fence` here for the saver and thread while it is held, and the turn
journal (:mod:`agentpatterns.storage.journal`) calls its ``check`` before every effect it
starts, and makes its own inserts conditional on the lock (SQLite: the lease triggers;
PostgreSQL: the advisory lock still held by the lock's session).

The window that remains is the time between a check and the effect it lets start (a
process frozen right there starts one more effect; whatever it writes afterwards is
refused).

PostgreSQL savers with a pool write through sessions other than the lock's, so a write's
check and its commit are on another session than the lock: the lock could be lost between
them. Each such write therefore holds, for its transaction, a *shared* advisory lock on the
thread's write key (:data:`PG_WRITE_SUFFIX` after the lock's key text) and checks the lock
inside that transaction; a process that takes the thread over takes that key *exclusively*
once, right after the thread's lock, so it waits for every write in flight to commit (or
roll back) before it reads the thread. A write either commits before the taker reads, or
finds the lock gone and stores nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PG_WRITE_SUFFIX", "Fence", "fence_of", "set_fence"]

#: Appended to a thread's advisory-lock key text: the key its pooled writes share while they
#: commit, and its takers take exclusively once (see the module docstring).
PG_WRITE_SUFFIX = ":write"


@dataclass(frozen=True, kw_only=True)
class Fence:
    """How to tell that a run still holds its thread.

    Attributes:
        check: Raises :class:`~agentpatterns.errors.LeaseLostError` (or the storage error
            of a lost connection) when the run no longer holds the thread.
        acheck: The same for an async saver's connection (``None``: ``check`` is used).
        pg_lock: PostgreSQL: the backend pid of the session holding the thread's advisory
            lock and the lock's key text; journal inserts are made only while that session
            holds it (a saver with a pool writes through other sessions), each holding the
            thread's write key shared until it commits.
        log: The run's write-ahead effect log
            (:class:`agentpatterns.storage.effect_log.EffectLog`): each journal record is
            appended to it before it is inserted (``None``: none kept).
    """

    check: Callable[[], None]
    acheck: Callable[[], Awaitable[None]] | None = None
    pg_lock: tuple[int, str] | None = None
    log: Any = None


_fences: weakref.WeakKeyDictionary[Any, dict[str, Fence]] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def set_fence(saver: Any, thread_id: str, fence: Fence | None) -> None:
    """Register (or, with ``None``, drop) the fence of ``thread_id`` run with ``saver``."""
    with _guard:
        fences = _fences.get(saver)
        if fence is not None:
            if fences is None:
                fences = _fences[saver] = {}
            fences[thread_id] = fence
        elif fences is not None:
            fences.pop(thread_id, None)


def fence_of(saver: Any, thread_id: str) -> Fence | None:
    """The fence of ``thread_id`` on ``saver``, if a run of this process holds it."""
    with _guard:
        fences = _fences.get(saver)
        return None if fences is None else fences.get(thread_id)
