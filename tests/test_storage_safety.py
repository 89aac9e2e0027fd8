"""SQLite files shared between processes and applications: nothing broken, nothing changed.

* A process holding a compiled graph on a SQLite URL keeps working while another process
  forks a thread in the same file (the "database disk image is malformed" defect: a
  Python ``open()``/``close()`` of the file dropped this process's SQLite locks).
* Listings open read-only: another application's database is not converted or extended, a
  database in a read-only folder can be listed.
* Writing opens refuse a damaged file or another application's file, byte-identical.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agentpatterns import Runner
from agentpatterns.errors import StorageError
from agentpatterns.examples import example
from agentpatterns.storage import open_checkpointer
from tests.test_cli_durable import cli, one_line_error

ROOT = Path(__file__).resolve().parents[1]


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentpatterns.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


# --------------------------------------------------------------------------- item 6


def test_a_compiled_graph_survives_a_fork_by_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    pattern = example("human_approval")
    graph = pattern.compile(checkpointer=url)  # keeps its own connection for the process
    config = {"configurable": {"thread_id": "t1"}}
    Runner.run_sync(pattern, "Migrate the db", thread_id="t1", checkpointer=url)
    Runner.resume_sync(pattern, thread_id="t1", decision=True, checkpointer=url)
    assert graph.get_state(config).next == ()
    first = list(graph.get_state_history(config))[-2].config["configurable"]["checkpoint_id"]
    done = run_cli("fork", "--thread", "t1", "--checkpoint", first, "--new-thread", "t1b",
                   "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # this process still reads and writes the file, through both kinds of connection
    assert len(list(graph.get_state_history(config))) >= 4
    assert graph.get_state({"configurable": {"thread_id": "t1b"}}).values
    result = Runner.run_sync(pattern, "Another migration", thread_id="t2", checkpointer=url)
    assert result.interrupted
    with sqlite3.connect(tmp_path / "shared.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --------------------------------------------------------------------------- item 5


def other_app_db(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.executemany("INSERT INTO invoices (total) VALUES (?)", [(i * 1.5,) for i in range(50)])
    conn.close()


def test_listing_another_applications_database_changes_nothing(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]
                                                                 ) -> None:
    path = tmp_path / "app.db"
    other_app_db(path)
    before = files(tmp_path)
    db = f"sqlite:///{path}"
    for args in (("threads",), ("history", "--thread", "t"), ("run", "triage", "book a table"),
                 ("resume", "--thread", "t"), ("fork", "--thread", "t", "--checkpoint", "c")):
        code, _, err = cli(capsys, *args, "--db", db)
        one_line_error(code, err, "another application's SQLite database", str(path))
    assert files(tmp_path) == before


def damaged_db(path: Path) -> None:
    """Page 1 intact, every other page zeroed (passes a header check, fails quick_check)."""
    url = f"sqlite:///{path}"
    for i in range(3):
        Runner.run_sync(example("sequential"), f"tides {i} " + "x" * 3000, thread_id=f"s{i}",
                        checkpointer=url)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[:page] + bytes(len(data) - page))


def test_a_damaged_file_is_refused_by_every_command_and_left_byte_identical(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.db"
    damaged_db(path)
    before = files(tmp_path)
    db = f"sqlite:///{path}"
    for args in (("threads",), ("history", "--thread", "s1"), ("run", "triage", "book a table"),
                 ("resume", "--thread", "s1"), ("fork", "--thread", "s1", "--checkpoint", "c")):
        code, _, err = cli(capsys, *args, "--db", db)
        assert code == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert str(path) in err
    assert files(tmp_path) == before


def test_a_foreign_checkpoints_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE checkpoints (id INTEGER PRIMARY KEY, label TEXT)")
    conn.close()
    before = files(tmp_path)
    for read_only in (False, True):
        with pytest.raises(StorageError, match="'checkpoints' table that is not LangGraph's"):
            with open_checkpointer(f"sqlite:///{path}", read_only=read_only):
                pass
    assert files(tmp_path) == before


def test_a_listing_opens_read_only_and_creates_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # an empty file is a valid, empty database
    with open_checkpointer(f"sqlite:///{path}", read_only=True) as saver:
        assert list(saver.list(None)) == []
    assert path.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_history_of_a_database_in_a_read_only_folder(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    db = f"sqlite:///{folder / 'runs.db'}"
    assert cli(capsys, "run", "sequential", "tides", "--thread", "s1", "--db", db)[0] == 0
    folder.chmod(0o555)
    try:
        code, out, err = cli(capsys, "history", "--thread", "s1", "--db", db)
        assert code == 0, err
        assert "Researcher" in out
        assert cli(capsys, "threads", "--db", db)[0] == 0
    finally:
        folder.chmod(0o755)


def test_history_of_a_read_only_file_as_root_too(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # the same promise where root ignores folder permissions: an immutable copy of the file
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert cli(capsys, "run", "sequential", "tides", "--thread", "s1", "--db", db)[0] == 0
    before = files(tmp_path)
    code, _out, err = cli(capsys, "history", "--thread", "s1", "--db", db)
    assert code == 0, err
    # the database file is not written (a WAL reader may leave SQLite's own -shm beside it)
    assert files(tmp_path)["runs.db"] == before["runs.db"]


# --------------------------------------------------------------------------- item 11


def test_new_database_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTPATTERNS_DB", raising=False)
    old = os.umask(0o022)
    try:
        assert cli(capsys, "run", "triage", "book a table", "--thread", "t")[0] == 0
    finally:
        os.umask(old)
    folder = tmp_path / ".agentpatterns"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
