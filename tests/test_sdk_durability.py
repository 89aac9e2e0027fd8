"""Crash durability on the SDK runtime (issue 12; docs/durability.md, "SDK runtime").

A ``run_sdk`` with a database store is killed (SIGKILL, a real subprocess:
``tests/_sdk_crash.py``) inside a model call or a tool call, at several points of every
pattern the SDK runtime runs; the thread is listed ``cut off``; another process (the test's) resumes
it with ``resume_sdk``; each model call and each tool call the killed run completed was made
exactly once across both processes (the models and tools log every call to a file), and the
final output and path are those of an uninterrupted run. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents")

from tests._sdk_crash import log_lines

ROOT = Path(__file__).resolve().parents[1]

#: (pattern, kill point): inside a model call (AGENT:N) - after the tool calls before it
#: were recorded - or inside a tool, before its effect (tool:NAME)
CASES = [
    ("triage", "Booking Agent:3"),          # after both tool calls of the specialist
    ("triage", "tool:send_confirmation"),   # inside the second tool call
    ("triage", "Triage Agent:1"),           # inside the very first call
    ("sequential", "Editor:1"),             # after two handoffs
    ("sequential", "tool:search_archive"),
    ("hierarchical", "SQL Expert:2"),       # inside an agent used as a tool, after its tool
    ("hierarchical", "Orchestrator:2"),     # after the agent-as-tool call returned
    ("supervisor", "Worker 2:1"),           # the second assignment
    ("supervisor", "Supervisor:3"),
    ("reflection", "Critic:2"),
    ("parallel", "Synthesizer:1"),          # every branch done
    ("parallel", "Researcher 3:2"),         # branches under way
    ("dynamic", "Accounting Specialist:2"),
    ("memory", "Expert:2"),
    ("human_approval", "Executor:2"),       # after the approval, after the executor's tool
    ("human_approval", "tool:migrate_database"),
    ("callables", "Clerk:2"),               # after is_enabled, needs_approval, the tool,
                                            # tool_use_behavior and the input guardrail
    ("handoffs", "Booking Agent:2"),        # after on_handoff, input_filter (its result
                                            # differs per process), a call and a tool
    ("handoffs", "tool:send_confirmation"), # inside an SDK tool, after our tool
    ("imported", "Clerk:2"),                # an SDK handoff's on_handoff and input_filter,
                                            # an SDK tool
    # after a call completed and its record reached the run's effect log, before the
    # journal's insert: the next holder copies it into the journal, nothing is made again
    ("sequential", "logged:model:2"),
    ("triage", "logged:tool:1"),
    ("parallel", "logged:model:3"),
    ("callables", "logged:call:2"),
]
PG_CASES = [("triage", "Booking Agent:3"), ("parallel", "Researcher 3:2"),
            ("supervisor", "Worker 2:1"), ("human_approval", "Executor:2"),
            ("sequential", "logged:model:2"), ("handoffs", "Booking Agent:2"),
            ("imported", "Clerk:2")]


def _child(verb: str, pattern: str, url: str, thread: str, log: Path,
           kill: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AP_KILL", None)
    if kill:
        env["AP_KILL"] = kill
    return subprocess.run([sys.executable, "-m", "tests._sdk_crash", verb, pattern, url,
                           thread, str(log)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def _here(verb: str, pattern: str, url: str, thread: str, log: Path) -> dict[str, Any]:
    """``tests._sdk_crash`` run in this process (it is another process than the killed one):
    its summary."""
    import contextlib
    import io

    from tests._sdk_crash import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([verb, pattern, url, thread, str(log)]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])  # type: ignore[no-any-return]


_BASELINES: dict[str, tuple[dict[str, Any], dict[str, Counter[str]]]] = {}


def _baseline(pattern: str, tmp: Path) -> tuple[dict[str, Any], dict[str, Counter[str]]]:
    """An uninterrupted run's summary and call log (once per pattern)."""
    if pattern not in _BASELINES:
        log = tmp / f"baseline-{pattern}.log"
        url = f"sqlite:///{tmp / f'baseline-{pattern}.db'}"
        _BASELINES[pattern] = (_here("run", pattern, url, "b", log), log_lines(log))
    return _BASELINES[pattern]


def _journal_rows(url: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            return int(conn.execute("SELECT count(*) FROM agentpatterns_journal").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM agentpatterns_journal").fetchone()[0])


def _status(url: str, thread: str) -> str:
    from agentpatterns import Runner

    return next(t.status for t in Runner.threads(url) if t.thread_id == thread)


def _kill_and_resume(pattern: str, kill: str, url: str, tmp: Path, shared: Path,
                     verb: str = "run") -> None:
    from agentpatterns.adapters.openai_agents import resume_sdk_sync
    from agentpatterns.errors import ResumeError
    from tests._sdk_crash import build

    base, base_log = _baseline(pattern, shared)
    log = tmp / "calls.log"
    killed = _child(verb, pattern, url, "t1", log, kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert _status(url, "t1") == "cut off"
    first = log_lines(log)
    assert first["done"] != base_log["done"] or first["tool"] != base_log["tool"]
    if pattern != "human_approval":  # a decision is refused: the run waits for none
        with pytest.raises(ResumeError, match="cut off while it ran"):
            resume_sdk_sync(build(pattern, tmp / "unused.log"), thread_id="t1",
                            checkpointer=url, decision=True)
    resumed = _here("resume", pattern, url, "t1", log)
    both = log_lines(log)
    # every completed model call and tool call made once, over both processes
    assert both["done"] == base_log["done"], (kill, first["done"], both["done"])
    assert both["tool"] == base_log["tool"], (kill, first["tool"], both["tool"])
    assert max(both["tool"].values(), default=1) == 1
    # and every user callable the SDK calls (is_enabled, needs_approval, tool_use_behavior,
    # guardrails, on_handoff, input_filter): answered from the journal on the replay
    assert both["call"] == base_log["call"], (kill, first["call"], both["call"])
    for key in ("path", "final_output", "calls", "tool_calls"):
        assert resumed[key] == base[key], key
    assert _status(url, "t1") == "done"
    assert _journal_rows(url) == 0  # pruned when the run ended
    with pytest.raises(ResumeError, match="already finished"):
        resume_sdk_sync(build(pattern, tmp / "unused.log"), thread_id="t1", checkpointer=url)


@pytest.fixture(scope="module")
def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sdk-baselines")


@pytest.mark.parametrize(("pattern", "kill"), CASES, ids=[f"{p}-{k}" for p, k in CASES])
def test_a_killed_sdk_run_resumes_making_each_completed_call_once_on_sqlite(
        pattern: str, kill: str, tmp_path: Path, shared_tmp: Path) -> None:
    _kill_and_resume(pattern, kill, f"sqlite:///{tmp_path / 'runs.db'}", tmp_path, shared_tmp)


@pytest.mark.parametrize(("pattern", "kill"), [("triage", "Booking Agent:3"),
                                             ("parallel", "Synthesizer:1"),
                                             ("supervisor", "Worker 2:1")])
def test_a_killed_streamed_sdk_run_resumes_making_each_completed_call_once(
        pattern: str, kill: str, tmp_path: Path, shared_tmp: Path) -> None:
    # run_sdk_streamed records as it streams; resume_sdk (not streamed) finishes the run
    _kill_and_resume(pattern, kill, f"sqlite:///{tmp_path / 'runs.db'}", tmp_path, shared_tmp,
                     verb="stream")


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    from tests._postgres import fresh_database

    with fresh_database(postgres_url, f"sdkdur_{uuid.uuid4().hex[:10]}") as url:
        yield url


@pytest.mark.parametrize(("pattern", "kill"), PG_CASES, ids=[f"{p}-{k}" for p, k in PG_CASES])
def test_a_killed_sdk_run_resumes_making_each_completed_call_once_on_postgres(
        pattern: str, kill: str, tmp_path: Path, shared_tmp: Path, pg_url: str) -> None:
    _kill_and_resume(pattern, kill, pg_url, tmp_path, shared_tmp)


@pytest.mark.parametrize("racers", [2, 3])
def test_processes_racing_to_resume_a_killed_sdk_run_finish_it_once(
        racers: int, tmp_path: Path, shared_tmp: Path) -> None:
    import time

    base, base_log = _baseline("triage", shared_tmp)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "calls.log"
    killed = _child("run", "triage", url, "t1", log, "Booking Agent:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AP_GO_FILE": str(go), "AP_LATENCY": "0.3"}
    env.pop("AP_KILL", None)
    procs = [subprocess.Popen([sys.executable, "-m", "tests._sdk_crash", "resume", "triage", url,
                               "t1", str(log)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(racers)]
    deadline = time.monotonic() + 240
    while len(list(tmp_path.glob("go.ready.*"))) < racers and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # all of them at once
    outs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    finished = [o for o in outs if "refused" not in o]
    assert len(finished) == 1, outs  # one resumed it; the others were refused, by name
    assert all("ThreadBusyError" in o["refused"] or "resumed by another process" in o["refused"]
               for o in outs if "refused" in o), outs
    both = log_lines(log)
    assert both["done"] == base_log["done"] and both["tool"] == base_log["tool"]
    assert finished[0]["path"] == base["path"]
    assert finished[0]["final_output"] == base["final_output"]
    assert _status(url, "t1") == "done"


def test_the_langgraph_resume_of_a_killed_sdk_thread_names_resume_sdk(tmp_path: Path) -> None:
    from agentpatterns import Runner
    from agentpatterns.errors import ResumeError
    from agentpatterns.examples import example

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    for pattern, thread, kill in (("parallel", "p", "Synthesizer:1"),
                                  ("triage", "t", "Booking Agent:2")):
        killed = _child("run", pattern, url, thread, tmp_path / "calls.log", kill)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        listed = {t.thread_id: (t.status, t.pattern) for t in Runner.threads(url)}
        assert listed[thread] == ("cut off", pattern)
        # neither the command line nor Runner.resume can finish it (the run needs the user's
        # agents on the SDK runtime): one line naming resume_sdk, not "already finished"
        cli = subprocess.run([sys.executable, "-m", "agentpatterns", "resume", thread, "--db",
                              url, "--pattern", pattern], cwd=ROOT, capture_output=True,
                             text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert cli.returncode == 2, cli.stderr
        assert "OpenAI Agents SDK runtime" in cli.stderr and "resume_sdk(" in cli.stderr
        assert "Traceback" not in cli.stderr
        with pytest.raises(ResumeError, match="cut off while it ran; resume it from Python"):
            Runner.resume_sync(example(pattern), thread_id=thread, checkpointer=url)


def _tool_keys(log: Path) -> dict[str, list[tuple[str, str]]]:
    """``NAME:topic`` -> [(pid, idempotency key)] of each run of the tool."""
    out: dict[str, list[tuple[str, str]]] = {}
    for line in log.read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "tool":
            out.setdefault(fields[1], []).append((fields[2], fields[3]))
    return out


@pytest.mark.parametrize("tool", ["book_table", "send_confirmation"])
def test_a_tool_re_run_in_the_window_after_a_crash_gets_the_same_idempotency_key(
        tool: str, tmp_path: Path, shared_tmp: Path) -> None:
    # killed after the tool's effect, before its record: the resume runs it again (the
    # window) - with the key it had, so a service honouring the key acts once (ours and an
    # SDK tool's; the campaign counts these as "tool repeats with one key")
    from tests._sdk_crash import repeated_with_one_key

    base, _ = _baseline("handoffs", shared_tmp)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "calls.log"
    killed = _child("run", "handoffs", url, "t1", log, f"record:{tool}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    resumed = _here("resume", "handoffs", url, "t1", log)
    assert resumed["final_output"] == base["final_output"]
    runs = _tool_keys(log)[f"{tool}:{REQUEST}"]
    assert len(runs) == 2 and runs[0][0] != runs[1][0], runs  # the window: two processes
    assert runs[0][1] == runs[1][1] and runs[0][1].startswith("ap-"), runs
    assert repeated_with_one_key(log) == 1
    others = {k for name, seen in _tool_keys(log).items() if name != f"{tool}:{REQUEST}"
              for _, k in seen}
    assert runs[0][1] not in others  # another call, another key
    # another run on the thread: other keys
    again = tmp_path / "again.log"
    _here("run", "handoffs", url, "t1", again)
    assert not {k for seen in _tool_keys(again).values() for _, k in seen} & {
        k for seen in _tool_keys(log).values() for _, k in seen}


REQUEST = "book a table for two tonight"


def test_idempotency_key_is_none_in_sdk_tools_without_a_journal(tmp_path: Path) -> None:
    # a run whose store is not a database is not resumed: nothing to key
    from agentpatterns.adapters.openai_agents import run_sdk_sync
    from tests._sdk_crash import build

    log = tmp_path / "calls.log"
    run_sdk_sync(build("handoffs", log), REQUEST)
    keys = {k for seen in _tool_keys(log).values() for _, k in seen}
    assert keys == {"None"}


@pytest.mark.parametrize("kill", ["Booking Agent:3", "tool:send_confirmation"])
def test_the_users_hooks_are_not_called_again_for_replayed_calls(
        kill: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as on LangGraph (nodes/hooks.py, "Replay"): the resume replays the completed calls
    # without calling their hooks again; a start hook whose call the crash cut off is called
    # again (at least once), every end hook once (run hooks and the agent's own)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("AP_HOOKS", str(log))
    _here("run", "handoffs", f"sqlite:///{tmp_path / 'base.db'}", "b", tmp_path / "base.log")
    base = log_lines(log)["hook"]
    log.unlink()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    killed = _child("run", "handoffs", url, "t1", log, kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    _here("resume", "handoffs", url, "t1", log)
    both = log_lines(log)["hook"]
    assert base["on_llm_end:Booking Agent"] == 3 and base["on_tool_end:Booking Agent"] == 2
    started = "on_llm_start" if kill.startswith("Booking") else "on_tool_start"
    cut = Counter({f"{started}:Booking Agent": 1, f"agent.{started}:Booking Agent": 1})
    assert both == base + cut, (both - base, base - both)
