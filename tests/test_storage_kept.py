"""Backends kept open per process for SDK runs (``agentpatterns.storage.kept``, issue 12).

A durable ``run_sdk`` used to open its journal saver per run and its store for each marker
write (``PRAGMA quick_check`` over the whole file each time); now they stay open for the
process. What must still work: a fork (the child opens its own), other threads at once, a
removed or replaced file, a connection closed under it, a PostgreSQL session the server
ended, a transaction a failed statement left open, many files.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("agents")

from agentpatterns import OfflineModel, Runner
from agentpatterns.errors import StorageError
from agentpatterns.examples import EXAMPLES
from agentpatterns.storage import kept as kept_module
from agentpatterns.storage.kept import MAX_KEPT, kept


def _run(url: str, thread: str, pattern: str = "triage") -> str:
    from agentpatterns.adapters.openai_agents import run_sdk_sync

    builder, request = EXAMPLES[pattern]
    result = run_sdk_sync(builder(), request, model=OfflineModel(), thread_id=thread,
                          checkpointer=url)
    return str(result.final_output)


def _statuses(url: str) -> dict[str, str]:
    return {t.thread_id: t.status for t in Runner.threads(url)}


def _journal_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM agentpatterns_journal").fetchone()[0])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    path = tmp_path / "runs.db"
    yield f"sqlite:///{path}", path


def test_durable_sdk_runs_open_the_database_once_per_process(
        db: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, path = db
    opened: list[str] = []
    real = kept_module._open_sync

    def counting(spec, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(spec.kind)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(kept_module, "_open_sync", counting)
    for n in range(5):
        _run(url, f"t{n}", "parallel")
    # one saver (journal, lock) and one store (the markers) for all five runs
    assert sorted(opened) == ["checkpointer", "store"]
    assert set(_statuses(url).values()) == {"done"} and len(_statuses(url)) == 5
    assert _journal_rows(path) == 0


def test_a_removed_database_file_is_created_again_by_the_next_run(
        db: tuple[str, Path]) -> None:
    url, path = db
    _run(url, "first")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _run(url, "second")  # not written into the removed file
    assert _statuses(url) == {"second": "done"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_file_replaced_by_another_applications_database_is_refused_untouched(
        db: tuple[str, Path], tmp_path: Path) -> None:
    url, path = db
    _run(url, "first")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.close()
    before = other.read_bytes()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(other, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", path)
    with pytest.raises(StorageError, match="another application"):
        _run(url, "second")
    assert path.read_bytes() == before


def test_a_forked_child_runs_on_its_own_connection_and_the_parent_goes_on(
        db: tuple[str, Path]) -> None:
    url, path = db
    _run(url, "parent-1")  # the parent now keeps the file open
    with kept(url, "checkpointer") as parents:
        pass
    pid = os.fork()
    if pid == 0:  # the child: a durable run of its own, then out without cleanup
        code = 1
        try:
            with kept(url, "checkpointer") as childs:  # never the parent's connection
                assert childs is not parents and childs.conn is not parents.conn
            _run(url, "child")
            import gc

            gc.collect()  # nothing the parent opened is closed or used here
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    _run(url, "parent-2")
    assert _statuses(url) == {"parent-1": "done", "child": "done", "parent-2": "done"}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert _journal_rows(path) == 0


def test_runs_in_several_threads_at_once_share_the_kept_database(
        db: tuple[str, Path]) -> None:
    url, path = db
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for k in range(3):
                _run(url, f"w{n}-{k}", "parallel" if n % 2 else "triage")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    statuses = _statuses(url)
    assert len(statuses) == 12 and set(statuses.values()) == {"done"}
    assert _journal_rows(path) == 0


def test_a_kept_connection_closed_under_it_is_opened_again(db: tuple[str, Path]) -> None:
    url, _ = db
    _run(url, "first")
    with kept(url, "checkpointer") as saver:
        saver.conn.close()
    with kept(url, "store") as store:
        store.conn.close()
    _run(url, "second")
    assert _statuses(url) == {"first": "done", "second": "done"}


def test_a_transaction_left_open_does_not_keep_the_file_locked(db: tuple[str, Path]) -> None:
    url, path = db
    _run(url, "first")
    with kept(url, "checkpointer") as saver:  # a statement that began a transaction
        saver.conn.execute("DELETE FROM agentpatterns_journal WHERE thread_id = 'x'")
        assert saver.conn.in_transaction
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # raised "database is locked" while it stayed open
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_at_most_max_kept_backends_stay_open(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'db{n}.db'}" for n in range(MAX_KEPT + 4)]
    for url in urls:
        with kept(url, "checkpointer"):
            pass
    assert len(kept_module._open) <= MAX_KEPT
    with kept(urls[0], "checkpointer") as saver:  # the oldest, closed, opens again
        saver.conn.execute("SELECT 1")


def test_a_postgres_session_the_server_ended_is_opened_again(postgres_url: str) -> None:
    import psycopg

    from tests._postgres import fresh_database

    with fresh_database(postgres_url, f"kept_{uuid.uuid4().hex[:10]}") as url:
        _run(url, "first")
        with psycopg.connect(url, autocommit=True) as admin:  # e.g. a server restart
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "datname = current_database() AND pid <> pg_backend_pid()")
        _run(url, "second")
        assert _statuses(url) == {"first": "done", "second": "done"}
