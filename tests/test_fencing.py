"""A run that lost its thread starts no further model or tool call (issue 12, fencing).

SQLite: a lease taken over while its holder was stalled (frozen past the TTL) fences the
holder's checkpoint writes; these tests check that the holder also stops *before its next
effect* and that its turn-journal records are refused (the journal's table exists when the
lease is taken, so the fencing triggers cover it). PostgreSQL: a run whose advisory lock is
gone (the session holding it was closed; a saver with a pool writes through other sessions)
stops the same way. The takeover is done from inside the run, at an exact point: a tool
(whose record is the next write) or a tool's ``is_enabled`` function (evaluated before the
next model call).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Agent, Runner, function_tool
from agentpatterns.errors import LeaseLostError
from agentpatterns.run.locks import LEASE_TABLE
from agentpatterns.storage.journal import JOURNAL_TABLE
from agentpatterns.testing import ScriptedModel, text, tool_call


def _take_over_sqlite(path: Path, thread_id: str) -> None:
    # what another process does once the holder's heartbeat is stale
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {LEASE_TABLE} SET owner = 'someone-else', pid = 1 "
                     "WHERE thread_id = ?", (thread_id,))
    conn.close()


def _journal_rows(path: Path, kind: str | None = None) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE ? IS NULL OR "
                                "kind = ?", (kind, kind)).fetchone()[0])


def _agent(take_over: Any, *, in_tool: bool) -> tuple[Agent, ScriptedModel, list[str]]:
    ran: list[str] = []
    checks: list[int] = []

    def enabled(_ctx: Any, _agent: Any) -> bool:
        checks.append(1)
        if not in_tool and len(checks) == 2:  # after the first reply's tool call ran
            take_over()
        return True

    @function_tool
    def book_table(guests: int) -> str:
        """Book a table.

        Args:
            guests: How many.
        """
        ran.append(f"book {guests}")
        if in_tool:
            take_over()
        return "booked"

    tool = replace(book_table, is_enabled=enabled)
    model = ScriptedModel([tool_call("book_table", guests=2), tool_call("book_table", guests=3),
                           text("done")])
    return Agent(name="Host", instructions="Book", tools=[tool], model=model), model, ran


@pytest.mark.parametrize("where", ["tool", "before-model-call"])
def test_sqlite_a_run_whose_lease_was_taken_starts_nothing_more(tmp_path: Path,
                                                                where: str) -> None:
    path = tmp_path / "runs.db"
    agent, model, ran = _agent(lambda: _take_over_sqlite(path, "t"), in_tool=where == "tool")
    with pytest.raises(LeaseLostError, match="taken over by another process"):
        Runner.run_sync(agent, "a table", thread_id="t", checkpointer=f"sqlite:///{path}")
    assert ran == ["book 2"]  # the second booking never started
    assert len(model.requests) == 1  # nor did the second model call
    if where == "tool":  # the booking's record was refused: nothing of it is stored
        assert _journal_rows(path, "tool") == 0
        assert _journal_rows(path, "model") == 1  # the first reply, recorded while leased


async def test_sqlite_async_a_run_whose_lease_was_taken_starts_nothing_more(
        tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    agent, model, ran = _agent(lambda: _take_over_sqlite(path, "t"), in_tool=False)
    with pytest.raises(LeaseLostError, match="taken over by another process"):
        await Runner.run(agent, "a table", thread_id="t", checkpointer=f"sqlite:///{path}")
    assert ran == ["book 2"] and len(model.requests) == 1


def test_the_journal_table_exists_before_the_first_lease(tmp_path: Path) -> None:
    # created when the saver is opened to write, so the lease's triggers cover it
    from agentpatterns.storage import open_checkpointer

    path = tmp_path / "runs.db"
    with open_checkpointer(f"sqlite:///{path}"):
        pass
    assert _journal_rows(path) == 0


def _pg_take_over(url: str, thread_id: str) -> Any:
    """Close the session holding the run's advisory lock and take the lock elsewhere."""
    import psycopg

    key = "agentpatterns-thread:" + thread_id
    admin = psycopg.connect(url, autocommit=True)
    pid = admin.execute(
        "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND "
        "((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0)",
        (key,)).fetchone()[0]
    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    for _ in range(200):  # the server drops the lock when the session is gone
        if admin.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                         (key,)).fetchone()[0]:
            return admin  # now holding it, like another process that resumed the thread
        time.sleep(0.01)
    raise AssertionError("the advisory lock was never released")


@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("where", ["tool", "before-model-call"])
def test_postgres_a_run_that_lost_its_advisory_lock_starts_nothing_more(
        checkpointer_url: str, where: str) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from agentpatterns.storage import make_serde

    holders: list[Any] = []
    agent, model, ran = _agent(lambda: holders.append(_pg_take_over(checkpointer_url, "p")),
                               in_tool=where == "tool")
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with ConnectionPool(checkpointer_url, kwargs=kwargs, min_size=2, max_size=4,
                        open=True) as pool:
        saver = PostgresSaver(pool, serde=make_serde())  # type: ignore[arg-type]
        saver.setup()
        try:
            with pytest.raises(LeaseLostError, match="advisory lock"):
                Runner.run_sync(agent, "a table", thread_id="p", checkpointer=saver)
        finally:
            for conn in holders:
                conn.close()
        assert ran == ["book 2"]
        assert len(model.requests) == 1
        with pool.connection() as conn:
            kinds = [r["kind"] for r in conn.execute(
                f"SELECT kind FROM {JOURNAL_TABLE} WHERE thread_id = 'p' ORDER BY seq")]
        kinds = [k for k in kinds if k != "call"]  # (the is_enabled answers)
        assert kinds == (["model"] if where == "tool" else ["model", "tool"])


@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
async def test_postgres_pool_a_run_that_lost_its_lock_writes_no_checkpoint(
        checkpointer_url: str, aio: bool) -> None:
    # a saver with a pool writes checkpoints through sessions other than the lock's: once
    # the lock is gone (taken by another process after its session closed), the run's
    # step writes - made after its last journal record - are refused, not stored
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    from agentpatterns import AgentHooks, sequential
    from agentpatterns.storage import make_serde

    holders: list[Any] = []
    counts: list[tuple[int, int]] = []

    def stored() -> tuple[int, int]:
        with psycopg.connect(checkpointer_url, autocommit=True) as conn:
            return (conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 'w'")
                    .fetchone()[0],
                    conn.execute("SELECT count(*) FROM checkpoint_writes WHERE thread_id = 'w'")
                    .fetchone()[0])

    class TakeOver(AgentHooks):
        async def on_end(self, context: Any, agent: Any, output: Any) -> None:
            # after the turn's last record, before its step's writes
            holders.append(_pg_take_over(checkpointer_url, "w"))
            counts.append(stored())

    first = Agent(name="Writer", instructions="Write", model=ScriptedModel([text("draft")]),
                  hooks=TakeOver())
    second = Agent(name="Editor", instructions="Edit", model=ScriptedModel([text("done")]))
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    try:
        with pytest.raises(LeaseLostError, match="advisory lock"):
            if aio:
                async with AsyncConnectionPool(checkpointer_url, kwargs=kwargs, min_size=2,
                                               max_size=4, open=False) as apool:
                    asaver = AsyncPostgresSaver(apool, serde=make_serde())  # type: ignore[arg-type]
                    await asaver.setup()
                    await Runner.run(sequential([first, second]), "go", thread_id="w",
                                     checkpointer=asaver)
            else:
                with ConnectionPool(checkpointer_url, kwargs=kwargs, min_size=2, max_size=4,
                                    open=True) as pool:
                    saver = PostgresSaver(pool, serde=make_serde())  # type: ignore[arg-type]
                    saver.setup()
                    Runner.run_sync(sequential([first, second]), "go", thread_id="w",
                                    checkpointer=saver)
    finally:
        for conn in holders:
            conn.close()
    assert counts and stored() == counts[0]  # nothing written once the lock was lost


@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
def test_postgres_pool_a_write_committing_as_the_lock_is_lost_is_read_by_the_taker(
        checkpointer_url: str) -> None:
    # the gap between a pooled write's lock check and its commit: the write has checked
    # the lock and is about to commit when the lock's session dies and another process
    # takes the thread; that process must not read the thread before the write commits
    # (it read the state without it, and both went on from there)
    import threading

    import psycopg
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from agentpatterns.run.locks import thread_lock
    from agentpatterns.storage import make_serde, open_checkpointer
    from agentpatterns.storage.fencing import fence_of

    paused, go, taken = threading.Event(), threading.Event(), threading.Event()

    class Pausing:  # pauses the write after its lock check, before its commit
        def __init__(self) -> None:
            self.inner = make_serde()

        def dumps_typed(self, obj: Any) -> Any:
            if obj == ["pause here"]:
                paused.set()
                go.wait(30)
            return self.inner.dumps_typed(obj)

        def loads_typed(self, data: Any) -> Any:
            return self.inner.loads_typed(data)

    config: Any = {"configurable": {"thread_id": "g", "checkpoint_ns": ""}}
    written: list[str] = []
    seen: list[Any] = []
    errors: list[BaseException] = []
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with ConnectionPool(checkpointer_url, kwargs=kwargs, min_size=2, max_size=4,
                        open=True) as pool:
        saver = PostgresSaver(pool, serde=Pausing())  # type: ignore[arg-type]
        saver.setup()
        lock_pid: list[int] = []

        def holder() -> None:
            try:
                with thread_lock(saver, "g"):
                    fence = fence_of(saver, "g")
                    assert fence is not None and fence.pg_lock is not None
                    lock_pid.append(fence.pg_lock[0])
                    checkpoint = empty_checkpoint()
                    checkpoint["channel_values"] = {"x": ["pause here"]}
                    saver.put(config, checkpoint, {}, {"x": saver.get_next_version(None, None)})
                    written.append(checkpoint["id"])
            except BaseException as exc:  # the holder's lock session is killed under it
                errors.append(exc)

        def taker() -> None:
            try:
                with open_checkpointer(checkpointer_url) as other, thread_lock(other, "g"):
                    taken.set()
                    seen.append(other.get_tuple(config))
            except BaseException as exc:
                errors.append(exc)

        first = threading.Thread(target=holder)
        first.start()
        assert paused.wait(30)  # checked its lock, not committed yet
        with psycopg.connect(checkpointer_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (lock_pid[0],))
        second = threading.Thread(target=taker)
        second.start()
        time.sleep(0.5)
        assert not taken.is_set()  # it waits for the write in flight
        go.set()
        first.join(30)
        second.join(30)
    assert written and taken.is_set(), errors
    assert seen[0] is not None and seen[0].checkpoint["id"] == written[0]
