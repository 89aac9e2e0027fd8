"""SQLite savers and stores for :mod:`agentpatterns.storage`: file checks, WAL, clear errors.

A file that is not a SQLite database is reported and left untouched; every connection is
switched to WAL with a busy timeout and takes the write lock once on open, so a database
another process holds is reported before a graph runs. Imported on the first
``sqlite://`` URL; LangGraph's SQLite package and ``aiosqlite`` only when a saver is built.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentpatterns.errors import StorageError
from agentpatterns.storage.journal import acreate_table, create_table
from agentpatterns.storage.spec import _backend_class, _construct
from agentpatterns.storage.sqlite_check import SAVER_COLUMNS, connect_read_only, inspect, unusable

if TYPE_CHECKING:
    from agentpatterns.storage.spec import _Spec

def _sqlite_path(raw: str) -> Path:
    """The absolute path a ``sqlite:///`` URL names (nothing is created or opened here).

    Raises:
        StorageError: ``~user`` of an unknown user, a path the system refuses (too long),
            or a directory.
    """
    try:
        path = Path(raw).expanduser()
    except RuntimeError as exc:  # "~nosuchuser/x.db"
        raise StorageError(
            f"SQLite path {raw!r} starts with an unknown user's home ({exc}); write the "
            "path out in full") from None
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # ENAMETOOLONG and friends
        raise StorageError(
            f"SQLite path {_short(path)} cannot be used ({exc.strerror or exc}); choose a "
            "shorter path") from None
    if is_dir:
        raise StorageError(
            f"SQLite path {path} is a directory, not a file; name a file inside it, "
            f"e.g. 'sqlite:///{path / 'runs.db'}'"
        )
    try:
        mode = path.stat().st_mode
    except OSError:  # absent (or a dangling link): created, or reported, by the caller
        return path
    if not stat.S_ISREG(mode):
        # a FIFO would block the open forever, a device would be written to
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise StorageError(
            f"SQLite path {_short(path)} is {kind}, not a database file (it was left "
            "untouched); point the URL at a new or existing SQLite file")
    return path


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]} ({len(text)} characters)"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:
        raise StorageError(f"SQLite path {_short(path)} cannot be used "
                           f"({exc.strerror or exc}); choose another path") from None


def _create(path: Path) -> None:
    """Create the folder (0700) and an empty database file (0600): runs hold conversations.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StorageError(
            f"cannot create the folder {path.parent} for SQLite file {_short(path)} "
            f"({exc.strerror or exc}); choose a writable location"
        ) from exc
    try:
        # a new, empty file: no SQLite connection of this process can hold locks on it yet
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError as exc:
        raise StorageError(f"cannot create SQLite file {_short(path)} "
                           f"({exc.strerror or exc}); choose a writable location") from exc


def _checked_path(spec: _Spec, timeout: float) -> tuple[Path, set[str]]:
    """The file and its tables, checked (and, to write, created) before SQLite opens it."""
    path = _sqlite_path(spec.target)
    if _exists(path):
        return path, inspect(path, timeout, integrity=True)
    if spec.read_only:
        raise StorageError(f"SQLite database {_short(path)} does not exist (check the URL, "
                           "--db or $AGENTPATTERNS_DB)")
    _create(path)
    return path, set()


# LangGraph's tables, made in the connection's TEMP schema when a read-only open finds none:
# the saver then reads "no threads" and the file is not touched.
_TEMP_TABLES = """
CREATE TEMP TABLE checkpoints (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB,
    metadata BLOB, PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));
CREATE TEMP TABLE writes (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, task_path TEXT NOT NULL DEFAULT '',
    idx INTEGER NOT NULL, channel TEXT NOT NULL, type TEXT, value BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx));
"""


def _read_only_saver(spec: _Spec, path: Path, tables: set[str], timeout: float) -> Any:
    """A saver on a connection that cannot write: no setup, no WAL switch, no new tables."""
    if spec.kind != "checkpointer":
        raise StorageError("read-only opens are for checkpointers only")
    cls = _backend_class(spec, aio=False)
    conn = connect_read_only(path, timeout)
    try:
        if not SAVER_COLUMNS.keys() <= tables:
            conn.executescript(_TEMP_TABLES)
        saver = _construct(cls, spec, conn)
        saver.is_setup = True
        columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(writes)")}
        saver._has_task_path = "task_path" in columns
    except BaseException:
        conn.close()
        raise
    return saver


def _sqlite_error(path: Path, exc: BaseException, timeout: float) -> StorageError:
    message = str(exc)
    lowered = message.lower()
    if any(word in lowered for word in ("locked", "busy", "not a database", "malformed",
                                        "corrupt")):
        return unusable(path, exc, timeout)
    if "readonly" in lowered or "read-only" in lowered:
        return StorageError(f"SQLite database {path} is read-only ({message}); make it "
                            "writable")
    return StorageError(f"cannot open SQLite database {_short(path)} ({message}); check the "
                        "path and permissions")


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
    path, tables = _checked_path(spec, timeout)
    if spec.read_only:
        try:
            saver = _read_only_saver(spec, path, tables, timeout)
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        try:
            yield saver
        finally:
            saver.conn.close()
        return
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
            if spec.kind == "checkpointer":  # the turn journal's table, beside the checkpoints
                create_table(opened)
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        yield opened
    finally:
        conn.close()


@asynccontextmanager
async def _sqlite_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    path, _ = await asyncio.to_thread(_checked_path, spec, timeout)
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
            if spec.kind == "checkpointer":
                await acreate_table(opened)
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        yield opened
    finally:
        await conn.close()
