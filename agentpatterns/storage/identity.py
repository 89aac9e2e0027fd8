"""Which database a saver writes to: the key its thread locks and effect logs live under.

``("sqlite", real path of the main database file)`` or ``("postgres", the DSN without its
password)``; ``None`` for savers kept in this process (``memory``, an in-memory SQLite
database, other kinds). :mod:`agentpatterns.run.locks` keys its locks and the effect logs
(:mod:`agentpatterns.storage.effect_log`) by it, and deleting a thread
(:mod:`agentpatterns.storage.thread_delete`) finds the thread's effect logs by it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from typing import Any

__all__ = ["adatabase_key", "database_key", "is_psycopg"]


def _module(obj: Any) -> str:
    return type(obj).__module__ or ""


def is_psycopg(conn: Any) -> bool:
    """A psycopg connection or pool (their public classes say ``__module__ = "psycopg"``)."""
    return _module(conn).split(".")[0] in ("psycopg", "psycopg_pool")


def pg_identity(conn: Any) -> str:
    """The DSN without its password: host, port, user and database name identify the server."""
    info = getattr(conn, "info", None)
    if info is not None:
        return str(info.dsn)
    return str(getattr(conn, "conninfo", id(conn)))


def _sqlite_key(rows: Iterable[Any]) -> tuple[str, str] | None:
    path = next((str(row[2]) for row in rows if row[1] == "main"), "")
    if not path:  # an in-memory SQLite database lives in this process only
        return None
    return ("sqlite", os.path.realpath(path))


def database_key(saver: Any) -> tuple[str, str] | None:
    """The database ``saver`` (a sync one, or an async PostgreSQL one) writes to."""
    conn = getattr(saver, "conn", None)
    if isinstance(conn, sqlite3.Connection):
        lock = getattr(saver, "lock", None)
        if lock is not None and hasattr(lock, "acquire") and hasattr(lock, "release"):
            with lock:
                rows = conn.execute("PRAGMA database_list").fetchall()
        else:
            rows = conn.execute("PRAGMA database_list").fetchall()
        return _sqlite_key(rows)
    if is_psycopg(conn):
        return ("postgres", pg_identity(conn))
    return None


async def adatabase_key(saver: Any) -> tuple[str, str] | None:
    """:func:`database_key`, also for an aiosqlite saver."""
    conn: Any = getattr(saver, "conn", None)
    if _module(conn).startswith("aiosqlite"):
        async with conn.execute("PRAGMA database_list") as cursor:
            rows = await cursor.fetchall()
        return _sqlite_key(rows)
    return database_key(saver)
