"""Savers and stores kept open per process for the SDK runtime's runs (opened once, reused).

A durable SDK run (``adapters.openai_agents.durable``) used to open its journal saver, and
the store twice (for its two marker writes), on every run: each SQLite open connects,
runs ``PRAGMA quick_check`` over the whole file and sets up the tables; each PostgreSQL
open connects and sets up. :func:`kept` opens a URL once per process and hands the same
object to later runs, as :func:`~agentpatterns.storage.checkpointer_for_graph` does for
compiled graphs (sync objects whose async methods run in a worker thread, so any thread
and any event loop can use them), but re-checked each time it is handed out:

* **a fork**: a child process never uses (nor closes: that would end the parent's
  PostgreSQL session, or let SQLite drop the parent's locks) what its parent opened; it
  opens its own;
* **a removed or replaced SQLite file**: the file at the path must still be the one that
  was opened (device and inode), else the old connection is closed and the path opened
  again (a new file is created and checked as on a first open);
* **a closed or broken connection** (closed by its owner, a PostgreSQL server that
  restarted or dropped the session): opened again (PostgreSQL: one ``SELECT 1`` round
  trip per hand-out tells);
* **too many**: at most :data:`MAX_KEPT` stay open (the least recently used idle one is
  closed);
* **a transaction left open** by a failed statement is rolled back when the ``with``
  block ends (a per-run connection was closed, which did the same), so the kept
  connection never holds the file's write lock between runs.

A kept SQLite file is checked (``PRAGMA quick_check``, not another application's) when it
is first opened in the process, as a compiled graph's saver is; a file damaged in place
afterwards is not checked again until it is opened anew (replaced, or the process restarts).

Objects (``backend == "object"``) and ``memory`` specs are handed out as
:func:`~agentpatterns.storage.open_checkpointer` would. What stays open is closed at
interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, Literal

from agentpatterns.storage.dispatch import _open_sync
from agentpatterns.storage.spec import DEFAULT_TIMEOUT, _memory, _parse, _Spec

__all__ = ["kept"]

_guard = threading.Lock()
#: How many backends stay open at most (the least recently used idle one is closed first),
#: so a process that runs on many files or databases does not run out of descriptors or
#: server connections.
MAX_KEPT = 8


@dataclass(kw_only=True)
class _Kept:
    """One opened backend: the object, what closes it, and what identifies its file."""

    opened: Any
    exit: ExitStack
    pid: int
    file: tuple[int, int] | None = None  # SQLite: (device, inode) when opened
    users: int = 0
    stale: bool = False


_open: dict[tuple[str, str, str], _Kept] = {}
_opening: dict[tuple[str, str, str], threading.Lock] = {}  # one opener per backend
# what a forked child found open: never used, closed or garbage-collected there (a
# psycopg connection's finaliser would end the parent's session)
_inherited: list[_Kept] = []
_exit_registered: list[bool] = []


def _before_fork() -> None:
    # SQLite must not carry an open connection across a fork (the child inherits its
    # in-process lock bookkeeping): idle SQLite connections are closed first, and opened
    # again by the next run; one in use now (another thread) is left to the child rule
    if not _guard.acquire(blocking=False):
        return
    try:
        for key, entry in list(_open.items()):
            if key[1] == "sqlite" and entry.users <= 0:
                del _open[key]
                with suppress(Exception):
                    entry.exit.close()
    finally:
        _guard.release()


def _after_fork_in_child() -> None:
    global _guard
    _guard = threading.Lock()  # another thread may have held it (or an opener's) at the fork
    _opening.clear()
    _inherited.extend(_open.values())
    _open.clear()


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


@contextmanager
def kept(spec: object, kind: Literal["checkpointer", "store"]) -> Iterator[Any]:
    """The saver or store ``spec`` names, opened once per process and re-checked.

    Args:
        spec: A URL, ``None``/``"memory"``, or a saver/store object (yielded unchanged).
        kind: ``"checkpointer"`` or ``"store"``.

    Yields:
        The opened object. Its async methods run its sync ones in a worker thread.

    Raises:
        StorageError: As for :func:`~agentpatterns.storage.open_checkpointer`.
    """
    parsed = _parse(spec, kind)
    if parsed.backend == "object":
        yield parsed.target
        return
    if parsed.backend == "memory":
        yield _memory(parsed)
        return
    entry = _take(parsed)
    try:
        yield entry.opened
    finally:
        _give_back(entry)


def _key(spec: _Spec) -> tuple[tuple[str, str, str], _Spec]:
    if spec.backend == "sqlite":
        from agentpatterns.storage.sqlite import _sqlite_path

        target = str(_sqlite_path(spec.target))  # also refuses a FIFO, a directory...
        spec = _Spec(kind=spec.kind, backend="sqlite", target=target)
    return (spec.kind, spec.backend, spec.target), spec


def _take(parsed: _Spec) -> _Kept:
    key, spec = _key(parsed)
    with _guard:
        entry = _current(key, spec)
        if entry is not None:
            return _use(key, entry)
        opening = _opening.setdefault(key, threading.Lock())
    # one thread opens a backend at a time (two first opens of a new file would race in
    # its set-up); outside the guard: an open may wait for a locked file
    with opening:
        with _guard:
            entry = _current(key, spec)  # opened by another thread meanwhile
            if entry is not None:
                return _use(key, entry)
        fresh = _opened(spec)
        with _guard:
            entry = _use(key, fresh)
            _evict()
            return entry


def _current(key: tuple[str, str, str], spec: _Spec) -> _Kept | None:
    # called under _guard: the kept entry if it still works, else it is dropped
    entry = _open.get(key)
    if entry is None or (entry.pid == os.getpid() and _usable(entry, spec)):
        return entry
    del _open[key]
    entry.stale = True
    _close_if_idle(entry)
    return None


def _use(key: tuple[str, str, str], entry: _Kept) -> _Kept:
    # called under _guard; (re)inserted last: the most recently used
    _open.pop(key, None)
    _open[key] = entry
    entry.users += 1
    return entry


def _evict() -> None:
    # called under _guard: the least recently used idle backends beyond MAX_KEPT
    for key in [k for k, e in _open.items() if e.users <= 0][:max(0, len(_open) - MAX_KEPT)]:
        entry = _open.pop(key)
        entry.stale = True
        _close_if_idle(entry)


def _give_back(entry: _Kept) -> None:
    _roll_back(entry.opened)
    with _guard:
        entry.users -= 1
        _close_if_idle(entry)


def _opened(spec: _Spec) -> _Kept:
    stack = ExitStack()
    opened = stack.enter_context(_open_sync(spec, DEFAULT_TIMEOUT, threaded=True))
    if not _exit_registered:
        _exit_registered.append(True)
        atexit.register(_close_all)
    return _Kept(opened=opened, exit=stack, pid=os.getpid(),
                 file=_file_id(spec.target) if spec.backend == "sqlite" else None)


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _usable(entry: _Kept, spec: _Spec) -> bool:
    """Whether the kept object still works on what ``spec`` names (see the module doc)."""
    conn: Any = getattr(entry.opened, "conn", None)
    if spec.backend == "sqlite":
        if entry.file is None or _file_id(spec.target) != entry.file:
            return False
        try:
            conn.in_transaction  # noqa: B018  (raises on a closed connection)
        except Exception:
            return False
        return True
    if conn is None or getattr(conn, "closed", True) or getattr(conn, "broken", False):
        return False
    lock = getattr(entry.opened, "lock", None)
    try:
        with lock if lock is not None else nullcontext():
            conn.execute("SELECT 1").fetchone()
    except Exception:
        return False
    return True


def _roll_back(opened: Any) -> None:
    # a failed statement can leave a SQLite transaction open (and the write lock taken);
    # PostgreSQL connections here are autocommit
    conn = getattr(opened, "conn", None)
    if not isinstance(conn, sqlite3.Connection):
        return
    lock = getattr(opened, "lock", None)
    with suppress(sqlite3.Error), (lock if lock is not None else nullcontext()):
        if conn.in_transaction:  # raises on a closed connection (then opened again)
            conn.rollback()


def _close_if_idle(entry: _Kept) -> None:
    # called under _guard; a stale entry is closed once its last user gave it back
    if entry.stale and entry.users <= 0 and entry.pid == os.getpid():
        with suppress(Exception):
            entry.exit.close()


def _close_all() -> None:
    # at exit a server may already be gone; closing is best effort and must not print
    with _guard:
        entries = list(_open.values())
        _open.clear()
    for entry in entries:
        if entry.pid == os.getpid():
            with suppress(Exception):
                entry.exit.close()
