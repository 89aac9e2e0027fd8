"""Copying the entries killed runs left in their write-ahead effect logs into the journal.

The next holder of a thread's lock (:func:`agentpatterns.storage.effect_log.take_over`) hands
the rows it read to :func:`restore_rows` (or :func:`arestore_rows`): each is decoded by the
saver's serializer first (one that cannot be read is skipped, never stored) and inserted only
where the journal holds no row for its task and position yet - a record already committed by
a run holding the thread wins. PostgreSQL inserts are fenced by the run's advisory lock like
the journal's own (:func:`agentpatterns.storage.journal.pg_insert`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from agentpatterns.storage.journal import SQLITE_RESTORE, acreate_table, create_table, pg_insert
from agentpatterns.storage.journal_sql import saver_kind

__all__ = ["arestore_rows", "restore_rows"]


@dataclass(frozen=True)
class _RowKey:
    """A row's task, in the shape of a ``TaskKey`` (for the fence of the row's thread)."""

    thread_id: str
    checkpoint_ns: str
    task_id: str
    parent_ns: str
    checkpoint_id: str


def _keyed(row: tuple[Any, ...]) -> _RowKey:
    return _RowKey(row[0], row[1], row[2], row[9], row[10])


def _decodable(rows: list[tuple[Any, ...]], serde: Any) -> list[tuple[Any, ...]]:
    # an effect log's line that the serializer cannot read is skipped, never stored
    out = []
    for row in rows:
        try:
            serde.loads_typed((row[6], bytes(row[7])))
        except Exception:
            continue
        out.append(row)
    return out


def restore_rows(saver: Any, rows: list[tuple[Any, ...]]) -> None:
    """Insert journal ``rows`` the journal does not hold yet (a row already there stays):
    the entries a killed run left in its effect log, copied by the next holder of the lock.
    """
    kind = saver_kind(saver)
    rows = _decodable(rows, saver.serde)
    create_table(saver)  # a saver the user made may not have the table yet
    if kind == "sqlite":
        with saver.cursor() as cur:
            for row in rows:
                cur.execute(SQLITE_RESTORE, row)
    elif kind == "postgres":
        with saver._cursor() as cur:
            for row in rows:
                cur.execute(*pg_insert(_keyed(row), saver, row, keep=True))


async def arestore_rows(saver: Any, rows: list[tuple[Any, ...]]) -> None:
    """:func:`restore_rows` for an async saver (a sync one is served in a thread)."""
    kind = saver_kind(saver)
    if kind in ("sqlite", "postgres"):
        await asyncio.to_thread(restore_rows, saver, rows)
        return
    rows = _decodable(rows, saver.serde)
    await acreate_table(saver)
    if kind == "asqlite":
        await saver.setup()
        async with saver.lock:
            for row in rows:
                await saver.conn.execute(SQLITE_RESTORE, row)
            await saver.conn.commit()
    elif kind == "apostgres":
        async with saver._cursor() as cur:
            for row in rows:
                await cur.execute(*pg_insert(_keyed(row), saver, row, keep=True))
