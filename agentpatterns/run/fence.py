"""Fencing for SQLite leases: a run that lost its lease cannot write its thread.

A lease can be lost while its holder is alive: frozen (``SIGSTOP``, a suspended laptop, a
stalled VM) past ``LEASE_TTL``, another process takes the thread over, and the holder then
wakes up in the middle of a step. Judging liveness better cannot close that window; a
fencing token does. The lease row's ``owner`` is the token, and every write of a leased
thread checks it **in the same transaction as the write**: ``TEMP`` triggers on the
saver's own connection (so nothing is added to the file) abort any insert into
``checkpoints``, ``writes`` or the turn journal for a thread this connection leased
unless the lease table still names this connection's token. SQLite's write lock
serialises that check with a taker's ``BEGIN IMMEDIATE``: either the write commits before
the takeover, or it fails with "agentpatterns: lease lost" and nothing of it is stored.

Also here: who a lease holder is (:data:`IDENTITY`). A pid means something only in its own
PID namespace on its own boot, so a holder is checked by pid only when both match;
otherwise (another host, another container with the same hostname) only its heartbeat says
it is gone.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

__all__ = ["IDENTITY", "LEASE_LOST", "afence", "fence", "same_namespace", "unfence"]

#: The message the fencing triggers abort a write with.
LEASE_LOST = "agentpatterns: lease lost"

_FENCES = "agentpatterns_fences"
_CREATE_FENCES = (f"CREATE TEMP TABLE IF NOT EXISTS {_FENCES} "
                  "(thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL)")
_TRIGGER = """
CREATE TEMP TRIGGER IF NOT EXISTS agentpatterns_fence_{table} BEFORE INSERT ON main.{table}
WHEN EXISTS (SELECT 1 FROM {fences} f WHERE f.thread_id = NEW.thread_id
             AND NOT EXISTS (SELECT 1 FROM {leases} l
                             WHERE l.thread_id = f.thread_id AND l.owner = f.owner))
BEGIN SELECT RAISE(ABORT, '{message}'); END
"""
_TABLES = ("SELECT name FROM main.sqlite_master WHERE type = 'table' AND (name IN "
           "('checkpoints', 'writes') OR name LIKE 'agentpatterns_journal%')")


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace").strip()
    except OSError:
        return ""


def _identity() -> str:
    # the boot and the PID namespace this process's pids mean something in
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{_read('/proc/sys/kernel/random/boot_id')}/{namespace}"


#: ``boot id/pid namespace`` of this process (``"/"`` where the system does not say).
IDENTITY = _identity()


def same_namespace(stamp: str) -> bool | None:
    """Whether a lease's ``proc_start`` stamp (``start@identity``) is from this namespace.

    Returns:
        ``True``/``False``, or ``None`` for a stamp without an identity (an older row).
    """
    if "@" not in stamp:
        return None
    return stamp.split("@", 1)[1] == IDENTITY and IDENTITY != "/"


def _statements(tables: list[str], leases: str) -> list[str]:
    out = [_CREATE_FENCES]
    for table in tables:
        out.append(_TRIGGER.format(table=table, fences=_FENCES, leases=leases,
                                   message=LEASE_LOST))
    return out


def fence(saver: Any, thread_id: str, owner: str, leases: str) -> None:
    """Make ``saver``'s connection refuse writes of ``thread_id`` once ``owner`` lost it.

    Args:
        saver: A sync SQLite saver (its ``conn`` and ``lock``).
        thread_id: The leased thread.
        owner: The lease's token.
        leases: The lease table's name.
    """
    conn: sqlite3.Connection = saver.conn
    with _lock(saver):
        tables = [str(row[0]) for row in conn.execute(_TABLES)]
        for statement in _statements(tables, leases):
            conn.execute(statement)
        conn.execute(f"INSERT OR REPLACE INTO {_FENCES} VALUES (?, ?)", (thread_id, owner))
        conn.commit()


def unfence(saver: Any, thread_id: str) -> None:
    """Forget the lease of ``thread_id`` on ``saver``'s connection (after the run)."""
    conn: sqlite3.Connection = saver.conn
    with _lock(saver):
        try:
            conn.execute(f"DELETE FROM {_FENCES} WHERE thread_id = ?", (thread_id,))
            conn.commit()
        except sqlite3.Error:  # a closed connection keeps no fences
            pass


async def afence(saver: Any, thread_id: str, owner: str | None, leases: str) -> None:
    """:func:`fence` (``owner`` given) or :func:`unfence` (``None``) for an aiosqlite saver."""
    conn = saver.conn
    async with saver.lock:
        if owner is None:
            try:
                await conn.execute(f"DELETE FROM {_FENCES} WHERE thread_id = ?", (thread_id,))
                await conn.commit()
            except sqlite3.Error:
                pass
            return
        async with conn.execute(_TABLES) as cursor:
            tables = [str(row[0]) for row in await cursor.fetchall()]
        for statement in _statements(tables, leases):
            await conn.execute(statement)
        await conn.execute(f"INSERT OR REPLACE INTO {_FENCES} VALUES (?, ?)",
                           (thread_id, owner))
        await conn.commit()


class _lock:
    """The sync saver's threading lock (it serialises use of its one connection)."""

    def __init__(self, saver: Any) -> None:
        self.lock = getattr(saver, "lock", None)

    def __enter__(self) -> None:
        if self.lock is not None and hasattr(self.lock, "acquire"):
            self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        if self.lock is not None and hasattr(self.lock, "release"):
            self.lock.release()
