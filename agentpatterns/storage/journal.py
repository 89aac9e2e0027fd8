"""Where the turn journal (:mod:`agentpatterns.nodes.journal`) lives, next to the checkpoints.

* **SQLite** savers: the table ``agentpatterns_journal`` in the same file, written on the
  saver's own connection under its lock and committed before the turn goes on.
* **PostgreSQL** savers: the same table in the same database, on the saver's connection
  (autocommit: each entry is committed when the statement returns).
* **Anything else** (``memory``, savers of other kinds): a table in this process, per saver,
  so a turn interrupted and resumed in the process replays; it does not outlive the process
  (nor do the checkpoints of an in-memory saver).

Entries are written with the saver's serializer (``make_serde()`` for every saver opened
here: msgpack with an allow-list, never pickle), warmed up when a saver is opened to write,
so the first record of a process is not slower than the next. The table is created when a saver is
opened for writing (:func:`create_table`) and again when a run takes its thread's lock, so
the lease's fencing triggers cover it; never by a listing command.

Fencing: before every effect a store's ``check`` asks the fence of the run's lock
(:mod:`agentpatterns.storage.fencing`) whether the run still holds its thread, so a holder
woken after losing its lease stops with ``LeaseLostError`` before it starts another model or
tool call; its inserts are refused too (SQLite: the lease triggers; PostgreSQL: the insert
is made only while the run's session holds the advisory lock).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, Protocol

from agentpatterns.errors import LeaseLostError
from agentpatterns.storage.fencing import PG_WRITE_SUFFIX, fence_of
from agentpatterns.storage.journal_memory import MemoryRows as _MemoryRows
from agentpatterns.storage.journal_memory import memory_rows
from agentpatterns.storage.journal_sql import (
    COLUMNS,
    JOURNAL_TABLE,
    PG_PRUNE,
    SQLITE_PRUNE,
    apg_setup,
    asqlite_setup,
    pg_setup,
    saver_kind,
    sqlite_setup,
)
from agentpatterns.storage.thread_delete import forget_on_delete

# (storage and nodes are independent layers: the key and entries are matched by shape)


class TaskKey(Protocol):
    """What identifies a task (:class:`agentpatterns.nodes.journal.TaskKey`)."""

    @property
    def thread_id(self) -> str: ...
    @property
    def checkpoint_ns(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def parent_ns(self) -> str: ...
    @property
    def checkpoint_id(self) -> str: ...


#: ``(seq, kind, name, value)``, as :class:`agentpatterns.nodes.journal.JournalStore` takes it.
Entry = tuple[int, str, str, Any]

__all__ = ["JOURNAL_TABLE", "SQLITE_RESTORE", "acreate_table", "create_table", "journal_store",
           "pg_insert"]

_COLUMNS = COLUMNS
_SQLITE_SELECT = (f"SELECT seq, kind, name, type, value FROM {JOURNAL_TABLE} "
                  "WHERE thread_id = ? AND checkpoint_ns = ? AND task_id = ? ORDER BY seq")
_SQLITE_INSERT = (f"INSERT OR REPLACE INTO {JOURNAL_TABLE} ({_COLUMNS}) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?,?)")
#: what a restore inserts (a row already there stays; see storage.journal_restore)
SQLITE_RESTORE = _SQLITE_INSERT.replace("OR REPLACE", "OR IGNORE")
_SQLITE_SAVED = ("SELECT 1 FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                 "AND checkpoint_id = ?")
_PG_SELECT = _SQLITE_SELECT.replace("?", "%s")
_PG_SAVED = _SQLITE_SAVED.replace("?", "%s")
#: Longest wait for a step's checkpoint to be saved before its first effect (seconds).
SAVE_WAIT = 10.0
_POLLS = (0.0001, 0.0002, 0.0005, 0.001, 0.002)  # the put is usually done in well under 1 ms
_PG_UPSERT = (" ON CONFLICT (thread_id, checkpoint_ns, task_id, seq) "
              "DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, type = EXCLUDED.type, "
              "value = EXCLUDED.value, created = EXCLUDED.created")
_PG_INSERT = (f"INSERT INTO {JOURNAL_TABLE} ({_COLUMNS}) VALUES "
              "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)" + _PG_UPSERT)
#: A leased run's insert (through a pooled session): made only while the session ``pid``
#: holds the thread's lock, holding the thread's write key shared until it commits (a
#: taker waits for it: see :mod:`agentpatterns.storage.fencing`).
_PG_FENCED_INSERT = (
    f"INSERT INTO {JOURNAL_TABLE} ({_COLUMNS}) SELECT %s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s "
    "WHERE CASE WHEN pg_try_advisory_xact_lock_shared(hashtextextended(%s || "
    f"'{PG_WRITE_SUFFIX}', 0)) THEN EXISTS (SELECT 1 FROM pg_locks l "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = %s "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0) "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "ELSE false END" + _PG_UPSERT)
_PG_KEEP = " ON CONFLICT (thread_id, checkpoint_ns, task_id, seq) DO NOTHING"


def pg_insert(key: TaskKey, saver: Any, row: tuple[Any, ...], *, keep: bool = False
               ) -> tuple[str, tuple[Any, ...]]:
    """The insert of ``row`` (with ``keep``: a row already there stays) and its parameters,
    fenced by the run's advisory lock when a run holds the thread."""
    fence = fence_of(saver, key.thread_id)
    if fence is None or fence.pg_lock is None:
        sql, params = _PG_INSERT, row
    else:
        pid, lock_key = fence.pg_lock
        sql, params = _PG_FENCED_INSERT, (*row, lock_key, pid, lock_key)
    return (sql.replace(_PG_UPSERT, _PG_KEEP) if keep else sql), params


def _pg_refused(key: TaskKey) -> LeaseLostError:
    return LeaseLostError(
        f"thread {key.thread_id!r} lost its PostgreSQL advisory lock (the session holding it "
        "closed) while this run went on; this run stopped before recording its last call, so "
        "nothing is stored twice; resume the thread (see `agentpatterns threads`)")

# savers whose database has the table (weak: a journal must not keep a saver alive)
_ready: weakref.WeakSet[Any] = weakref.WeakSet()


def journal_store(saver: Any) -> Any:
    """The journal of the checkpoints ``saver`` keeps.

    Args:
        saver: The checkpointer a graph runs with (LangGraph's, any backend).

    Returns:
        A :class:`agentpatterns.nodes.journal.JournalStore` in the saver's database (SQLite,
        PostgreSQL), or in this process for other savers.
    """
    forget_on_delete(saver)  # its delete_thread drops the thread's journal too
    kind = saver_kind(saver)
    if kind == "sqlite":
        return _SqliteJournal(saver)
    if kind == "asqlite":
        return _AsyncSqliteJournal(saver)
    if kind == "postgres":
        return _PostgresJournal(saver)
    if kind == "apostgres":
        return _AsyncPostgresJournal(saver)
    return _MemoryJournal(memory_rows(saver), getattr(saver, "serde", None), saver)


def _row(key: TaskKey, entry: Entry, serde: Any, saver: Any = None) -> tuple[Any, ...]:
    """The journal row of ``entry``; for a run holding the thread's lock, first written to
    its effect log (:mod:`agentpatterns.storage.effect_log`), so a kill before the insert
    commits loses nothing."""
    seq, kind, name, value = entry
    type_, blob = serde.dumps_typed(value)
    row = (key.thread_id, key.checkpoint_ns, key.task_id, seq, kind, name, type_, blob,
           time.time(), key.parent_ns, key.checkpoint_id)
    fence = fence_of(saver, key.thread_id) if saver is not None else None
    if fence is not None and fence.log is not None:
        fence.log.append(row)
    return row


def _entries(rows: Any, serde: Any) -> list[Entry]:
    out = []
    for row in rows:
        seq, kind, name, type_, value = ((row["seq"], row["kind"], row["name"], row["type"],
                                          row["value"]) if isinstance(row, dict) else row)
        out.append((int(seq), str(kind), str(name), serde.loads_typed((type_, bytes(value)))))
    return out


def _params(key: TaskKey) -> tuple[str, str, str]:
    return (key.thread_id, key.checkpoint_ns, key.task_id)


def _saved_params(key: TaskKey) -> tuple[str, str, str]:
    return (key.thread_id, key.parent_ns, key.checkpoint_id)


def _unleased(saver: Any, key: TaskKey) -> bool:
    # a graph invoked directly: no run's lock prunes the thread's journal when the run ends,
    # so each turn prunes it when it first reads it (rows of tasks whose checkpoint has a
    # child: never read again); Runner and the command line prune once, at the end
    return fence_of(saver, key.thread_id) is None


def _deadline(key: TaskKey, wait: bool) -> float | None:
    return time.monotonic() + SAVE_WAIT if wait and key.checkpoint_id else None


def _poll(attempt: int) -> float:
    return _POLLS[min(attempt, len(_POLLS) - 1)]


def _waiting(deadline: float | None, saved: bool) -> bool:
    # after SAVE_WAIT the turn goes on regardless: a saver that never stores this
    # checkpoint must not hang the run (its records are then only good for this process)
    return deadline is not None and not saved and time.monotonic() < deadline


_warmed: list[bool] = []


def _warm(serde: Any) -> None:
    # a process's first encode of a message is several times slower than the next (lazy
    # set-up in msgpack and langchain): paid here, when a saver is opened to write, instead
    # of in the first model call's effect-to-record window
    if _warmed or serde is None:
        return
    _warmed.append(True)
    from langchain_core.messages import AIMessage

    try:
        serde.dumps_typed(AIMessage(content="", response_metadata={"agent": ""}, tool_calls=[
            {"name": "t", "args": {"a": 1}, "id": "c", "type": "tool_call"}]))
    except Exception:  # a serde that cannot encode a message fails on the real record
        pass


def create_table(saver: Any) -> None:
    """Create the journal table in a SQLite or PostgreSQL saver's database (if absent).

    Called when a saver is opened to write and when a run takes a thread's lock, so the
    lease's fencing covers the table from the run's first effect. Other savers: nothing.
    """
    kind = saver_kind(saver)
    _warm(getattr(saver, "serde", None))
    if saver in _ready or kind not in ("sqlite", "postgres"):
        return
    journal = (_SqliteJournal if kind == "sqlite" else _PostgresJournal)(saver)
    with journal._cursor() as cur:
        journal._setup(cur)


async def acreate_table(saver: Any) -> None:
    """:func:`create_table` for an async saver (a sync one is served in a thread)."""
    kind = saver_kind(saver)
    _warm(getattr(saver, "serde", None))
    if saver in _ready:
        return
    if kind == "asqlite":
        await saver.setup()
        async with saver.lock:
            await asqlite_setup(saver.conn)
            await saver.conn.commit()
        _ready.add(saver)
    elif kind == "apostgres":
        async with saver._cursor() as cur:
            await _AsyncPostgresJournal(saver)._setup(cur)
    elif kind in ("sqlite", "postgres"):
        await asyncio.to_thread(create_table, saver)


class _Fenced:
    """``check``/``acheck``: the fence of the run holding the thread (if any) says it still
    does (see :mod:`agentpatterns.storage.fencing`)."""

    saver: Any

    def check(self, key: TaskKey) -> None:
        fence = fence_of(self.saver, key.thread_id)
        if fence is not None:
            fence.check()

    async def acheck(self, key: TaskKey) -> None:
        fence = fence_of(self.saver, key.thread_id)
        if fence is not None:
            await (fence.acheck() if fence.acheck is not None
                   else asyncio.to_thread(fence.check))

    def logs_ahead(self, key: TaskKey) -> bool:
        """Whether the run holding ``key``'s thread keeps a write-ahead effect log."""
        fence = fence_of(self.saver, key.thread_id)
        return fence is not None and fence.log is not None

    def log_ahead(self, key: TaskKey, entry: Entry) -> None:
        """Write ``entry`` to the run's effect log only (its record follows)."""
        _row(key, entry, self.saver.serde, self.saver)


class _SyncJournal(_Fenced):
    """Shared by the blocking backends: the async methods run the blocking ones in a thread
    (a saver opened for a compiled graph serves ``ainvoke`` that way too)."""

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        raise NotImplementedError

    def record(self, key: TaskKey, entry: Entry) -> None:
        raise NotImplementedError

    async def aload(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        return await asyncio.to_thread(lambda: self.load(key, wait=wait))

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        await asyncio.to_thread(self.record, key, entry)


class _SqlJournal(_SyncJournal):
    """A blocking SQL backend: wait (if asked) for the task's checkpoint, then read its rows.
    Subclasses name their cursor, table setup and statements."""

    _saved_sql: str
    _select_sql: str
    _prune_sql: str

    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def _cursor(self) -> Any:
        raise NotImplementedError

    def _create(self, cur: Any) -> None:
        raise NotImplementedError

    def _setup(self, cur: Any) -> None:
        if self.saver not in _ready:
            self._create(cur)
            _ready.add(self.saver)

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        deadline = _deadline(key, wait)
        attempt = -1
        while True:
            attempt += 1
            with self._cursor() as cur:
                self._setup(cur)
                saved = deadline is None or bool(
                    cur.execute(self._saved_sql, _saved_params(key)).fetchall())
                if not _waiting(deadline, saved):
                    if _unleased(self.saver, key):
                        cur.execute(self._prune_sql, (key.thread_id,))
                    rows = cur.execute(self._select_sql, _params(key)).fetchall()
                    return _entries(rows, self.saver.serde)
            time.sleep(_poll(attempt))  # the saver's lock is free meanwhile: its put goes on


class _SqliteJournal(_SqlJournal):
    _saved_sql = _SQLITE_SAVED
    _select_sql = _SQLITE_SELECT
    _prune_sql = SQLITE_PRUNE

    def _cursor(self) -> Any:
        return self.saver.cursor()

    def _create(self, cur: Any) -> None:
        sqlite_setup(cur)

    def record(self, key: TaskKey, entry: Entry) -> None:
        row = _row(key, entry, self.saver.serde, self.saver)
        with self.saver.cursor() as cur:  # commits on exit, before the turn goes on
            self._setup(cur)
            cur.execute(_SQLITE_INSERT, row)


class _AsyncSqliteJournal(_Fenced):
    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        raise TypeError("an AsyncSqliteSaver serves ainvoke/astream only")

    def record(self, key: TaskKey, entry: Entry) -> None:
        raise TypeError("an AsyncSqliteSaver serves ainvoke/astream only")

    async def _setup(self) -> None:
        if self.saver not in _ready:
            await asqlite_setup(self.saver.conn)
            _ready.add(self.saver)

    async def aload(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        await self.saver.setup()
        deadline = _deadline(key, wait)
        attempt = -1
        while True:
            attempt += 1
            async with self.saver.lock:
                await self._setup()
                saved = deadline is None
                if not saved:
                    async with self.saver.conn.execute(_SQLITE_SAVED,
                                                       _saved_params(key)) as cursor:
                        saved = bool(await cursor.fetchall())
                if not _waiting(deadline, saved):
                    if _unleased(self.saver, key):
                        await self.saver.conn.execute(SQLITE_PRUNE, (key.thread_id,))
                    async with self.saver.conn.execute(_SQLITE_SELECT, _params(key)) as cursor:
                        rows = await cursor.fetchall()
                    await self.saver.conn.commit()
                    return _entries(rows, self.saver.serde)
                await self.saver.conn.commit()
            await asyncio.sleep(_poll(attempt))

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        row = _row(key, entry, self.saver.serde, self.saver)
        await self.saver.setup()
        async with self.saver.lock:
            await self._setup()
            await self.saver.conn.execute(_SQLITE_INSERT, row)
            await self.saver.conn.commit()


class _PostgresJournal(_SqlJournal):
    _saved_sql = _PG_SAVED
    _select_sql = _PG_SELECT
    _prune_sql = PG_PRUNE

    def _cursor(self) -> Any:
        return self.saver._cursor()

    def _create(self, cur: Any) -> None:
        pg_setup(cur)

    def record(self, key: TaskKey, entry: Entry) -> None:
        sql, params = pg_insert(key, self.saver, _row(key, entry, self.saver.serde, self.saver))
        with self.saver._cursor() as cur:  # an autocommit connection: committed on return
            self._setup(cur)
            cur.execute(sql, params)
            if not cur.rowcount:
                raise _pg_refused(key)


class _AsyncPostgresJournal(_Fenced):
    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        raise TypeError("an AsyncPostgresSaver serves ainvoke/astream only")

    def record(self, key: TaskKey, entry: Entry) -> None:
        raise TypeError("an AsyncPostgresSaver serves ainvoke/astream only")

    async def _setup(self, cur: Any) -> None:
        if self.saver not in _ready:
            await apg_setup(cur)
            _ready.add(self.saver)

    async def aload(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        deadline = _deadline(key, wait)
        attempt = -1
        while True:
            attempt += 1
            async with self.saver._cursor() as cur:
                await self._setup(cur)
                saved = deadline is None
                if not saved:
                    await cur.execute(_PG_SAVED, _saved_params(key))
                    saved = bool(await cur.fetchall())
                if not _waiting(deadline, saved):
                    if _unleased(self.saver, key):
                        await cur.execute(PG_PRUNE, (key.thread_id,))
                    await cur.execute(_PG_SELECT, _params(key))
                    return _entries(await cur.fetchall(), self.saver.serde)
            await asyncio.sleep(_poll(attempt))

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        sql, params = pg_insert(key, self.saver, _row(key, entry, self.saver.serde, self.saver))
        async with self.saver._cursor() as cur:
            await self._setup(cur)
            await cur.execute(sql, params)
            if not cur.rowcount:
                raise _pg_refused(key)


class _MemoryJournal(_SyncJournal):
    """In this process; values still go through the serializer, so a replayed reply is a
    copy, as from a database, never the object the first run went on to change."""

    def __init__(self, rows: _MemoryRows, serde: Any, saver: Any) -> None:
        self.saver = saver
        self.table = rows
        self.serde = serde

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        with self.table.lock:
            rows = sorted(self.table.rows.get(_params(key), {}).items())
        out = []
        for seq, (kind, name, value) in rows:
            if self.serde is not None:
                value = self.serde.loads_typed(value)
            out.append((seq, kind, name, value))
        return out

    def record(self, key: TaskKey, entry: Entry) -> None:
        seq, kind, name, value = entry
        if self.serde is not None:
            value = self.serde.dumps_typed(value)
        with self.table.lock:
            self.table.rows.setdefault(_params(key), {})[seq] = (kind, name, value)

    async def aload(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        return self.load(key)

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        self.record(key, entry)
