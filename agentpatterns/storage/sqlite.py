"""SQLite savers and stores for :mod:`agentpatterns.storage`: file checks, WAL, clear errors.

A file that is not a SQLite database is reported and left untouched; every connection is
switched to WAL with a busy timeout and takes the write lock once on open, so a database
another process holds is reported before a graph runs. Imported on the first
``sqlite://`` URL; LangGraph's SQLite package and ``aiosqlite`` only when a saver is built.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentpatterns.errors import StorageError
from agentpatterns.storage.spec import _backend_class, _construct

if TYPE_CHECKING:
    from agentpatterns.storage.spec import _Spec

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _sqlite_path(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        raise StorageError(
            f"SQLite path {path} is a directory, not a file; name a file inside it, "
            f"e.g. 'sqlite:///{path / 'runs.db'}'"
        )
    if path.exists():
        # Probe the header ourselves: once sqlite has the file open it may write to it (a
        # WAL switch rewrites the header), and a file that is not ours must stay untouched.
        try:
            with path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise StorageError(
                f"cannot read SQLite file {path} ({exc.strerror}); check its permissions"
            ) from exc
        if head and head != _SQLITE_MAGIC:
            raise StorageError(
                f"{path} is not a SQLite database (it was left untouched); "
                "point the URL at a new or existing SQLite file"
            )
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {path.parent} for SQLite file {path} "
                f"({exc.strerror or exc}); choose a writable location"
            ) from exc
    return path


def _sqlite_error(path: Path, exc: BaseException, timeout: float) -> StorageError:
    message = str(exc)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        text = (
            f"SQLite database {path} is locked by another connection (waited {timeout:g}s); "
            "let the other process finish, raise the timeout, or use a postgresql:// URL "
            "for many concurrent writers"
        )
    elif "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        text = (
            f"{path} is not a usable SQLite database ({message}); it was left untouched; "
            "restore it from a backup or point the URL at another file"
        )
    elif "readonly" in lowered or "read-only" in lowered:
        text = f"SQLite database {path} is read-only ({message}); make it writable"
    else:
        text = f"cannot open SQLite database {path} ({message}); check the path and permissions"
    return StorageError(text)


# Run in this order on every SQLite connection we open.
_SQLITE_PREPARE = (
    # Reading the schema parses page 1 and sqlite_master, so a damaged file fails here,
    # before the WAL switch below writes anything.
    "SELECT count(*) FROM sqlite_master",
    "PRAGMA busy_timeout = {ms}",
    # WAL lets readers work while one process writes; the busy timeout lets writers from
    # several processes queue up instead of failing at once.
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    # Take the write lock once (waiting up to the timeout) so that a database another
    # process holds is reported now, not at the first checkpoint of a run.
    "BEGIN IMMEDIATE",
    "ROLLBACK",
)


_WAL = "PRAGMA journal_mode = WAL"


def _retry_wal(exc: sqlite3.Error, deadline: float) -> bool:
    # Switching a new file to WAL needs an exclusive lock, and SQLite reports a concurrent
    # opener as "locked" at once instead of calling the busy handler: retry until the timeout.
    return "locked" in str(exc).lower() and time.monotonic() < deadline


def _sqlite_prepare(conn: sqlite3.Connection, timeout: float) -> None:
    for statement in _SQLITE_PREPARE:
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn.execute(statement.format(ms=int(timeout * 1000))).fetchall()
                break
            except sqlite3.OperationalError as exc:
                if statement != _WAL or not _retry_wal(exc, deadline):
                    raise
                time.sleep(0.01)


async def _asqlite_prepare(conn: Any, timeout: float) -> None:
    # the same steps, through aiosqlite's worker thread
    for statement in _SQLITE_PREPARE:
        deadline = time.monotonic() + timeout
        while True:
            try:
                async with conn.execute(statement.format(ms=int(timeout * 1000))) as cursor:
                    await cursor.fetchall()
                break
            except sqlite3.OperationalError as exc:
                if statement != _WAL or not _retry_wal(exc, deadline):
                    raise
                await asyncio.sleep(0.01)


@contextmanager
def _sqlite_sync(spec: _Spec, timeout: float, *, threaded: bool) -> Iterator[Any]:
    path = _sqlite_path(spec.target)
    cls = _backend_class(spec, aio=False, threaded=threaded)
    try:
        # the store runs its own BEGIN/COMMIT, so it wants autocommit (isolation_level=None)
        conn = sqlite3.connect(
            str(path),
            timeout=timeout,
            check_same_thread=False,
            isolation_level=None if spec.kind == "store" else "DEFERRED",
        )
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, timeout) from exc
    try:
        try:
            _sqlite_prepare(conn, timeout)
            opened = _construct(cls, spec, conn)
            opened.setup()
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        yield opened
    finally:
        conn.close()


@asynccontextmanager
async def _sqlite_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    path = _sqlite_path(spec.target)
    cls = _backend_class(spec, aio=True)
    import aiosqlite

    try:
        conn = await aiosqlite.connect(
            str(path),
            timeout=timeout,
            isolation_level=None if spec.kind == "store" else "DEFERRED",
        )
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, timeout) from exc
    try:
        try:
            await _asqlite_prepare(conn, timeout)
            opened = _construct(cls, spec, conn)
            await opened.setup()
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        yield opened
    finally:
        await conn.close()
