"""PostgreSQL thread locks: a session-level advisory lock per thread, and its fence.

See :mod:`agentpatterns.run.locks`. The lock is taken on the saver's own connection (or on
one connection of its pool, kept for the run); the server drops it when that session
closes. While the run lasts, its :class:`~agentpatterns.storage.fencing.Fence` checks
before every model or tool call that this session still holds the lock, and gives the
turn journal the session's pid so its inserts are made only while it does.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

from agentpatterns.errors import LeaseLostError, StorageError, ThreadBusyError
from agentpatterns.storage.fencing import PG_WRITE_SUFFIX, Fence, fence_of

__all__ = ["PG_HELD", "PG_KEY_PREFIX", "apg_connection", "apg_drop", "apg_fence", "apg_take",
           "col", "fence_writes", "pg_connection", "pg_drop", "pg_fence", "pg_take",
           "raise_pg_failure", "saver_lock"]

# the advisory-lock key is a hash of this prefix + the thread id, so it cannot collide with
# keys other code derives from bare thread ids
PG_KEY_PREFIX = "agentpatterns-thread:"
_PG_TRY = ("SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS ok, "
           "pg_backend_pid() AS pid")
# whether this session still holds the thread's lock (checked before every effect)
_PG_MINE = """
SELECT count(*) AS ok FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = pg_backend_pid()
  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0)
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_PG_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%s, 0)) AS ok"
# A taker, once it holds the thread's lock, takes the thread's write key exclusively once:
# free only when no pooled write of the previous holder is still committing (they hold it
# shared for their transaction; see agentpatterns.storage.fencing)
_PG_WRITES_DONE = (
    f"SELECT CASE WHEN pg_try_advisory_lock(hashtextextended(%s || '{PG_WRITE_SUFFIX}', 0)) "
    f"THEN pg_advisory_unlock(hashtextextended(%s || '{PG_WRITE_SUFFIX}', 0)) "
    "ELSE false END AS ok")
# A pooled write's first statement, in its transaction: hold the write key shared, then
# check that the lock's session (pid) still holds the thread's lock
_PG_WRITE_GUARD = (
    f"SELECT CASE WHEN pg_try_advisory_xact_lock_shared(hashtextextended(%s || "
    f"'{PG_WRITE_SUFFIX}', 0)) THEN (SELECT count(*) FROM pg_locks l "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = %s "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0) "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "ELSE 0 END AS ok")
#: Longest wait (seconds) for a previous holder's pooled writes to commit after taking a lock.
WRITES_WAIT = 5.0
PG_HELD = """
SELECT t.id AS thread_id FROM unnest(%s::text[]) AS t(id)
WHERE hashtextextended(%s || t.id, 0) IN (
    SELECT (l.classid::bigint << 32) | l.objid::bigint FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
"""


@contextmanager
def saver_lock(saver: Any) -> Iterator[None]:
    # the sync savers serialise use of their one connection with a threading lock
    lock = getattr(saver, "lock", None)
    if lock is not None and hasattr(lock, "acquire") and not isinstance(lock, asyncio.Lock):
        with lock:
            yield
    else:
        yield


def col(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else row[0]




@contextmanager
def pg_connection(saver: Any) -> Iterator[Any]:
    conn = saver.conn
    if hasattr(conn, "getconn"):  # a pool: keep one of its connections for the run
        with conn.connection() as held:
            yield held
    else:
        yield conn


@asynccontextmanager
async def apg_connection(saver: Any) -> AsyncIterator[Any]:
    conn = saver.conn
    if hasattr(conn, "getconn"):
        async with conn.connection() as held:
            yield held
    else:
        yield conn


def raise_pg_failure(exc: Exception, thread_id: str) -> None:
    """A run failed on PostgreSQL: a lost connection is reported with how to go on."""
    import psycopg

    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise StorageError(
            f"lost the connection to PostgreSQL while running thread {thread_id!r} ({detail}); "
            "the thread keeps its last completed step: resume it once the server is back"
        ) from exc


def _pg_failed(thread_id: str, exc: BaseException) -> StorageError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return StorageError(f"cannot lock thread {thread_id!r} in PostgreSQL ({detail}); check "
                        "that the server is still reachable")


def _pg_busy(thread_id: str) -> ThreadBusyError:
    return ThreadBusyError(
        f"thread {thread_id!r} is being run by another process (it holds the thread's "
        "PostgreSQL advisory lock); wait for it to finish, then resume the thread if it was "
        "cut off (one run at a time per thread)")


def pg_take(saver: Any, conn: Any, thread_id: str) -> int:
    """Take the thread's advisory lock; the backend pid of the session that holds it.

    Once taken, waits (up to :data:`WRITES_WAIT`) until no pooled write of the previous
    holder is still committing, so what this run reads next includes all of them.
    """
    import psycopg

    key = PG_KEY_PREFIX + thread_id
    try:
        with saver_lock(saver):
            row = conn.execute(_PG_TRY, (key,)).fetchone()
        if not _row_value(row, "ok", 0):
            raise _pg_busy(thread_id)
        deadline = time.monotonic() + WRITES_WAIT
        while True:
            with saver_lock(saver):
                done = conn.execute(_PG_WRITES_DONE, (key, key)).fetchone()
            if _row_value(done, "ok", 0):
                return int(_row_value(row, "pid", 1))
            if time.monotonic() > deadline:
                with saver_lock(saver):
                    conn.execute(_PG_UNLOCK, (key,))
                raise _pg_writes_busy(thread_id)
            time.sleep(0.005)
    except psycopg.Error as exc:
        raise _pg_failed(thread_id, exc) from exc


def _pg_writes_busy(thread_id: str) -> ThreadBusyError:
    return ThreadBusyError(
        f"thread {thread_id!r} is free, but a write of the run that held it before has been "
        f"committing for over {WRITES_WAIT:g}s; try again shortly (one run at a time per "
        "thread)")


def _row_value(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]


def _pg_lost(thread_id: str) -> LeaseLostError:
    return LeaseLostError(
        f"thread {thread_id!r} lost its PostgreSQL advisory lock while this run went on (the "
        "session holding it was closed or the lock released); this run stopped before its "
        "next model or tool call; resume the thread (see `agentpatterns threads`)")


def _lock_session_gone(saver: Any, conn: Any, exc: Exception, thread_id: str) -> None:
    # the saver's own connection lost: the server is gone (StorageError, resume later); one
    # held from the saver's pool for the lock: the lock is gone, other sessions still write
    import psycopg

    if conn is not saver.conn and isinstance(exc, (psycopg.OperationalError,
                                                   psycopg.InterfaceError)):
        raise _pg_lost(thread_id) from exc


def _insert_fence(saver: Any, conn: Any, pid: int, key: str) -> tuple[int, str] | None:
    # Journal inserts through the lock's own session need no lock check: if that session is
    # gone, so is the insert. A saver with a pool writes through other sessions; there each
    # insert is made only while the lock's session still holds the lock (a pg_locks lookup).
    return None if conn is saver.conn else (pid, key)


def _thread_of(config: Any) -> str | None:
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    return None if thread is None else str(thread)


def fence_writes(saver: Any) -> None:
    """Make every checkpoint write of a fenced thread of a saver with a pool one transaction
    with its lock check.

    Such a saver holds a run's advisory lock on one pooled session and writes checkpoints
    and pending writes through others, which would go on writing after the lock's session
    closed and another process took the thread. Its ``put``/``put_writes`` (``aput``/
    ``aput_writes``) are wrapped, once per saver: a write of a thread whose run registered a
    fence (:mod:`agentpatterns.storage.fencing`) takes a pooled connection, and in one
    transaction holds the thread's write key shared, checks that the lock's session still
    holds the lock (else ``LeaseLostError``, nothing stored), makes the saver's own write
    on that connection and commits; a taker waits for such a transaction before it reads
    the thread (:func:`pg_take`), so no write lands after it. Threads without a fence are
    written as before. Cost: a ``BEGIN``, one guard statement and a ``COMMIT`` per write,
    pooled savers only.
    """
    if getattr(saver, "_agentpatterns_fenced_writes", False):
        return

    def sync(real: Any) -> Any:
        method = getattr(real, "__func__", None)

        def write(config: Any, *args: Any, **kwargs: Any) -> Any:
            thread = _thread_of(config)
            fence = fence_of(saver, thread) if thread is not None else None
            if fence is None:
                return real(config, *args, **kwargs)
            if fence.pg_lock is None or method is None:
                fence.check()
                return real(config, *args, **kwargs)
            pid, key = fence.pg_lock
            with saver.conn.connection() as conn, conn.transaction():
                if not _row_value(conn.execute(_PG_WRITE_GUARD, (key, pid, key)).fetchone(),
                                  "ok", 0):
                    raise _pg_lost(str(thread))
                return method(_bound(saver, conn, threading.Lock()), config, *args, **kwargs)
        return write

    def aio(real: Any) -> Any:
        method = getattr(real, "__func__", None)

        async def write(config: Any, *args: Any, **kwargs: Any) -> Any:
            thread = _thread_of(config)
            fence = fence_of(saver, thread) if thread is not None else None
            if fence is None:
                return await real(config, *args, **kwargs)
            if fence.pg_lock is None or method is None:
                await (fence.acheck() if fence.acheck is not None
                       else asyncio.to_thread(fence.check))
                return await real(config, *args, **kwargs)
            pid, key = fence.pg_lock
            async with saver.conn.connection() as conn, conn.transaction():
                cursor = await conn.execute(_PG_WRITE_GUARD, (key, pid, key))
                if not _row_value(await cursor.fetchone(), "ok", 0):
                    raise _pg_lost(str(thread))
                return await method(_bound(saver, conn, asyncio.Lock()), config, *args,
                                    **kwargs)
        return write

    for name, wrap in (("put", sync), ("put_writes", sync), ("aput", aio),
                       ("aput_writes", aio)):
        setattr(saver, name, wrap(getattr(saver, name)))
    saver._agentpatterns_fenced_writes = True


def _bound(saver: Any, conn: Any, lock: Any) -> Any:
    """``saver`` writing through ``conn`` (one pooled connection, in the write's
    transaction), with a lock of its own: the saver's methods run unchanged on it."""
    bound = copy.copy(saver)
    bound.conn, bound.lock = conn, lock
    if hasattr(bound, "pipe"):
        bound.pipe = None
    return bound


def pg_fence(saver: Any, conn: Any, thread_id: str, pid: int) -> Fence:
    key = PG_KEY_PREFIX + thread_id

    def check() -> None:
        try:
            with saver_lock(saver):
                row = conn.execute(_PG_MINE, (key,)).fetchone()
        except Exception as exc:
            _lock_session_gone(saver, conn, exc, thread_id)
            raise
        if not _row_value(row, "ok", 0):
            raise _pg_lost(thread_id)

    return Fence(check=check, pg_lock=_insert_fence(saver, conn, pid, key))


def apg_fence(saver: Any, conn: Any, thread_id: str, pid: int) -> Fence:
    key = PG_KEY_PREFIX + thread_id

    def check() -> None:
        raise TypeError("an async PostgreSQL lock is checked with acheck")

    async def acheck() -> None:
        try:
            async with _asaver_lock(saver):
                cursor = await conn.execute(_PG_MINE, (key,))
                row = await cursor.fetchone()
        except Exception as exc:
            _lock_session_gone(saver, conn, exc, thread_id)
            raise
        if not _row_value(row, "ok", 0):
            raise _pg_lost(thread_id)

    return Fence(check=check, acheck=acheck, pg_lock=_insert_fence(saver, conn, pid, key))


def pg_drop(saver: Any, conn: Any, thread_id: str) -> None:
    import psycopg

    # if the connection is gone, so is the lock
    with suppress(psycopg.Error), saver_lock(saver):
        conn.execute(_PG_UNLOCK, (PG_KEY_PREFIX + thread_id,))


async def apg_take(saver: Any, conn: Any, thread_id: str) -> int:
    """:func:`pg_take` on an async connection."""
    import psycopg

    key = PG_KEY_PREFIX + thread_id
    try:
        async with _asaver_lock(saver):
            row = await (await conn.execute(_PG_TRY, (key,))).fetchone()
        if not _row_value(row, "ok", 0):
            raise _pg_busy(thread_id)
        deadline = time.monotonic() + WRITES_WAIT
        while True:
            async with _asaver_lock(saver):
                done = await (await conn.execute(_PG_WRITES_DONE, (key, key))).fetchone()
            if _row_value(done, "ok", 0):
                return int(_row_value(row, "pid", 1))
            if time.monotonic() > deadline:
                async with _asaver_lock(saver):
                    await conn.execute(_PG_UNLOCK, (key,))
                raise _pg_writes_busy(thread_id)
            await asyncio.sleep(0.005)
    except psycopg.Error as exc:
        raise _pg_failed(thread_id, exc) from exc


async def apg_drop(saver: Any, conn: Any, thread_id: str) -> None:
    import psycopg

    with suppress(psycopg.Error):
        async with _asaver_lock(saver):
            await conn.execute(_PG_UNLOCK, (PG_KEY_PREFIX + thread_id,))


@asynccontextmanager
async def _asaver_lock(saver: Any) -> AsyncIterator[None]:
    lock = getattr(saver, "lock", None)
    if isinstance(lock, asyncio.Lock):
        async with lock:
            yield
    else:
        yield
