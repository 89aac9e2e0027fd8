"""The turn journal's table: its schema and its lifecycle (deleting and pruning rows).

One row per completed effect of a task's turn (see :mod:`agentpatterns.storage.journal`),
keyed by ``(thread_id, checkpoint_ns, task_id, seq)``, with the checkpoint the task was
prepared from (``parent_ns``, ``checkpoint_id``).

Lifecycle:

* :func:`delete_rows` - every row of a thread; ``delete_thread`` of any saver the journal
  was used with calls it (:func:`delete_thread_rows`, with the thread's SDK run marker;
  see :mod:`agentpatterns.storage.thread_delete`).
* :func:`prune_rows` - the rows no re-run can read any more: those of a task whose
  checkpoint already has a child checkpoint (the step's results are saved, so the step is
  never executed again from there). A run's lock calls it when the run ends; what stays is
  the journal of the head checkpoint's tasks (an interrupted turn, a run cut off by a
  crash), which a resume replays. A graph invoked directly (no lock, no run end to hook)
  prunes with the same statement (``SQLITE_PRUNE``/``PG_PRUNE``) when each turn first reads
  its journal, so its thread keeps at most the rows of its last turns.

Rows written before these two columns existed have ``checkpoint_id = ''``: never pruned,
removed by :func:`delete_rows`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JOURNAL_TABLE", "SDK_RUNS_PREFIX", "adelete_rows", "adelete_thread_rows",
           "aprune_rows", "delete_ns_rows", "delete_rows", "delete_thread_rows", "prune_rows",
           "saver_kind"]

#: The table holding journal entries (SQLite and PostgreSQL).
JOURNAL_TABLE = "agentpatterns_journal"
#: The store namespace of the SDK runtime's run markers (key = thread id), as LangGraph's
#: stores write it in the ``prefix`` column of their ``store`` table.
SDK_RUNS_PREFIX = "agentpatterns.openai_agents.runs"
_STORE_TABLE = "store"

COLUMNS = ("thread_id, checkpoint_ns, task_id, seq, kind, name, type, value, created, "
           "parent_ns, checkpoint_id")
SQLITE_CREATE = f"""
CREATE TABLE IF NOT EXISTS {JOURNAL_TABLE} (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    value BLOB,
    created REAL NOT NULL,
    parent_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (thread_id, checkpoint_ns, task_id, seq)
)"""
PG_CREATE = SQLITE_CREATE.replace("BLOB", "BYTEA").replace("REAL", "DOUBLE PRECISION")
# tables made before the checkpoint columns: added on the first open
_ADDED = ("parent_ns", "checkpoint_id")
_SQLITE_COLUMNS = f"SELECT name FROM pragma_table_info('{JOURNAL_TABLE}')"
_PG_COLUMNS = ("SELECT column_name AS name FROM information_schema.columns "
               "WHERE table_schema = current_schema() AND table_name = %s")
_ADD = f"ALTER TABLE {JOURNAL_TABLE} ADD COLUMN {{column}} TEXT NOT NULL DEFAULT ''"

_SQLITE_DELETE = f"DELETE FROM {JOURNAL_TABLE} WHERE thread_id = ?"
SQLITE_PRUNE = f"""
DELETE FROM {JOURNAL_TABLE} WHERE thread_id = ? AND checkpoint_id != '' AND EXISTS (
    SELECT 1 FROM checkpoints c WHERE c.thread_id = {JOURNAL_TABLE}.thread_id
    AND c.checkpoint_ns = {JOURNAL_TABLE}.parent_ns
    AND c.parent_checkpoint_id = {JOURNAL_TABLE}.checkpoint_id)"""
_PG_DELETE = _SQLITE_DELETE.replace("?", "%s")
_SQLITE_DELETE_NS = f"DELETE FROM {JOURNAL_TABLE} WHERE thread_id = ? AND checkpoint_ns = ?"
_PG_DELETE_NS = _SQLITE_DELETE_NS.replace("?", "%s")
PG_PRUNE = SQLITE_PRUNE.replace("?", "%s")
_SQLITE_DELETE_MARKER = f"DELETE FROM {_STORE_TABLE} WHERE key = ? AND prefix = ?"
_PG_DELETE_MARKER = _SQLITE_DELETE_MARKER.replace("?", "%s")


def _missing(names: Any) -> list[str]:
    have = {str(r["name"] if isinstance(r, dict) else r[0]) for r in names}
    return [c for c in _ADDED if c not in have]


def sqlite_setup(cur: Any) -> None:
    """Create (or bring up to date) the table through a sync SQLite cursor."""
    cur.execute(SQLITE_CREATE)
    for column in _missing(cur.execute(_SQLITE_COLUMNS).fetchall()):
        cur.execute(_ADD.format(column=column))


async def asqlite_setup(conn: Any) -> None:
    """:func:`sqlite_setup` on an aiosqlite connection (the caller commits)."""
    await conn.execute(SQLITE_CREATE)
    async with conn.execute(_SQLITE_COLUMNS) as cursor:
        missing = _missing(await cursor.fetchall())
    for column in missing:
        await conn.execute(_ADD.format(column=column))


def pg_setup(cur: Any) -> None:
    """Create (or bring up to date) the table through a psycopg cursor (autocommit)."""
    import psycopg

    try:
        cur.execute(PG_CREATE)
    except psycopg.errors.UniqueViolation:  # another process created it at the same moment
        pass
    for column in _missing(cur.execute(_PG_COLUMNS, (JOURNAL_TABLE,)).fetchall()):
        try:
            cur.execute(_ADD.format(column=column))
        except psycopg.errors.DuplicateColumn:  # another process added it meanwhile
            pass


async def apg_setup(cur: Any) -> None:
    """:func:`pg_setup` through an async psycopg cursor."""
    import psycopg

    try:
        await cur.execute(PG_CREATE)
    except psycopg.errors.UniqueViolation:
        pass
    await cur.execute(_PG_COLUMNS, (JOURNAL_TABLE,))
    for column in _missing(await cur.fetchall()):
        try:
            await cur.execute(_ADD.format(column=column))
        except psycopg.errors.DuplicateColumn:
            pass


def saver_kind(saver: Any) -> str:
    """``sqlite``, ``asqlite``, ``postgres``, ``apostgres`` (LangGraph's savers and their
    subclasses) or ``memory`` (any other saver: the journal is kept in this process)."""
    bases = {f"{c.__module__}.{c.__name__}" for c in type(saver).__mro__}
    for name, kind in (("langgraph.checkpoint.sqlite.SqliteSaver", "sqlite"),
                       ("langgraph.checkpoint.sqlite.aio.AsyncSqliteSaver", "asqlite"),
                       ("langgraph.checkpoint.postgres.PostgresSaver", "postgres"),
                       ("langgraph.checkpoint.postgres.aio.AsyncPostgresSaver", "apostgres")):
        if name in bases:
            return kind
    return "memory"


def _has_table_sqlite(cur: Any, table: str = JOURNAL_TABLE) -> bool:
    return bool(cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (table,)).fetchall())


def _run(saver: Any, sqlite_sql: str, pg_sql: str, thread_id: str, *more: str,
         table: str = JOURNAL_TABLE) -> int:
    kind = saver_kind(saver)
    if kind == "sqlite":
        with saver.cursor() as cur:
            if not _has_table_sqlite(cur, table):
                return 0
            return int(cur.execute(sqlite_sql, (str(thread_id), *more)).rowcount)
    if kind == "postgres":
        with saver._cursor() as cur:
            if cur.execute("SELECT to_regclass(%s) AS t", (table,)).fetchone()["t"] is None:
                return 0
            return int(cur.execute(pg_sql, (str(thread_id), *more)).rowcount)
    return 0


async def _arun(saver: Any, sqlite_sql: str, pg_sql: str, thread_id: str, *more: str,
                table: str = JOURNAL_TABLE) -> int:
    import asyncio

    kind = saver_kind(saver)
    if kind == "asqlite":
        async with saver.lock:
            async with saver.conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (table,)) as cursor:
                if not await cursor.fetchall():
                    return 0
            cursor = await saver.conn.execute(sqlite_sql, (str(thread_id), *more))
            await saver.conn.commit()
            return int(cursor.rowcount)
    if kind == "apostgres":
        async with saver._cursor() as cur:
            await cur.execute("SELECT to_regclass(%s) AS t", (table,))
            if (await cur.fetchone())["t"] is None:
                return 0
            await cur.execute(pg_sql, (str(thread_id), *more))
            return int(cur.rowcount)
    return await asyncio.to_thread(_run, saver, sqlite_sql, pg_sql, thread_id, *more,
                                   table=table)


def delete_rows(saver: Any, thread_id: str) -> int:
    """Delete every journal row of ``thread_id`` in ``saver``'s database.

    Returns:
        How many rows were deleted (0 for savers that keep no journal table).
    """
    return _run(saver, _SQLITE_DELETE, _PG_DELETE, thread_id)


def delete_ns_rows(saver: Any, thread_id: str, checkpoint_ns: str) -> int:
    """Delete the journal rows of ``thread_id`` in namespace ``checkpoint_ns`` (the SDK
    runtime's runs keep theirs in one namespace and delete them when a run ends).

    Returns:
        How many rows were deleted (0 for savers that keep no journal table).
    """
    return _run(saver, _SQLITE_DELETE_NS, _PG_DELETE_NS, thread_id, checkpoint_ns)


async def adelete_rows(saver: Any, thread_id: str) -> int:
    """:func:`delete_rows` for async savers."""
    return await _arun(saver, _SQLITE_DELETE, _PG_DELETE, thread_id)


def delete_thread_rows(saver: Any, thread_id: str) -> int:
    """What deleting ``thread_id`` deletes beside LangGraph's rows, in ``saver``'s database:
    its journal rows and the SDK runtime's marker of its run (the ``store`` table's row
    under :data:`SDK_RUNS_PREFIX`, which the thread listings read).

    Returns:
        How many journal rows were deleted (0 for savers that keep no journal table).
    """
    deleted = delete_rows(saver, thread_id)
    _run(saver, _SQLITE_DELETE_MARKER, _PG_DELETE_MARKER, thread_id, SDK_RUNS_PREFIX,
         table=_STORE_TABLE)
    return deleted


async def adelete_thread_rows(saver: Any, thread_id: str) -> int:
    """:func:`delete_thread_rows` for async savers."""
    deleted = await adelete_rows(saver, thread_id)
    await _arun(saver, _SQLITE_DELETE_MARKER, _PG_DELETE_MARKER, thread_id, SDK_RUNS_PREFIX,
                table=_STORE_TABLE)
    return deleted


def prune_rows(saver: Any, thread_id: str) -> int:
    """Delete the rows of ``thread_id`` whose task's checkpoint has a child checkpoint.

    Those tasks are never executed again from their checkpoint (their step's results are
    saved), so replay never reads the rows.

    Returns:
        How many rows were deleted.
    """
    return _run(saver, SQLITE_PRUNE, PG_PRUNE, thread_id)


async def aprune_rows(saver: Any, thread_id: str) -> int:
    """:func:`prune_rows` for async savers."""
    return await _arun(saver, SQLITE_PRUNE, PG_PRUNE, thread_id)
