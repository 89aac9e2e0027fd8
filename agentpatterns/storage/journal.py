"""Where the turn journal (:mod:`agentpatterns.nodes.journal`) lives, next to the checkpoints.

* **SQLite** savers: the table ``agentpatterns_journal`` in the same file, written on the
  saver's own connection under its lock and committed before the turn goes on.
* **PostgreSQL** savers: the same table in the same database, on the saver's connection
  (autocommit: each entry is committed when the statement returns).
* **Anything else** (``memory``, savers of other kinds): a table in this process, per saver,
  so a turn interrupted and resumed in the process replays; it does not outlive the process
  (nor do the checkpoints of an in-memory saver).

Entries are written with the saver's serializer (``make_serde()`` for every saver opened
here: msgpack with an allow-list, never pickle). The table is created on the first
journaled effect, i.e. by a process running a graph, never by a listing command.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any, Protocol

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

__all__ = ["JOURNAL_TABLE", "journal_store"]

#: The table holding journal entries (SQLite and PostgreSQL).
JOURNAL_TABLE = "agentpatterns_journal"

_COLUMNS = "thread_id, checkpoint_ns, task_id, seq, kind, name, type, value, created"
_SQLITE_CREATE = f"""
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
    PRIMARY KEY (thread_id, checkpoint_ns, task_id, seq)
)"""
_SQLITE_SELECT = (f"SELECT seq, kind, name, type, value FROM {JOURNAL_TABLE} "
                  "WHERE thread_id = ? AND checkpoint_ns = ? AND task_id = ? ORDER BY seq")
_SQLITE_INSERT = f"INSERT OR REPLACE INTO {JOURNAL_TABLE} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
_SQLITE_SAVED = ("SELECT 1 FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                 "AND checkpoint_id = ?")
_PG_CREATE = _SQLITE_CREATE.replace("BLOB", "BYTEA").replace("REAL", "DOUBLE PRECISION")
_PG_SELECT = _SQLITE_SELECT.replace("?", "%s")
_PG_SAVED = _SQLITE_SAVED.replace("?", "%s")
#: Longest wait for a step's checkpoint to be saved before its first effect (seconds).
SAVE_WAIT = 10.0
_POLLS = (0.0001, 0.0002, 0.0005, 0.001, 0.002)  # the put is usually done in well under 1 ms
_PG_INSERT = (f"INSERT INTO {JOURNAL_TABLE} ({_COLUMNS}) VALUES "
              "(%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (thread_id, checkpoint_ns, task_id, seq) "
              "DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, type = EXCLUDED.type, "
              "value = EXCLUDED.value, created = EXCLUDED.created")

# savers whose database has the table (weak: a journal must not keep a saver alive)
_ready: weakref.WeakSet[Any] = weakref.WeakSet()
_memory_rows: weakref.WeakKeyDictionary[Any, _MemoryRows] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def journal_store(saver: Any) -> Any:
    """The journal of the checkpoints ``saver`` keeps.

    Args:
        saver: The checkpointer a graph runs with (LangGraph's, any backend).

    Returns:
        A :class:`agentpatterns.nodes.journal.JournalStore` in the saver's database (SQLite,
        PostgreSQL), or in this process for other savers.
    """
    kind = _kind(saver)
    if kind == "sqlite":
        return _SqliteJournal(saver)
    if kind == "asqlite":
        return _AsyncSqliteJournal(saver)
    if kind == "postgres":
        return _PostgresJournal(saver)
    if kind == "apostgres":
        return _AsyncPostgresJournal(saver)
    with _lock:
        rows = _memory_rows.get(saver)
        if rows is None:
            rows = _memory_rows[saver] = _MemoryRows()
    return _MemoryJournal(rows, getattr(saver, "serde", None))


def _kind(saver: Any) -> str:
    bases = {f"{c.__module__}.{c.__name__}" for c in type(saver).__mro__}
    if "langgraph.checkpoint.sqlite.SqliteSaver" in bases:
        return "sqlite"
    if "langgraph.checkpoint.sqlite.aio.AsyncSqliteSaver" in bases:
        return "asqlite"
    if "langgraph.checkpoint.postgres.PostgresSaver" in bases:
        return "postgres"
    if "langgraph.checkpoint.postgres.aio.AsyncPostgresSaver" in bases:
        return "apostgres"
    return "memory"


def _row(key: TaskKey, entry: Entry, serde: Any) -> tuple[Any, ...]:
    seq, kind, name, value = entry
    type_, blob = serde.dumps_typed(value)
    return (key.thread_id, key.checkpoint_ns, key.task_id, seq, kind, name, type_, blob,
            time.time())


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


def _deadline(key: TaskKey, wait: bool) -> float | None:
    return time.monotonic() + SAVE_WAIT if wait and key.checkpoint_id else None


def _poll(attempt: int) -> float:
    return _POLLS[min(attempt, len(_POLLS) - 1)]


def _waiting(deadline: float | None, saved: bool) -> bool:
    # after SAVE_WAIT the turn goes on regardless: a saver that never stores this
    # checkpoint must not hang the run (its records are then only good for this process)
    return deadline is not None and not saved and time.monotonic() < deadline


class _SyncJournal:
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


class _SqliteJournal(_SyncJournal):
    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def _setup(self, cur: Any) -> None:
        if self.saver not in _ready:
            cur.execute(_SQLITE_CREATE)
            _ready.add(self.saver)

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        deadline = _deadline(key, wait)
        attempt = -1
        while True:
            attempt += 1
            with self.saver.cursor() as cur:
                self._setup(cur)
                saved = deadline is None or bool(
                    cur.execute(_SQLITE_SAVED, _saved_params(key)).fetchall())
                if not _waiting(deadline, saved):
                    rows = cur.execute(_SQLITE_SELECT, _params(key)).fetchall()
                    return _entries(rows, self.saver.serde)
            time.sleep(_poll(attempt))  # the saver's lock is free meanwhile: its put goes on

    def record(self, key: TaskKey, entry: Entry) -> None:
        row = _row(key, entry, self.saver.serde)
        with self.saver.cursor() as cur:  # commits on exit, before the turn goes on
            self._setup(cur)
            cur.execute(_SQLITE_INSERT, row)


class _AsyncSqliteJournal:
    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        raise TypeError("an AsyncSqliteSaver serves ainvoke/astream only")

    def record(self, key: TaskKey, entry: Entry) -> None:
        raise TypeError("an AsyncSqliteSaver serves ainvoke/astream only")

    async def _setup(self) -> None:
        if self.saver not in _ready:
            await self.saver.conn.execute(_SQLITE_CREATE)
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
                    async with self.saver.conn.execute(_SQLITE_SELECT, _params(key)) as cursor:
                        rows = await cursor.fetchall()
                    await self.saver.conn.commit()
                    return _entries(rows, self.saver.serde)
                await self.saver.conn.commit()
            await asyncio.sleep(_poll(attempt))

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        row = _row(key, entry, self.saver.serde)
        await self.saver.setup()
        async with self.saver.lock:
            await self._setup()
            await self.saver.conn.execute(_SQLITE_INSERT, row)
            await self.saver.conn.commit()


def _pg_create(cur: Any) -> None:
    import psycopg

    try:
        cur.execute(_PG_CREATE)
    except psycopg.errors.UniqueViolation:  # another process created it at the same moment
        pass


class _PostgresJournal(_SyncJournal):
    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def _setup(self, cur: Any) -> None:
        if self.saver not in _ready:
            _pg_create(cur)
            _ready.add(self.saver)

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        deadline = _deadline(key, wait)
        attempt = -1
        while True:
            attempt += 1
            with self.saver._cursor() as cur:
                self._setup(cur)
                saved = deadline is None or bool(
                    cur.execute(_PG_SAVED, _saved_params(key)).fetchall())
                if not _waiting(deadline, saved):
                    rows = cur.execute(_PG_SELECT, _params(key)).fetchall()
                    return _entries(rows, self.saver.serde)
            time.sleep(_poll(attempt))

    def record(self, key: TaskKey, entry: Entry) -> None:
        row = _row(key, entry, self.saver.serde)
        with self.saver._cursor() as cur:  # an autocommit connection: committed on return
            self._setup(cur)
            cur.execute(_PG_INSERT, row)


class _AsyncPostgresJournal:
    def __init__(self, saver: Any) -> None:
        self.saver = saver

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        raise TypeError("an AsyncPostgresSaver serves ainvoke/astream only")

    def record(self, key: TaskKey, entry: Entry) -> None:
        raise TypeError("an AsyncPostgresSaver serves ainvoke/astream only")

    async def _setup(self, cur: Any) -> None:
        if self.saver not in _ready:
            import psycopg

            try:
                await cur.execute(_PG_CREATE)
            except psycopg.errors.UniqueViolation:
                pass
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
                    await cur.execute(_PG_SELECT, _params(key))
                    return _entries(await cur.fetchall(), self.saver.serde)
            await asyncio.sleep(_poll(attempt))

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        row = _row(key, entry, self.saver.serde)
        async with self.saver._cursor() as cur:
            await self._setup(cur)
            await cur.execute(_PG_INSERT, row)


class _MemoryRows:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[tuple[str, str, str], dict[int, tuple[str, str, Any]]] = {}


class _MemoryJournal(_SyncJournal):
    """In this process; values still go through the serializer, so a replayed reply is a
    copy, as from a database, never the object the first run went on to change."""

    def __init__(self, rows: _MemoryRows, serde: Any) -> None:
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
