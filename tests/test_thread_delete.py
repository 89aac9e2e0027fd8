"""Deleting a thread deletes its turn journal and SDK run marker on every saver (issue 12).

``delete_thread``/``adelete_thread`` (PostgreSQL: also ``prune(strategy="delete")``) of the
savers ``storage`` opens deleted the journal rows; a saver the user made - an
``InMemorySaver``, LangGraph's ``SqliteSaver``/``PostgresSaver`` on a connection or a pool,
their async twins - left them behind (in the database, or in this process for the memory
saver), and a deleted SDK thread was still listed (its run marker in the store table).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Runner
from agentpatterns.storage import open_checkpointer
from agentpatterns.storage.journal_memory import memory_rows
from agentpatterns.storage.journal_sql import JOURNAL_TABLE
from tests._durable_helpers import clerk_with_refund

KINDS = ["memory", "sqlite", "postgres", "postgres-pool"]


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    from tests._postgres import fresh_database

    with fresh_database(postgres_url, f"tdel_{uuid.uuid4().hex[:10]}") as url:
        yield url


class _Made:
    """A saver built the way a user builds it, and how to count a thread's journal rows."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind, self.closers = kind, []
        if kind == "memory":
            from langgraph.checkpoint.memory import InMemorySaver

            self.saver: Any = InMemorySaver()
        elif kind == "sqlite":
            from langgraph.checkpoint.sqlite import SqliteSaver

            self.conn = sqlite3.connect(tmp_path / "own.db", check_same_thread=False)
            self.closers.append(self.conn.close)
            self.saver = SqliteSaver(self.conn)
        else:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg import Connection
            from psycopg.rows import dict_row

            self.url = request.getfixturevalue("pg_url")
            kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
            if kind == "postgres":
                conn: Any = Connection.connect(self.url, **kwargs)
                self.closers.append(conn.close)
            else:
                from psycopg_pool import ConnectionPool

                conn = ConnectionPool(self.url, kwargs=kwargs, min_size=1, max_size=4,
                                      open=True)
                self.closers.append(conn.close)
            self.saver = PostgresSaver(conn)
            self.saver.setup()

    def rows(self, thread_id: str) -> int:
        if self.kind == "memory":
            table = memory_rows(self.saver)
            return sum(len(v) for k, v in table.rows.items() if k[0] == thread_id)
        if self.kind == "sqlite":
            return int(self.conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE "
                                         "thread_id = ?", (thread_id,)).fetchone()[0])
        import psycopg

        with psycopg.connect(self.url) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE "
                                    "thread_id = %s", (thread_id,)).fetchone()[0])

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


@pytest.fixture(params=KINDS)
def made(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Made]:
    made = _Made(request.param, request, tmp_path)
    try:
        yield made
    finally:
        made.close()


def _waiting(saver: Any, *threads: str) -> None:
    """Runs that wait for a tool approval: each keeps its turn's 4 journal rows."""
    for thread in threads:
        clerk, _ = clerk_with_refund([], approval=True)
        assert Runner.run_sync(clerk, "refund me", thread_id=thread,
                               checkpointer=saver).interrupted


def test_delete_thread_of_a_saver_the_user_made_deletes_its_journal(made: _Made) -> None:
    _waiting(made.saver, "d1", "d2")
    assert made.rows("d1") == made.rows("d2") == 4
    made.saver.delete_thread("d1")
    assert made.rows("d1") == 0
    assert made.rows("d2") == 4  # another thread keeps its rows
    assert made.saver.get_tuple({"configurable": {"thread_id": "d1"}}) is None


async def test_adelete_thread_of_an_async_saver_the_user_made_deletes_its_journal(
        tmp_path: Path, pg_url: str) -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    def sql_rows(thread: str, url: str) -> int:
        if url.startswith("sqlite"):
            with sqlite3.connect(url[len("sqlite:///"):]) as conn:
                return int(conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE "
                                        "thread_id = ?", (thread,)).fetchone()[0])
        import psycopg

        with psycopg.connect(url) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE "
                                    "thread_id = %s", (thread,)).fetchone()[0])

    memory = InMemorySaver()
    clerk, _ = clerk_with_refund([], approval=True)
    assert (await Runner.run(clerk, "refund me", thread_id="m", checkpointer=memory)
            ).interrupted
    assert sum(len(v) for k, v in memory_rows(memory).rows.items() if k[0] == "m") == 4
    await memory.adelete_thread("m")
    assert not [k for k in memory_rows(memory).rows if k[0] == "m"]

    sqlite_url = f"sqlite:///{tmp_path / 'async.db'}"
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "async.db")) as saver:
        for thread in ("a1", "a2"):
            clerk, _ = clerk_with_refund([], approval=True)
            assert (await Runner.run(clerk, "refund me", thread_id=thread,
                                     checkpointer=saver)).interrupted
        assert sql_rows("a1", sqlite_url) == 4
        await saver.adelete_thread("a1")
        assert sql_rows("a1", sqlite_url) == 0 and sql_rows("a2", sqlite_url) == 4

    async with AsyncPostgresSaver.from_conn_string(pg_url) as saver:
        await saver.setup()
        for thread in ("p1", "p2"):
            clerk, _ = clerk_with_refund([], approval=True)
            assert (await Runner.run(clerk, "refund me", thread_id=thread,
                                     checkpointer=saver)).interrupted
        assert sql_rows("p1", pg_url) == 4
        await saver.adelete_thread("p1")
        await saver.aprune(["p2"], strategy="delete")
        assert sql_rows("p1", pg_url) == sql_rows("p2", pg_url) == 0


@pytest.mark.parametrize("own", [False, True], ids=["opened-by-url", "user-made"])
def test_prune_with_strategy_delete_deletes_the_journal_on_postgres(pg_url: str,
                                                                    own: bool) -> None:
    import psycopg

    def rows(thread: str) -> int:
        with psycopg.connect(pg_url) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE "
                                    "thread_id = %s", (thread,)).fetchone()[0])

    if own:
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(pg_url) as saver:
            saver.setup()
            _waiting(saver, "k1", "k2", "k3")
            saver.prune(["k1", "k2"], strategy="delete")
    else:
        _waiting(pg_url, "k1", "k2", "k3")
        with open_checkpointer(pg_url) as saver:
            saver.prune(["k1", "k2"], strategy="delete")  # type: ignore[attr-defined]
    assert rows("k1") == rows("k2") == 0
    assert rows("k3") == 4  # a thread not pruned keeps its rows


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_deleted_sdk_thread_is_no_longer_listed(backend: str, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    pytest.importorskip("agents")
    from agentpatterns import OfflineModel
    from agentpatterns.adapters.openai_agents import run_sdk_sync
    from agentpatterns.examples import EXAMPLES

    url = (f"sqlite:///{tmp_path / 'runs.db'}" if backend == "sqlite"
           else request.getfixturevalue("pg_url"))
    builder, question = EXAMPLES["parallel"]  # an SDK-only thread: no checkpoint of its own
    for thread in ("s1", "s2"):
        run_sdk_sync(builder(), question, model=OfflineModel(), thread_id=thread,
                     checkpointer=url)
    assert {t.thread_id: t.status for t in Runner.threads(url)} == {"s1": "done", "s2": "done"}
    with open_checkpointer(url) as saver:
        saver.delete_thread("s1")
    assert {t.thread_id: t.status for t in Runner.threads(url)} == {"s2": "done"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "user-sqlite"])
async def test_deleting_a_thread_removes_the_effect_logs_its_killed_runs_left(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a killed run's write-ahead effect log stays for the thread's next holder, which copies
    # its entries into the journal: once the thread is deleted, a new thread of the same id
    # must not take them over
    from agentpatterns.storage import aopen_checkpointer
    from agentpatterns.storage.effect_log import EffectLog, left_behind, log_dir
    from agentpatterns.storage.identity import database_key

    monkeypatch.setenv("AGENTPATTERNS_STATE_DIR", str(tmp_path / "state"))
    row = ("", "task", 0, "tool", "book", "bytes", b"booked", 1.0, "", "c1")

    def killed_run_left(saver: Any, thread: str) -> Path:
        directory = log_dir(database_key(saver))
        log = EffectLog(directory, thread)
        log.append((thread, *row))
        log.close(keep=True)  # as a SIGKILL leaves it
        return directory

    if backend == "user-sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(tmp_path / "own.db", check_same_thread=False)
        saver: Any = SqliteSaver(conn)
        _waiting(saver, "other")  # the journal was used with it
        directory = killed_run_left(saver, "e1")
        killed_run_left(saver, "e2")
        saver.delete_thread("e1")
        conn.close()
    else:
        url = (f"sqlite:///{tmp_path / 'runs.db'}" if backend == "sqlite"
               else request.getfixturevalue("pg_url"))
        with open_checkpointer(url) as saver:
            directory = killed_run_left(saver, "e1")
            killed_run_left(saver, "e2")
            saver.delete_thread("e1")
        async with aopen_checkpointer(url) as asaver:  # the async savers' too
            log = EffectLog(directory, "e3")
            log.append(("e3", *row))
            log.close(keep=True)
            await asaver.adelete_thread("e3")
        assert not left_behind(directory, "e3")[1]
    assert not left_behind(directory, "e1")[1]
    assert len(left_behind(directory, "e2")[1]) == 1  # another thread's stays
