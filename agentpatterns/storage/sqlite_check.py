"""Look at a SQLite file before anything writes to it, without changing a byte of it.

Two rules shape this module:

* **Never open the database file with Python's ``open()``.** POSIX record locks belong to a
  process and a file, not to a descriptor: closing *any* descriptor of the file drops every
  lock this process holds on it, including those of SQLite connections that stay open (a
  graph compiled with ``checkpointer="sqlite:///..."`` keeps one). Another process then
  believes it is the file's last user, checkpoints the WAL into the file and resets it
  under the open connection, whose next read fails with "database disk image is
  malformed" although the file is healthy. SQLite itself keeps descriptors open while
  locks are held, so every look at the file here goes through a read-only SQLite
  connection.
* **A file that is not ours stays untouched.** Before a writing open, the file must pass
  ``PRAGMA quick_check`` and must not be another application's database (tables, none of
  them ours) or hold a ``checkpoints``/``writes`` table of another shape.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from agentpatterns.errors import StorageError

#: Tables LangGraph's SQLite saver and store create; ``agentpatterns_*`` tables are ours too.
OUR_TABLES = frozenset({"checkpoints", "writes", "store", "store_migrations", "store_vectors",
                        "vector_migrations"})
#: The columns LangGraph's saver reads, per table: a table of that name without them is foreign.
SAVER_COLUMNS = {
    "checkpoints": frozenset({"thread_id", "checkpoint_ns", "checkpoint_id",
                              "parent_checkpoint_id", "type", "checkpoint", "metadata"}),
    "writes": frozenset({"thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx",
                         "channel", "type", "value"}),
}

_checked_lock = threading.Lock()
# (device, inode, size, mtime) of files that passed quick_check in this process
_checked: set[tuple[int, int, int, int]] = set()


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"mode": "ro", **params}.items())
    return f"file:{quote(str(path))}?{query}"


def connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write to ``path`` (nor create it, nor switch its journal).

    A WAL database in a folder this process may not write to cannot get its ``-shm`` file;
    it is then opened as immutable (no other process can be writing it there either).

    Raises:
        sqlite3.Error: The file cannot be opened or is not a database.
    """
    conn = sqlite3.connect(_uri(path), uri=True, timeout=timeout, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return conn
    except sqlite3.Error as exc:
        conn.close()
        if "unable to open" not in str(exc) or os.access(path.parent, os.W_OK):
            raise
    conn = sqlite3.connect(_uri(path, immutable="1"), uri=True, timeout=timeout,
                           check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")')}


def _has_magic(path: Path) -> bool:
    # Only called once SQLite refused the file, so no connection of this process uses it
    # and closing this descriptor cannot drop anyone's locks.
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def unusable(path: Path, exc: BaseException, timeout: float = 0.0) -> StorageError:
    """The error for a file SQLite cannot read as a database (or cannot lock in time)."""
    lowered = str(exc).lower()
    if "locked" in lowered or "busy" in lowered:
        return StorageError(
            f"SQLite database {path} is locked by another connection (waited {timeout:g}s); "
            "let the other process finish, raise the timeout, or use a postgresql:// URL "
            "for many concurrent writers")
    if "file is not a database" in str(exc) and not _has_magic(path):
        return StorageError(f"{path} is not a SQLite database (it was left untouched); point "
                            "the URL at a new or existing SQLite file")
    return StorageError(
        f"{path} is not a usable SQLite database ({exc}); it was left untouched; point the "
        "URL at a new file (or check this one with `sqlite3 FILE 'PRAGMA integrity_check'`)")


def inspect(path: Path, timeout: float, *, integrity: bool) -> set[str]:
    """Check an existing file before it is used; return the names of its tables.

    Args:
        path: The database file (it exists).
        timeout: Seconds to wait for a busy file.
        integrity: Also run ``PRAGMA quick_check`` (once per file per process).

    Raises:
        StorageError: Not a SQLite database, damaged, another application's database, or a
            ``checkpoints``/``writes`` table of another shape. The file is not changed.
    """
    try:
        conn = connect_read_only(path, timeout)
    except sqlite3.Error as exc:
        raise unusable(path, exc, timeout) from exc
    try:
        tables = {str(row[0]) for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        stat = os.stat(path)
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if integrity and key not in _checked:
            problems = [" ".join(str(row[0]).split())
                        for row in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise StorageError(
                    f"{path} is a damaged SQLite database (quick_check: "
                    f"{'; '.join(problems)[:200]}); it was left untouched; restore it from a "
                    "backup or point the URL at another file")
            with _checked_lock:
                _checked.add(key)
        ours = {t for t in tables if t in OUR_TABLES or t.startswith("agentpatterns_")}
        if tables - {"sqlite_sequence"} and not ours:
            shown = ", ".join(sorted(tables)[:5])
            raise StorageError(
                f"{path} is another application's SQLite database (tables: {shown}) and holds "
                "no agentpatterns checkpoints; it was left untouched; point the URL at a new "
                "file")
        for table, needed in SAVER_COLUMNS.items():
            if table in tables:
                missing = needed - _columns(conn, table)
                if missing:
                    raise StorageError(
                        f"{path} has a {table!r} table that is not LangGraph's (no column "
                        f"{', '.join(sorted(missing))}); it was left untouched; point the URL "
                        "at a new file")
        return tables
    except sqlite3.Error as exc:
        raise unusable(path, exc, timeout) from exc
    finally:
        conn.close()
