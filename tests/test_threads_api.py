"""Durable threads as data: no code imported because a row names it, and the Python API.

* ``threads``, ``history`` and ``resume`` never import the ``module:attribute`` a
  checkpoint's metadata names; history and threads work from the checkpoints alone.
* ``Runner.threads`` / ``Runner.history`` / ``Runner.fork`` give notebooks what the CLI shows.
* Approval input is never reinterpreted; ``fork --checkpoint ""`` is an error.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agentpatterns import Runner
from agentpatterns.errors import InputError
from agentpatterns.examples import example
from agentpatterns.graphs.human_approval import normalize_decision
from tests.test_cli_durable import cli, cli_json, one_line_error

# --------------------------------------------------------------------------- item 4


def plant_metadata(path: Path, thread_id: str, pattern: str) -> None:
    """Rewrite a thread's recorded pattern, as an attacker with the file could."""
    with sqlite3.connect(path) as conn:
        for rowid, raw in conn.execute("SELECT rowid, metadata FROM checkpoints WHERE "
                                       "thread_id = ?", (thread_id,)).fetchall():
            meta = json.loads(raw)
            meta["agentpatterns_pattern"] = pattern
            conn.execute("UPDATE checkpoints SET metadata = ? WHERE rowid = ?",
                         (json.dumps(meta).encode(), rowid))
    conn.close()


def test_a_pattern_named_by_the_database_is_never_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "imported"
    (tmp_path / "pwnmod.py").write_text(
        f"open({str(marker)!r}, 'w').write('pwned')\n"
        "from agentpatterns.examples import example\nx = example('sequential')\n")
    path = tmp_path / "runs.db"
    db = f"sqlite:///{path}"
    assert cli(capsys, "run", "sequential", "tides", "--thread", "s1", "--db", db)[0] == 0
    assert cli(capsys, "run", "human_approval", "migrate", "--thread", "h1", "--db", db)[0] == 0
    plant_metadata(path, "s1", "pwnmod:x")
    plant_metadata(path, "h1", "os:abort")
    listed = {t["thread_id"]: t for t in cli_json(capsys, "threads", "--db", db)}
    assert listed["s1"]["status"] == "done" and listed["s1"]["pattern"] == "pwnmod:x"
    assert listed["h1"]["status"] == "waiting for approval"
    assert cli_json(capsys, "history", "--thread", "s1", "--db", db)[2]["agents"] == [
        "Researcher"]
    assert cli(capsys, "history", "--thread", "h1", "--db", db)[0] == 0
    one_line_error(*cli(capsys, "resume", "--thread", "h1", "--approve", "--db", db)[::2],
                   "'os:abort'", "does not import code", "--pattern os:abort")
    assert not marker.exists()
    # the user names the pattern: then (and only then) it is loaded
    code, _out, err = cli(capsys, "resume", "--thread", "h1", "--approve", "--pattern",
                         "human_approval", "--db", db)
    assert code == 0, err


def test_threads_started_from_python_have_history_and_status(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    Runner.run_sync(example("triage"), "I need to book a table", thread_id="py",
                    checkpointer=db)
    steps = cli_json(capsys, "history", "--thread", "py", "--db", db)
    assert [s["agents"] for s in steps] == [[], [], ["Triage Agent"], ["Booking Agent"]]
    assert steps[2]["handoffs"] == [["Triage Agent", "Booking Agent"]]
    assert steps[0]["note"] == "request: I need to book a table"


def test_an_undecodable_thread_is_skipped_with_a_warning(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    path = tmp_path / "runs.db"
    db = f"sqlite:///{path}"
    for t in ("good", "bad"):
        Runner.run_sync(example("triage"), "book a table", thread_id=t, checkpointer=db)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE checkpoints SET type = 'pickle' WHERE thread_id = 'bad'")
    conn.close()
    code, out, err = cli(capsys, "threads", "--db", db, "--json")
    assert code == 0, err
    assert [t["thread_id"] for t in json.loads(out)] == ["good"]
    assert err.count("\n") == 1 and "thread 'bad' skipped" in err
    with pytest.warns(RuntimeWarning, match="'bad' skipped"):
        assert [t.thread_id for t in Runner.threads(db)] == ["good"]


# --------------------------------------------------------------------------- item 10


def test_the_python_api_lists_shows_forks_and_resumes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    pattern = example("human_approval")
    Runner.run_sync(pattern, "Migrate the db", thread_id="h", checkpointer=db)
    Runner.run_sync(example("sequential"), "tides", thread_id="s", checkpointer=db)
    listed = {t.thread_id: t for t in Runner.threads(db)}
    assert listed["h"].status == "waiting for approval" and listed["s"].status == "done"
    steps = Runner.history("h", checkpointer=db)
    assert steps[-1].note == "waiting for approval"
    assert steps[2].agents == ["Planner"] and steps[2].time is not None
    new = Runner.fork("h", steps[2].checkpoint_id, checkpointer=db, new_thread_id="h2")
    assert new == "h2"
    assert {t.thread_id: t.status for t in Runner.threads(db)}["h2"] == "waiting for approval"
    done = Runner.resume_sync(pattern, thread_id="h2", decision=True, checkpointer=db)
    assert done.path[-1] == "Executor"
    assert Runner.history("h", checkpointer=db)[-1].note == "waiting for approval"
    with pytest.raises(InputError, match="checkpoint id is empty"):
        Runner.fork("h", "", checkpointer=db)
    with pytest.raises(InputError, match="not in this database"):
        Runner.history("nope", checkpointer=db)


# --------------------------------------------------------------------------- items 8, 11


@pytest.mark.parametrize("decision, needle", [
    ({}, "says nothing"),
    ({"feedback": ""}, r"\['feedback'\] is empty"),
    ({"plan": "  "}, r"\['plan'\] is empty"),
    ({"approved": True, "feedback": "shorter"}, "approves the plan and gives feedback"),
    ({"approved": False, "plan": "p"}, "rejects the plan and gives an edited plan"),
    ({"feedback": "f", "plan": "p"}, "pass one of them"),
])
def test_contradictory_or_empty_decisions_are_refused(decision: dict[str, object],
                                                      needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        normalize_decision(decision)


def test_the_cli_refuses_contradictory_approval_flags(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert cli(capsys, "run", "human_approval", "migrate", "--thread", "h", "--db", db)[0] == 0
    for flags, needle in ((("--approve", "--feedback", "shorter"), "contradictory"),
                          (("--reject", "--plan", "p"), "contradictory"),
                          (("--feedback", ""), "--feedback is empty")):
        one_line_error(*cli(capsys, "resume", "--thread", "h", *flags, "--db", db)[::2], needle)
    assert cli_json(capsys, "threads", "--db", db)[0]["status"] == "waiting for approval"
    one_line_error(*cli(capsys, "fork", "--thread", "h", "--checkpoint", "", "--db", db)[::2],
                   "--checkpoint is empty")
