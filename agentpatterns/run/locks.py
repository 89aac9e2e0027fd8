"""One run at a time per thread: a lock around every execution of a thread.

LangGraph has no thread lock: two processes that resume the same thread at once would
both execute its next step. ``Runner`` (and the command line) therefore hold a lock on
``thread_id`` while they run or resume it; a second taker fails at once with
:class:`~agentpatterns.errors.ThreadBusyError` instead of waiting or running twice.

The lock lives where the checkpoints live, so every process that shares them sees it:

* **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock`` on a 64-bit hash
  of the thread id, taken on the saver's own connection (a connection of its pool, kept
  for the run, when the saver has a pool). The server drops it when that connection
  closes, so a killed process never leaves it behind.
* **SQLite**: a lease row in ``agentpatterns_thread_leases`` in the same file, taken in a
  ``BEGIN IMMEDIATE`` transaction (so two takers are serialised by SQLite's write lock)
  and deleted when the run ends. A row left by a process that died is stale and taken
  over: on the same host when its process no longer exists (pid and start time, so a
  reused pid does not count), on any host when its heartbeat, renewed every
  ``LEASE_TTL / 3`` seconds while the run lasts, is older than ``LEASE_TTL``.
* **Anything else** (``memory``, savers of other kinds): a lock in this process only.

Every backend also takes the in-process lock first, so two threads of one process that
share a saver object (and so one PostgreSQL session, where advisory locks are
re-entrant) exclude each other too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Hashable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

from agentpatterns.errors import LeaseLostError, StorageError, ThreadBusyError
from agentpatterns.run.fence import IDENTITY, LEASE_LOST, afence, fence, same_namespace, unfence
from agentpatterns.run.locks_pg import (
    PG_HELD,
    PG_KEY_PREFIX,
    apg_connection,
    apg_drop,
    apg_fence,
    apg_take,
    col,
    fence_writes,
    pg_connection,
    pg_drop,
    pg_fence,
    pg_take,
    raise_pg_failure,
    saver_lock,
)
from agentpatterns.storage.effect_log import EffectLog, atake_over, take_over
from agentpatterns.storage.fencing import Fence, set_fence
from agentpatterns.storage.identity import adatabase_key, database_key
from agentpatterns.storage.identity import is_psycopg as _is_psycopg
from agentpatterns.storage.journal import acreate_table, create_table
from agentpatterns.storage.journal_restore import arestore_rows, restore_rows
from agentpatterns.storage.journal_sql import aprune_rows, prune_rows

__all__ = ["LEASE_TABLE", "LEASE_TTL", "athread_lock", "running_threads", "thread_lock"]

#: Seconds after its last heartbeat that a SQLite lease counts as abandoned
#: (``$AGENTPATTERNS_LEASE_TTL`` overrides it; the heartbeat runs every third of it).
LEASE_TTL = float(os.environ.get("AGENTPATTERNS_LEASE_TTL") or 30.0)
#: The SQLite table holding one row per thread being run.
LEASE_TABLE = "agentpatterns_thread_leases"
_CREATE = f"""
CREATE TABLE IF NOT EXISTS {LEASE_TABLE} (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    proc_start TEXT NOT NULL,
    acquired REAL NOT NULL,
    heartbeat REAL NOT NULL
)"""
_HOST = socket.gethostname()

_local_guard = threading.Lock()
_local_held: set[tuple[Hashable, str]] = set()


# --------------------------------------------------------------------------- public API


@contextmanager
def thread_lock(saver: Any, thread_id: str, *, timeout: float = 5.0) -> Iterator[None]:
    """Hold the lock on ``thread_id`` in ``saver``'s database for the ``with`` block.

    Args:
        saver: The checkpointer the thread is run with (an opened saver object).
        thread_id: The thread.
        timeout: Seconds to wait for a busy SQLite file while taking or dropping the lease.

    Raises:
        ThreadBusyError: Another run (in any process sharing the database) holds it.
        StorageError: The database could not be used to take the lock.
    """
    backend = _backend_of(saver)
    with _local(backend.key, thread_id):
        if backend.kind == "sqlite":
            lease = _SqliteLease(backend.target, thread_id, timeout)
            lease.acquire()
            try:
                try:  # the journal's table must exist for the fence to cover it
                    create_table(saver)
                except sqlite3.Error as exc:
                    raise lease.error(exc) from exc
                fence(saver, thread_id, lease.owner, LEASE_TABLE)
                log, keep = None, True
                try:  # a failed take-over drops the lock like any other failure
                    log = _take_over(saver, backend.key, thread_id, lease)
                    set_fence(saver, thread_id, Fence(check=lease.check, log=log))
                    yield
                    keep = False
                    _prune(saver, thread_id)
                except LeaseLostError:
                    keep = False
                    raise
                except sqlite3.Error as exc:
                    _raise_sqlite_failure(exc, lease)
                    raise
                finally:
                    set_fence(saver, thread_id, None)
                    _close(log, keep)
                    unfence(saver, thread_id)
            finally:
                lease.release()
        elif backend.kind == "postgres":
            with pg_connection(saver) as conn:
                pid = pg_take(saver, conn, thread_id)
                if conn is not saver.conn:  # a pool: writes go through other sessions
                    fence_writes(saver)
                log, keep = None, True
                try:
                    log = _take_over(saver, backend.key, thread_id)
                    set_fence(saver, thread_id, dataclasses.replace(
                        pg_fence(saver, conn, thread_id, pid), log=log))
                    yield
                    keep = False
                    _prune(saver, thread_id)
                except LeaseLostError:
                    keep = False
                    raise
                except Exception as exc:
                    raise_pg_failure(exc, thread_id)
                    raise
                finally:
                    set_fence(saver, thread_id, None)
                    _close(log, keep)
                    pg_drop(saver, conn, thread_id)
        else:
            yield


@asynccontextmanager
async def athread_lock(saver: Any, thread_id: str, *, timeout: float = 5.0
                       ) -> AsyncIterator[None]:
    """The ``async`` twin of :func:`thread_lock`, for async savers.

    Args:
        saver: The checkpointer the thread is run with (sync or async saver object).
        thread_id: The thread.
        timeout: Seconds to wait for a busy SQLite file while taking or dropping the lease.

    Raises:
        ThreadBusyError: Another run (in any process sharing the database) holds it.
        StorageError: The database could not be used to take the lock.
    """
    backend = await _abackend_of(saver)
    if not backend.aio:
        with thread_lock(saver, thread_id, timeout=timeout):
            yield
        return
    with _local(backend.key, thread_id):
        if backend.kind == "sqlite":
            lease = _SqliteLease(backend.target, thread_id, timeout)
            await asyncio.to_thread(lease.acquire)
            try:
                try:
                    await acreate_table(saver)
                except sqlite3.Error as exc:
                    raise lease.error(exc) from exc
                await afence(saver, thread_id, lease.owner, LEASE_TABLE)
                log, keep = None, True
                try:
                    log = await _atake_over(saver, backend.key, thread_id, lease)
                    set_fence(saver, thread_id, Fence(check=lease.check, log=log))
                    yield
                    keep = False
                    await _aprune(saver, thread_id)
                except LeaseLostError:
                    keep = False
                    raise
                except sqlite3.Error as exc:
                    _raise_sqlite_failure(exc, lease)
                    raise
                finally:
                    set_fence(saver, thread_id, None)
                    _close(log, keep)
                    await afence(saver, thread_id, None, LEASE_TABLE)
            finally:
                await asyncio.to_thread(lease.release)
        elif backend.kind == "postgres":
            async with apg_connection(saver) as conn:
                pid = await apg_take(saver, conn, thread_id)
                if conn is not saver.conn:
                    fence_writes(saver)
                log, keep = None, True
                try:
                    log = await _atake_over(saver, backend.key, thread_id)
                    set_fence(saver, thread_id, dataclasses.replace(
                        apg_fence(saver, conn, thread_id, pid), log=log))
                    yield
                    keep = False
                    await _aprune(saver, thread_id)
                except LeaseLostError:
                    keep = False
                    raise
                except Exception as exc:
                    raise_pg_failure(exc, thread_id)
                    raise
                finally:
                    set_fence(saver, thread_id, None)
                    _close(log, keep)
                    await apg_drop(saver, conn, thread_id)
        else:
            yield


def running_threads(saver: Any, thread_ids: Iterable[str]) -> dict[str, str]:
    """Which of ``thread_ids`` some process is running now, and who (for listings).

    Args:
        saver: An opened synchronous saver.
        thread_ids: The threads to look at.

    Returns:
        ``{thread_id: holder}`` for the threads whose lock is held, e.g.
        ``"pid 4242 on host-a"``.
    """
    ids = list(thread_ids)
    backend = _backend_of(saver)
    with _local_guard:
        out = {t: "this process" for t in ids if (backend.key, t) in _local_held}
    if backend.kind == "sqlite":
        for thread_id, holder in _sqlite_holders(backend.target, ids).items():
            out.setdefault(thread_id, holder)
    elif backend.kind == "postgres" and ids:
        with pg_connection(saver) as conn, saver_lock(saver):
            rows = conn.execute(PG_HELD, (ids, PG_KEY_PREFIX)).fetchall()
        for row in rows:
            out.setdefault(col(row, "thread_id"), "another process (PostgreSQL lock)")
    return out


def _take_over(saver: Any, identity: Hashable, thread_id: str,
               lease: _SqliteLease | None = None) -> EffectLog | None:
    """Copy what killed holders of the thread left in their effect logs into the journal
    and open this run's log (:mod:`agentpatterns.storage.effect_log`)."""
    try:
        return take_over(saver, identity, thread_id, restore_rows)
    except sqlite3.Error as exc:
        if lease is not None:
            raise lease.error(exc) from exc
        raise


async def _atake_over(saver: Any, identity: Hashable, thread_id: str,
                      lease: _SqliteLease | None = None) -> EffectLog | None:
    try:
        return await atake_over(saver, identity, thread_id, arestore_rows)
    except sqlite3.Error as exc:
        if lease is not None:
            raise lease.error(exc) from exc
        raise


def _close(log: EffectLog | None, keep: bool) -> None:
    # kept when the run stopped with an error its records may not have outlived (the next
    # holder copies what the journal lacks); removed when every record was committed, or
    # when the run lost the thread (the run that took it over decides)
    if log is not None:
        log.close(keep=keep)


def _prune(saver: Any, thread_id: str) -> None:
    """The run ended: drop the journal rows no re-run can read (housekeeping: a failure
    leaves them for the next run's prune)."""
    try:
        prune_rows(saver, thread_id)
    except Exception:  # e.g. a busy file: the rows are pruned next time
        pass


async def _aprune(saver: Any, thread_id: str) -> None:
    try:
        await aprune_rows(saver, thread_id)
    except Exception:  # likewise
        pass


# --------------------------------------------------------------------------- backends


class _Backend:
    __slots__ = ("aio", "key", "kind", "target")

    def __init__(self, kind: str, key: Hashable, target: Any = None, aio: bool = False):
        self.kind = kind  # "sqlite", "postgres" or "local"
        self.key = key  # identifies the database for the in-process layer
        self.target = target  # the SQLite file
        self.aio = aio


def _backend_of(saver: Any) -> _Backend:
    return _backend(saver, database_key(saver))


async def _abackend_of(saver: Any) -> _Backend:
    conn: Any = getattr(saver, "conn", None)
    aio = type(conn).__module__.startswith("aiosqlite") or (
        _is_psycopg(conn) and "Async" in type(conn).__name__)
    backend = _backend(saver, await adatabase_key(saver))
    backend.aio = aio and backend.kind != "local"
    return backend


def _backend(saver: Any, key: tuple[str, str] | None) -> _Backend:
    if key is None:  # kept in this process (memory, an in-memory SQLite database, ...)
        return _Backend("local", ("object", id(saver)))
    if key[0] == "sqlite":
        return _Backend("sqlite", key, target=key[1])
    return _Backend("postgres", key)


@contextmanager
def _local(key: Hashable, thread_id: str) -> Iterator[None]:
    with _local_guard:
        if (key, thread_id) in _local_held:
            raise ThreadBusyError(
                f"thread {thread_id!r} is already being run in this process; wait for that "
                "run to finish (one run at a time per thread)"
            )
        _local_held.add((key, thread_id))
    try:
        yield
    finally:
        with _local_guard:
            _local_held.discard((key, thread_id))


# --------------------------------------------------------------------------- SQLite


def _proc_start(pid: int | str) -> str:
    """The start time of process ``pid`` (Linux: clock ticks since boot), or ``""``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _stamp() -> str:
    # this process's start time and the namespace its pid means something in
    return f"{_proc_start('self')}@{IDENTITY}"


def _proc_alive(pid: int, start: str) -> bool:
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().decode(errors="replace").rsplit(")", 1)[-1].split()
        except OSError:
            return False
        # a zombie is dead; a different start time means the pid was reused
        return fields[0] != "Z" and (not start or fields[19] == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _local_holder(host: str, stamp: str) -> bool:
    """Whether a holder's pid can be checked here: same host, boot and PID namespace."""
    same = same_namespace(stamp)
    return host == _HOST and (same if same is not None else True)


def _lease_alive(host: str, pid: int, proc_start: str, heartbeat: float) -> bool:
    if time.time() - heartbeat > LEASE_TTL:
        return False
    if not _local_holder(host, proc_start):
        return True  # a pid of another host or namespace says nothing here: trust the heartbeat
    return _proc_alive(pid, proc_start.split("@", 1)[0])


def _since(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _busy_message(thread_id: str, host: str, pid: int, acquired: float, *,
                  stamp: str = "", heartbeat: float = 0.0) -> str:
    who = "this process" if (host, pid) == (_HOST, os.getpid()) else f"pid {pid} on {host}"
    text = (f"thread {thread_id!r} is being run by another process ({who}, since "
            f"{_since(acquired)}); wait for it to finish, then resume the thread if it was "
            "cut off (one run at a time per thread)")
    if heartbeat and not _local_holder(host, stamp):
        where = "another host" if host != _HOST else "another PID namespace on this host"
        text += (f"; it runs on {where}, so if it is gone its lease can be taken over from "
                 f"{_since(heartbeat + LEASE_TTL)} ({LEASE_TTL:g}s after its last heartbeat)")
    return text


class _SqliteLease:
    """A lease row for one thread in a SQLite file, with a heartbeat while held."""

    def __init__(self, path: str, thread_id: str, timeout: float):
        self.path = path
        self.thread_id = thread_id
        self.timeout = timeout
        self.owner = uuid.uuid4().hex
        self.conn: sqlite3.Connection | None = None
        self.guard = threading.Lock()
        self.stop = threading.Event()
        self.beat: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        # In WAL mode a lease commit need not wait for an fsync (12-20 ms here, twice per
        # run): NORMAL survives a crash of the process; after a power loss the row may be
        # gone or stale, and either way its holder is dead too.
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def acquire(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        try:
            conn.execute(_CREATE)
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                f"SELECT host, pid, proc_start, acquired, heartbeat FROM {LEASE_TABLE} "
                "WHERE thread_id = ?", (self.thread_id,)).fetchone()
            if row is not None and _lease_alive(row[0], row[1], row[2], row[4]):
                conn.execute("ROLLBACK")
                raise ThreadBusyError(_busy_message(self.thread_id, row[0], row[1], row[3],
                                                    stamp=row[2], heartbeat=row[4]))
            now = time.time()
            conn.execute(
                f"INSERT OR REPLACE INTO {LEASE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.thread_id, self.owner, _HOST, os.getpid(), _stamp(), now, now))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self.error(exc) from exc
            raise
        self.conn = conn
        self.beat = threading.Thread(target=self._heartbeat, daemon=True,
                                     name=f"agentpatterns-lease-{self.thread_id}")
        self.beat.start()

    def _heartbeat(self) -> None:
        while not self.stop.wait(LEASE_TTL / 3):
            with self.guard, suppress(sqlite3.Error):
                if self.conn is not None:
                    renewed = self.conn.execute(
                        f"UPDATE {LEASE_TABLE} SET heartbeat = ? WHERE thread_id = ? "
                        "AND owner = ?", (time.time(), self.thread_id, self.owner)).rowcount
                    if not renewed:  # taken over: the fencing triggers refuse our writes
                        return

    def check(self) -> None:
        """Raise :meth:`lost` if the lease row no longer names this lease (taken over)."""
        with self.guard:
            conn = self.conn
            if conn is None:
                raise self.lost()
            try:
                row = conn.execute(f"SELECT 1 FROM {LEASE_TABLE} WHERE thread_id = ? AND "
                                   "owner = ?", (self.thread_id, self.owner)).fetchone()
            except sqlite3.Error as exc:
                raise self.error(exc) from exc
        if row is None:
            raise self.lost()

    def lost(self) -> LeaseLostError:
        """The error for a run whose lease another process took over."""
        who = "another process"
        with suppress(sqlite3.Error):
            if self.conn is not None:
                row = self.conn.execute(
                    f"SELECT host, pid, acquired FROM {LEASE_TABLE} WHERE thread_id = ?",
                    (self.thread_id,)).fetchone()
                if row is not None:
                    who = f"pid {row[1]} on {row[0]}, since {_since(row[2])}"
        return LeaseLostError(
            f"thread {self.thread_id!r} was taken over by another process ({who}) while this "
            f"run was stalled past its {LEASE_TTL:g}s lease; this run stopped without saving "
            "its step, so no step is stored twice; see `agentpatterns threads` for the run "
            "that continues it")

    def release(self) -> None:
        self.stop.set()
        if self.beat is not None:
            self.beat.join()
        with self.guard:
            if self.conn is None:
                return
            # best effort: if this fails the lease goes stale (dead pid, old heartbeat)
            with suppress(sqlite3.Error):
                self.conn.execute(f"DELETE FROM {LEASE_TABLE} WHERE thread_id = ? AND owner = ?",
                                  (self.thread_id, self.owner))
            self.conn.close()
            self.conn = None

    def error(self, exc: sqlite3.Error) -> StorageError:
        text = str(exc)
        if "locked" in text.lower() or "busy" in text.lower():
            return StorageError(
                f"SQLite database {self.path} is locked by another connection (waited "
                f"{self.timeout:g}s to lock thread {self.thread_id!r}); let the other "
                "process finish, or use a postgresql:// URL for many concurrent writers")
        return StorageError(f"cannot lock thread {self.thread_id!r} in SQLite database "
                            f"{self.path} ({text}); check the file and its permissions")


def _raise_sqlite_failure(exc: sqlite3.Error, lease: _SqliteLease) -> None:
    """A run failed on SQLite: a fenced write or a file locked too long is reported."""
    text = str(exc)
    if LEASE_LOST in text:
        raise lease.lost() from exc
    if "locked" in text.lower() or "busy" in text.lower():
        raise StorageError(
            f"SQLite database {lease.path} stayed locked by another connection for over "
            f"{lease.timeout:g}s while thread {lease.thread_id!r} was saving a step; the thread "
            "keeps its last completed step: resume it when the other writer is done (or use "
            "a postgresql:// URL for many concurrent writers)") from exc


def _sqlite_holders(path: str, ids: list[str]) -> dict[str, str]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return {}
    try:
        rows = conn.execute(
            f"SELECT thread_id, host, pid, proc_start, heartbeat FROM {LEASE_TABLE}").fetchall()
    except sqlite3.Error:  # no lease was ever taken in this file
        return {}
    finally:
        conn.close()
    wanted = set(ids)
    return {row[0]: f"pid {row[2]} on {row[1]}" for row in rows
            if row[0] in wanted and _lease_alive(row[1], row[2], row[3], row[4])}
