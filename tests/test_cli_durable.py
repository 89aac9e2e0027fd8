"""The command line on durable runs: threads, history, fork, resume, and safe failure.

Every command takes ``--db`` (memory, SQLite, PostgreSQL); user mistakes and broken
databases end in one line on stderr and exit code 2, never a traceback; checkpoints hold
no secrets from the environment and load without pickle.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentpatterns.cli import main
from agentpatterns.examples import example
from agentpatterns.storage import open_checkpointer

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("agentpatterns: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


def subprocess_cli(*args: str, env: dict[str, str] | None = None,
                   cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentpatterns.cli", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


# --------------------------------------------------------------------------- the flow


def test_threads_history_fork_and_resume(checkpointer_url, tmp_cwd, capsys):
    db = checkpointer_url
    assert cli(capsys, "run", "human_approval", "Migrate the db", "--thread", "h1",
               "--db", db)[0] == 0
    assert cli(capsys, "run", "sequential", "tides", "--thread", "s1", "--db", db)[0] == 0

    listed = {t["thread_id"]: t for t in cli_json(capsys, "threads", "--db", db)}
    assert listed["h1"]["status"] == "waiting for approval"
    assert listed["h1"]["pattern"] == "human_approval" and listed["h1"]["agents"] == ["Planner"]
    assert listed["s1"]["status"] == "done"
    assert listed["s1"]["agents"] == ["Researcher", "Writer", "Editor"]
    code, out, _ = cli(capsys, "threads", "--db", db)
    assert code == 0
    assert "waiting for approval" in out and "Researcher → Writer → Editor" in out

    steps = cli_json(capsys, "history", "--thread", "s1", "--db", db)
    assert [s["step"] for s in steps] == [-1, 0, 1, 2, 3]
    assert [s["nodes"] for s in steps[2:]] == [["Researcher"], ["Writer"], ["Editor"]]
    assert steps[0]["note"] == "request: tides"
    assert steps[2]["handoffs"] == [["Researcher", "Writer"]]
    code, out, _ = cli(capsys, "history", "--thread", "s1", "--db", db)
    assert code == 0 and "Researcher → Writer" in out and steps[3]["checkpoint_id"] in out

    waiting = cli_json(capsys, "history", "--thread", "h1", "--db", db)[-1]
    assert waiting["note"] == "waiting for approval"
    # fork the waiting run (by a prefix of its checkpoint id) and decide differently there
    code, out, err = cli(capsys, "fork", "--thread", "h1", "--checkpoint",
                         waiting["checkpoint_id"][:24], "--new-thread", "h1-alt", "--db", db)
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "h1-alt"
    assert cli(capsys, "resume", "--thread", "h1", "--approve", "--db", db)[0] == 0
    code, out, err = cli(capsys, "resume", "--thread", "h1-alt", "--reject", "--db", db)
    assert code == 0, err
    listed = {t["thread_id"]: t for t in cli_json(capsys, "threads", "--db", db)}
    assert listed["h1"]["status"] == listed["h1-alt"]["status"] == "done"
    assert listed["h1"]["agents"] == ["Planner", "Executor"]
    assert "Executor" not in listed["h1-alt"]["agents"]
    forked = cli_json(capsys, "history", "--thread", "h1-alt", "--db", db)
    assert [s["checkpoint_id"] for s in forked[:3]] == [
        s["checkpoint_id"] for s in cli_json(capsys, "history", "--thread", "h1", "--db", db)[:3]]
    assert forked[2]["note"] == f"forked from h1 at {waiting['checkpoint_id']}; asked for approval"

    # the default fork id is printed for scripts: the last line
    code, out, _ = cli(capsys, "fork", "--thread", "s1", "--checkpoint",
                       steps[2]["checkpoint_id"], "--db", db)
    new = out.strip().splitlines()[-1]
    assert code == 0 and new.startswith("s1-fork-")
    assert cli(capsys, "resume", "--thread", new, "--db", db)[0] == 0
    done = {t["thread_id"]: t for t in cli_json(capsys, "threads", "--db", db)}[new]
    assert done["status"] == "done" and done["agents"] == ["Researcher", "Writer", "Editor"]


def test_resume_without_a_decision_continues_a_cut_off_run(checkpointer_url, tmp_cwd, capsys):
    from agentpatterns.run.plan import start_input as _start_input

    db = checkpointer_url
    with open_checkpointer(db) as saver:
        graph = example("sequential").graph().compile(checkpointer=saver,
                                                      interrupt_after=["Writer"])
        config = {"configurable": {"thread_id": "cut", "agentpatterns_pattern": "sequential"}}
        graph.invoke(_start_input("tides"), config)
    [info] = cli_json(capsys, "threads", "--db", db)
    assert (info["thread_id"], info["status"]) == ("cut", "cut off")
    assert cli_json(capsys, "history", "--thread", "cut", "--db", db)[-1]["note"] == (
        "next: Editor")
    code, out, err = cli(capsys, "resume", "--thread", "cut", "--db", db)
    assert code == 0, err
    assert "1. Editor" in out and "[Editor] edited text" in out
    [info] = cli_json(capsys, "threads", "--db", db)
    assert info["status"] == "done"
    one_line_error(*cli(capsys, "resume", "--thread", "cut", "--db", db)[::2],
                   "'cut' already finished")


def test_threads_without_a_recorded_pattern_still_get_a_status(checkpointer_url, capsys):
    from agentpatterns import Runner

    db = checkpointer_url
    Runner.run_sync(example("human_approval"), "migrate", thread_id="lib-h", checkpointer=db)
    Runner.run_sync(example("parallel"), "tides", thread_id="lib-p", checkpointer=db)
    listed = {t["thread_id"]: t for t in cli_json(capsys, "threads", "--db", db)}
    assert listed["lib-h"]["pattern"] is None
    assert listed["lib-h"]["status"] == "waiting for approval"
    assert listed["lib-p"]["status"] == "done"
    # history needs no pattern: it shows the stored checkpoints, importing nothing
    steps = cli_json(capsys, "history", "--thread", "lib-p", "--db", db)
    assert steps[2]["nodes"] == ["Researcher 1", "Researcher 2", "Researcher 3"]
    waiting = cli_json(capsys, "history", "--thread", "lib-h", "--db", db)
    assert waiting[-1]["note"] == "waiting for approval"
    one_line_error(*cli(capsys, "resume", "--thread", "lib-h", "--approve", "--db", db)[::2],
                   "does not record its pattern", "--pattern")


@pytest.mark.parametrize("checkpointer_url", ["sqlite"], indirect=True)
def test_a_thread_another_process_runs_is_refused_and_listed_as_running(checkpointer_url,
                                                                        capsys):
    from agentpatterns.run.locks import LEASE_TABLE, _proc_start

    db = checkpointer_url
    assert cli(capsys, "run", "human_approval", "migrate", "--thread", "busy", "--db", db)[0] == 0
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = os.uname().nodename
        with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
            now = time.time()
            conn.execute(f"INSERT INTO {LEASE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                         ("busy", "x", host, sleeper.pid, _proc_start(sleeper.pid), now, now))
        code, _, err = cli(capsys, "resume", "--thread", "busy", "--approve", "--db", db)
        one_line_error(code, err, "'busy' is being run by another process",
                       f"pid {sleeper.pid} on {host}")
        [info] = cli_json(capsys, "threads", "--db", db)
        assert info["status"] == "running" and info["holder"] == f"pid {sleeper.pid} on {host}"
    finally:
        sleeper.kill()
        sleeper.wait()
    # its process is gone: the lease is stale and the thread can be resumed
    assert cli(capsys, "resume", "--thread", "busy", "--approve", "--db", db)[0] == 0


# --------------------------------------------------------------------------- safe failure


@pytest.mark.parametrize("checkpointer_url", ["memory", "sqlite"], indirect=True)
def test_user_mistakes_are_one_line_and_exit_2(checkpointer_url, tmp_cwd, capsys):
    db = checkpointer_url
    assert cli(capsys, "run", "sequential", "tides", "--thread", "s1", "--db", db)[0] == 0
    assert cli(capsys, "run", "human_approval", "migrate", "--thread", "h1", "--db", db)[0] == 0
    first = cli_json(capsys, "history", "--thread", "s1", "--db", db)[0]["checkpoint_id"]
    cases = [
        (("resume", "--thread", "nope"), ("'nope' is not in",)),
        (("resume", "--thread", "nope", "--pattern", "triage"), ("'nope' has no run",)),
        (("history", "--thread", "nope"), ("'nope' is not in",)),
        (("fork", "--thread", "nope", "--checkpoint", "x"), ("'nope' is not in",)),
        (("fork", "--thread", "s1", "--checkpoint", "zzz"), ("checkpoint 'zzz' is not in",)),
        (("fork", "--thread", "s1", "--checkpoint", "1"), ("'1' is ambiguous",)),
        (("fork", "--thread", "s1", "--checkpoint", first, "--new-thread", "h1"),
         ("'h1' already exists",)),
        (("resume", "--thread", "s1"), ("'s1' already finished",)),
        (("resume", "--thread", "s1", "--approve"), ("'s1' already finished",)),
        (("resume", "--thread", "h1"), ("waiting for approval", "--approve")),
    ]
    for args, needles in cases:
        code, _, err = cli(capsys, *args, "--db", db)
        one_line_error(code, err, *needles)


def test_reading_commands_do_not_create_a_missing_database(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'absent' / 'runs.db'}"
    code, out, _ = cli(capsys, "threads", "--db", db)
    assert code == 0 and "no threads in" in out
    for args in (("history", "--thread", "t"),
                 ("resume", "--thread", "t"), ("fork", "--thread", "t", "--checkpoint", "c")):
        one_line_error(*cli(capsys, *args, "--db", db)[::2], "that file does not exist")
    assert list(tmp_path.iterdir()) == []


NOT_SQLITE = b"name,value\nthis is a csv file, not a database\n" * 64
# a real SQLite header followed by garbage: sqlite reads the header, then fails
CORRUPT_SQLITE = b"SQLite format 3\x00" + bytes(range(256)) * 40


@pytest.mark.parametrize("content", [NOT_SQLITE, CORRUPT_SQLITE], ids=["not-sqlite", "corrupt"])
def test_a_bad_database_file_is_reported_and_left_byte_identical(content, tmp_path, capsys):
    path = tmp_path / "runs.db"
    path.write_bytes(content)
    db = f"sqlite:///{path}"
    for args in (("threads",), ("run", "triage", "book a table"), ("resume", "--thread", "t"),
                 ("history", "--thread", "t"), ("fork", "--thread", "t", "--checkpoint", "c")):
        code, _, err = cli(capsys, *args, "--db", db)
        one_line_error(code, err, str(path))
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]  # no -wal/-shm either


def test_a_locked_database_is_reported(tmp_path, capsys):
    path = tmp_path / "runs.db"
    db = f"sqlite:///{path}"
    assert cli(capsys, "run", "triage", "book a table", "--thread", "t", "--db", db)[0] == 0
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = cli(capsys, "resume", "--thread", "t", "--db", db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_line_error(code, err, "is locked by another connection")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgres_is_reported(capsys):
    db = f"postgresql://someone:hunter2@127.0.0.1:{_closed_port()}/runs"
    for args in (("threads",), ("run", "triage", "book a table"), ("history", "--thread", "t")):
        code, _, err = cli(capsys, *args, "--db", db)
        one_line_error(code, err, "cannot connect to PostgreSQL")
        assert "hunter2" not in err


@pytest.mark.slow
def test_failures_print_no_traceback_from_the_console_entry_point(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(NOT_SQLITE)
    good = f"sqlite:///{tmp_path / 'runs.db'}"
    assert subprocess_cli("run", "sequential", "tides", "--thread", "s1", "--db", good,
                          cwd=tmp_path).returncode == 0
    cases = [
        ("threads", "--db", f"sqlite:///{bad}"),
        ("resume", "--thread", "nope", "--db", good),
        ("resume", "--thread", "s1", "--db", good),
        ("resume", "--thread", "s1", "--pattern", "no_such_module:x", "--db", good),
        ("threads", "--db", f"postgresql://u@127.0.0.1:{_closed_port()}/x"),
        ("threads", "--db", "mysql://localhost/x"),
    ]
    for args in cases:
        done = subprocess_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert bad.read_bytes() == NOT_SQLITE


# --------------------------------------------------------------------------- no secrets


def _scan(folder: Path, secret: str) -> list[str]:
    """Files in ``folder`` (the database, its -wal and -shm) whose bytes contain ``secret``."""
    return [p.name for p in folder.iterdir() if p.is_file() and secret.encode() in p.read_bytes()]


def _assert_pickle_free(db: str) -> None:
    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        kinds = {row[0] for row in conn.execute("SELECT type FROM checkpoints")}
        kinds |= {row[0] for row in conn.execute("SELECT type FROM writes")}
    assert kinds <= {"msgpack", "null"}, kinds  # never "pickle"
    # every checkpoint loads through the pickle-free serializer
    with open_checkpointer(db) as saver:
        tuples = list(saver.list(None))
    assert tuples and all(t.checkpoint["channel_values"] is not None for t in tuples)


@pytest.mark.slow
def test_no_api_key_in_checkpoints_with_the_key_in_the_environment(tmp_path):
    secret = f"sk-test-SECRET-{uuid.uuid4().hex}"
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    env = {"OPENAI_API_KEY": secret}
    for args in (("run", "triage", "book a table", "--thread", "t1"),
                 ("run", "human_approval", "migrate the db", "--thread", "h1"),
                 ("resume", "--thread", "h1", "--approve")):
        done = subprocess_cli(*args, "--model", "offline", "--db", db, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert secret not in done.stdout + done.stderr
    assert (tmp_path / "runs.db").exists()
    assert _scan(tmp_path, secret) == []
    _assert_pickle_free(db)


def test_no_api_key_in_checkpoints_of_a_real_openai_client_run(openai_server, tmp_path):
    from langchain_openai import ChatOpenAI

    from agentpatterns import Runner

    secret = f"sk-test-SECRET-{uuid.uuid4().hex}"
    openai_server.responder = lambda request: "All set, your table is booked."
    model = ChatOpenAI(model="gpt-4.1-mini", base_url=openai_server.base_url, api_key=secret)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    result = Runner.run_sync(example("triage"), "book a table", thread_id="t1", model=model,
                             checkpointer=db)
    assert result.final_output == "All set, your table is booked."
    # the key really went over the wire ...
    assert any(secret in r.headers.get("authorization", "") for r in openai_server.requests)
    # ... and never into the database
    assert _scan(tmp_path, secret) == []
    _assert_pickle_free(db)
