"""The database fails under a running run: one clear error, and the thread stays resumable.

* Another connection holds the SQLite write lock for 8 s while a step is saved: the save
  waits the busy timeout, then ``StorageError`` says so; a later resume finishes the run.
* The PostgreSQL connection is dropped mid-run: ``StorageError`` says the connection was
  lost; a later resume finishes the run.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from agentpatterns import Runner
from agentpatterns.errors import StorageError
from tests._durable_helpers import slow_sequential

LATENCY = {"Researcher": 0.1, "Writer": 1.0, "Editor": 0.1}


def _when_writer_starts(log: Path, action: object) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and "start\tWriter" in log.read_text():
                action()  # type: ignore[operator]
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_a_write_lock_held_for_8s_mid_run_is_reported_and_the_thread_resumes(
        tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}"
    log = tmp_path / "calls.log"
    pattern = slow_sequential(log, LATENCY)

    def hold_the_lock() -> None:
        holder = sqlite3.connect(path, isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        time.sleep(8)
        holder.execute("ROLLBACK")
        holder.close()

    watcher = _when_writer_starts(log, hold_the_lock)
    started = time.monotonic()
    with pytest.raises(StorageError, match="stayed locked by another connection") as info:
        Runner.run_sync(pattern, "tides", thread_id="t", checkpointer=url)
    assert time.monotonic() - started > 4  # it waited the busy timeout first
    assert "resume it" in str(info.value)
    watcher.join(timeout=30)
    result = Runner.resume_sync(slow_sequential(log, {}), thread_id="t", checkpointer=url)
    assert result.path == ["Researcher", "Writer", "Editor"]


@pytest.mark.slow
@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
def test_a_postgres_connection_dropped_mid_run_is_reported_and_the_thread_resumes(
        checkpointer_url: str, tmp_path: Path) -> None:
    import psycopg

    log = tmp_path / "calls.log"
    pattern = slow_sequential(log, LATENCY)
    dbname = checkpointer_url.rsplit("/", 1)[1].split("?", 1)[0]

    def drop_connections() -> None:
        with psycopg.connect(checkpointer_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "datname = %s AND pid <> pg_backend_pid()", (dbname,))

    watcher = _when_writer_starts(log, drop_connections)
    with pytest.raises(StorageError, match="lost the connection to PostgreSQL") as info:
        Runner.run_sync(pattern, "tides", thread_id="t", checkpointer=checkpointer_url)
    assert "resume it" in str(info.value)
    watcher.join(timeout=30)
    result = Runner.resume_sync(slow_sequential(log, {}), thread_id="t",
                                checkpointer=checkpointer_url)
    assert result.path == ["Researcher", "Writer", "Editor"]


@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
def test_listing_a_fresh_postgres_database_creates_no_tables(checkpointer_url: str,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    import psycopg

    from tests.test_cli_durable import cli, one_line_error

    code, out, err = cli(capsys, "threads", "--db", checkpointer_url)
    assert code == 0 and "no threads in" in out, err
    one_line_error(*cli(capsys, "history", "--thread", "t", "--db", checkpointer_url)[::2],
                   "'t' is not in")
    with psycopg.connect(checkpointer_url) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                              ).fetchall()
    assert tables == []
