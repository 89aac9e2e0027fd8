"""PostgreSQL savers and stores for :mod:`agentpatterns.storage`.

Connections use ``autocommit`` and no prepared statements, and the schema migrations of
concurrent first runs are serialised across processes with an advisory lock. Imported on
the first ``postgresql://`` URL; ``psycopg`` only when one is opened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from agentpatterns.errors import StorageError
from agentpatterns.storage.journal import acreate_table, create_table
from agentpatterns.storage.serde import make_serde
from agentpatterns.storage.spec import _backend_class, _construct, _lock, _redact

if TYPE_CHECKING:
    from agentpatterns.storage.spec import _Spec

# Any constant works; it only has to be the same in every process that sets up the schema.
_PG_SETUP_LOCK_KEY = 0x61676E7470617474
_pg_ready: set[tuple[str, str]] = set()  # (kind, url) whose tables are set up


def _pg_connect_kwargs(url: str, timeout: float) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed URL
        raise StorageError(
            f"malformed PostgreSQL URL {_redact(url)!r} ({exc}); "
            "use 'postgresql://user:password@host:port/dbname'"
        ) from exc
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    if "connect_timeout" not in params:
        # libpq takes whole seconds; 0 would mean "wait forever"
        kwargs["connect_timeout"] = max(1, round(timeout))
    return kwargs


def _pg_error(url: str, exc: BaseException, *, connecting: bool) -> StorageError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if connecting:
        return StorageError(
            f"cannot connect to PostgreSQL at {_redact(url)} ({detail}); "
            "check that the server is running and the URL (host, port, user, database)"
        )
    return StorageError(
        f"cannot set up the tables in PostgreSQL at {_redact(url)} ({detail}); "
        "check that the user may create tables in that database"
    )


# How long a first run waits for another process to finish setting up the same database.
_PG_SETUP_WAIT = 60.0
_PG_TRY_SETUP = "SELECT pg_try_advisory_lock(%s) AS ok"


def _pg_setup_busy(url: str) -> StorageError:
    return StorageError(
        f"another process has been setting up the tables in PostgreSQL at {_redact(url)} for "
        f"over {_PG_SETUP_WAIT:g}s; check for a stuck migration (pg_stat_activity)"
    )


def _pg_setup_lock(conn: Any, url: str) -> None:
    # Poll, never block in pg_advisory_lock(): a session waiting there is an open
    # transaction, and the CREATE INDEX CONCURRENTLY in LangGraph's migrations waits for
    # every open transaction, so the lock holder and its waiters would deadlock.
    deadline = time.monotonic() + _PG_SETUP_WAIT
    while not conn.execute(_PG_TRY_SETUP, (_PG_SETUP_LOCK_KEY,)).fetchone()["ok"]:
        if time.monotonic() > deadline:
            raise _pg_setup_busy(url)
        time.sleep(0.05)


async def _apg_setup_lock(conn: Any, url: str) -> None:
    deadline = time.monotonic() + _PG_SETUP_WAIT
    while True:
        cursor = await conn.execute(_PG_TRY_SETUP, (_PG_SETUP_LOCK_KEY,))
        if (await cursor.fetchone())["ok"]:
            return
        if time.monotonic() > deadline:
            raise _pg_setup_busy(url)
        await asyncio.sleep(0.05)


_SAVER_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def _has_checkpoints(conn: Any, url: str) -> bool:
    """Whether the database has LangGraph's saver tables (a listing must not create them)."""
    import psycopg

    try:
        row = conn.execute("SELECT count(to_regclass(t)) AS n FROM unnest(%s::text[]) AS t",
                           (list(_SAVER_TABLES),)).fetchone()
    except psycopg.Error as exc:
        raise _pg_error(url, exc, connecting=True) from exc
    return bool(row["n"] == len(_SAVER_TABLES))


@contextmanager
def _postgres_sync(spec: _Spec, timeout: float, *, threaded: bool) -> Iterator[Any]:
    cls = _backend_class(spec, aio=False, threaded=threaded)
    import psycopg

    url: str = spec.target
    try:
        conn = psycopg.Connection.connect(url, **_pg_connect_kwargs(url, timeout))
    except psycopg.Error as exc:
        raise _pg_error(url, exc, connecting=True) from exc
    with conn:
        opened = _construct(cls, spec, conn)
        if spec.read_only:  # listings create no tables; a database without them reads as empty
            conn.execute("SET default_transaction_read_only = on")
            if not _has_checkpoints(conn, url):
                from langgraph.checkpoint.memory import InMemorySaver

                yield InMemorySaver(serde=make_serde())
                return
        elif (spec.kind, url) not in _pg_ready:
            try:
                # serialise the schema migrations of concurrent first runs across processes
                _pg_setup_lock(conn, url)
                try:
                    opened.setup()
                    if spec.kind == "checkpointer":  # the turn journal's table too
                        create_table(opened)
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_SETUP_LOCK_KEY,))
            except psycopg.Error as exc:
                raise _pg_error(url, exc, connecting=False) from exc
            with _lock:
                _pg_ready.add((spec.kind, url))
        yield opened


@asynccontextmanager
async def _postgres_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    cls = _backend_class(spec, aio=True)
    import psycopg

    url: str = spec.target
    try:
        conn = await psycopg.AsyncConnection.connect(url, **_pg_connect_kwargs(url, timeout))
    except psycopg.Error as exc:
        raise _pg_error(url, exc, connecting=True) from exc
    async with conn:
        opened = _construct(cls, spec, conn)
        if (spec.kind, url) not in _pg_ready:
            try:
                await _apg_setup_lock(conn, url)
                try:
                    await opened.setup()
                    if spec.kind == "checkpointer":
                        await acreate_table(opened)
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_SETUP_LOCK_KEY,))
            except psycopg.Error as exc:
                raise _pg_error(url, exc, connecting=False) from exc
            with _lock:
                _pg_ready.add((spec.kind, url))
        yield opened
