"""The write-ahead effect log (issue 12, item 3): a kill after an effect completed but before
its journal record committed no longer repeats it.

A run holding its thread's lock appends each record to a local file of its own before the
database insert; the next holder of the lock copies what the journal lacks and removes the
file. Killed at exactly that point (``AP_KILL=logged:KIND:NAME``, ``tests._crash``), in a real
subprocess, on SQLite and PostgreSQL, on both runtimes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Runner
from agentpatterns.storage import open_checkpointer
from agentpatterns.storage.effect_log import EffectLog, left_behind, log_dir
from tests._crash import build, classify, finish, repeats

ROOT = Path(__file__).resolve().parents[1]
CROSS_PROCESS = pytest.mark.parametrize("checkpointer_url", ["sqlite", "postgres"],
                                        indirect=True)


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # this test's effect logs only (the child processes inherit it)
    monkeypatch.setenv("AGENTPATTERNS_STATE_DIR", str(tmp_path / "state"))


def _killed(module: str, args: list[str], log: Path, kill: str) -> set[str]:
    env = {**os.environ, "AP_KILL": kill, "AP_KILL_MARK": str(log) + ".mark",
           "AP_KILL_SETTLE": "0.3"}
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-3000:])
    return {line.split("\t")[3] for line in log.read_text().splitlines()}


def _files() -> list[Path]:
    root = Path(os.environ["AGENTPATTERNS_STATE_DIR"]) / "effects"
    return sorted(root.rglob("*.log")) if root.exists() else []


@CROSS_PROCESS
@pytest.mark.parametrize("kill", ["logged:model:Writer", "logged:tool:publish",
                                  "logged:model:Researcher", "record:model:Editor"])
def test_a_kill_after_the_effect_log_before_the_insert_repeats_nothing(checkpointer_url,
                                                                       tmp_path, kill):
    log = tmp_path / "calls.log"
    killed = _killed("tests._crash", ["sequential", checkpointer_url, "e1", str(log)], log, kill)
    # record:model:Editor - killed before the record's insert: the reply was written ahead
    # from the model's on_llm_end already
    assert any(line.startswith("logged\t") for line in log.read_text().splitlines())
    assert _files(), "the killed run's effect log stays for the next holder"
    out = finish("sequential", checkpointer_url, "e1", str(log))
    assert out["path"] == ["Researcher", "Writer", "Editor"]
    assert out["final_output"] == "published (Editor, reply 1)"
    found = classify(log, killed)
    assert repeats(log) == (0, 0), found.other
    assert not _files(), "the file is removed once its entries are in the journal"


def test_a_finished_or_waiting_run_leaves_no_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = str(tmp_path / "calls.log")
    for pattern in ("sequential", "approval"):
        result = Runner.run_sync(build(pattern, log), "go", thread_id=pattern, checkpointer=url)
        assert result.interrupted == (pattern == "approval")
        assert not _files()


def test_the_files_are_private(tmp_path):
    log = EffectLog(tmp_path / "db", "t")
    try:
        assert stat.S_IMODE(os.stat(tmp_path / "db").st_mode) == 0o700
        assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    finally:
        log.close()
    assert not log.path.exists()


def _row(task: str, seq: int, value: bytes) -> tuple[Any, ...]:
    return ("t", "", task, seq, "tool", "book", "bytes", value, 1.0, "", "c1")


def test_the_latest_holder_wins_and_damaged_records_are_skipped(tmp_path):
    first = EffectLog(tmp_path, "t")
    first.append(_row("a", 0, b"frozen holder, written late"))
    first.append(_row("a", 1, b"only the first holder got here"))
    second = EffectLog(tmp_path, "t")
    second.append(_row("a", 0, b"the holder that took over"))
    import struct
    import zlib

    import ormsgpack

    with open(first.path, "ab") as f:  # a record of the wrong shape, with a good checksum
        payload = ormsgpack.packb(["not", "a", "row"])
        f.write(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload)
    with open(second.path, "ab") as f:  # a damaged record, then one cut short by a kill
        f.write(struct.pack("<II", 3, 0xDEADBEEF) + b"abc" + struct.pack("<II", 99, 1) + b"x")
    EffectLog(tmp_path, "other thread").append(_row("a", 0, b"another thread"))
    rows, files = left_behind(tmp_path, "t")
    assert len(files) == 2
    assert sorted((r[2], r[3], r[7]) for r in rows) == [
        ("a", 0, b"the holder that took over"), ("a", 1, b"only the first holder got here")]
    assert all(r[0] == "t" for r in rows)


def test_a_row_the_serializer_cannot_read_is_not_copied(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    with open_checkpointer(url) as saver:
        from agentpatterns.run.locks import _backend_of, thread_lock

        directory = log_dir(_backend_of(saver).key)
        log = EffectLog(directory, "t")
        log.append(_row("a", 0, b"\x00garbage"))  # "bytes" typed, fine
        log.append(("t", "", "a", 1, "tool", "book", "msgpack", b"\xc1\xc1", 1.0, "", "c1"))
        log.close(keep=True)
        with thread_lock(saver, "t"):
            rows = saver.conn.execute(
                "SELECT seq, value FROM agentpatterns_journal WHERE thread_id = 't'").fetchall()
        assert rows == [(0, b"\x00garbage")]


def test_no_folder_no_log_the_run_still_works(tmp_path, monkeypatch):
    blocked = tmp_path / "ro"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setenv("AGENTPATTERNS_STATE_DIR", str(blocked))
    log = str(tmp_path / "calls.log")
    with pytest.warns(RuntimeWarning, match="no write-ahead effect log.*AGENTPATTERNS_STATE_DIR"):
        result = Runner.run_sync(build("sequential", log), "go", thread_id="n",
                                 checkpointer=f"sqlite:///{tmp_path / 'runs.db'}")
    assert result.path == ["Researcher", "Writer", "Editor"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not for every run
        Runner.run_sync(build("sequential", log), "go", thread_id="n2",
                        checkpointer=f"sqlite:///{tmp_path / 'runs.db'}")


def _left(saver_identity: Any, thread: str) -> None:
    log = EffectLog(log_dir(saver_identity), thread)
    log.append((thread, "", "task-a", 0, "tool", "book", "bytes", b"booked", 1.0, "", "c1"))
    log.close(keep=True)  # as a killed run leaves it


@pytest.mark.parametrize("checkpointer_url", ["sqlite", "postgres"], indirect=True)
async def test_an_async_saver_takes_over_what_a_killed_run_left(checkpointer_url, tmp_path):
    # the async lock copies the left-behind entry into the journal and removes the file; a
    # run of its own on the async saver leaves no file
    from agentpatterns import Agent, sequential
    from agentpatterns.run.locks import _abackend_of, athread_lock
    from agentpatterns.storage import make_serde
    from agentpatterns.testing import ScriptedModel, text

    if checkpointer_url.startswith("sqlite"):
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        opened: Any = AsyncSqliteSaver.from_conn_string(checkpointer_url[len("sqlite:///"):])
    else:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        opened = AsyncPostgresSaver.from_conn_string(checkpointer_url)
    async with opened as saver:
        saver.serde = make_serde()
        await saver.setup()
        _left((await _abackend_of(saver)).key, "a1")
        assert len(_files()) == 1
        async with athread_lock(saver, "a1"):
            assert len(_files()) == 1  # its own, open
        assert not _files()
        sql = "SELECT seq, value FROM agentpatterns_journal WHERE thread_id = 'a1'"
        if checkpointer_url.startswith("sqlite"):
            async with saver.conn.execute(sql) as cursor:
                rows = [tuple(r) for r in await cursor.fetchall()]
        else:
            async with saver._cursor() as cur:
                await cur.execute(sql)
                rows = [(r["seq"], bytes(r["value"])) for r in await cur.fetchall()]
        assert rows == [(0, b"booked")]
        writer = Agent(name="Writer", instructions="Write", model=ScriptedModel([text("x")]))
        await Runner.run(sequential([writer]), "go", thread_id="a2", checkpointer=saver)
        assert not _files()


@pytest.mark.parametrize("checkpointer_url", ["sqlite", "postgres"], indirect=True)
def test_a_take_over_that_fails_leaves_the_thread_free(checkpointer_url, monkeypatch):
    # copying a killed run's entries can fail (a busy or broken database): the run fails,
    # its lock is dropped and its fence removed - the same saver (SQLite) and another
    # session (a pooled PostgreSQL saver, whose lock session goes back to the pool) run the
    # thread at once
    import agentpatterns.run.locks as locks
    from agentpatterns import Agent, sequential
    from agentpatterns.testing import ScriptedModel, text

    def broken(*args: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    def run(saver: Any) -> Any:
        writer = Agent(name="Writer", instructions="Write", model=ScriptedModel([text("x")]))
        return Runner.run_sync(sequential([writer]), "go", thread_id="f1", checkpointer=saver)

    if checkpointer_url.startswith("sqlite"):
        opened: Any = open_checkpointer(checkpointer_url)
    else:
        from contextlib import contextmanager

        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        from agentpatterns.storage import make_serde

        @contextmanager
        def pooled() -> Any:
            with ConnectionPool(checkpointer_url, min_size=2, max_size=4, kwargs={
                    "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}) as pool:
                saver = PostgresSaver(pool, serde=make_serde())  # type: ignore[arg-type]
                saver.setup()
                yield saver

        opened = pooled()
    with opened as saver:
        monkeypatch.setattr(locks, "take_over", broken)
        with pytest.raises(Exception, match="disk I/O error"), locks.thread_lock(saver, "f1"):
            pass  # pragma: no cover - never entered
        monkeypatch.undo()
        assert run(saver).final_output == "x"
    with open_checkpointer(checkpointer_url) as other, locks.thread_lock(other, "f1",
                                                                         timeout=1.0):
        pass
