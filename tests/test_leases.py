"""SQLite leases with a fencing token: a run that lost its lease cannot write its thread.

* In one process: after another connection takes the lease over, the holder's next
  checkpoint write is refused in the same transaction and ``thread_lock`` raises
  ``LeaseLostError``; nothing is stored.
* Across processes: a holder frozen with SIGSTOP past the TTL is taken over; once woken it
  stops with ``LeaseLostError`` and the thread's history holds every step once.
* A holder in another PID namespace (same hostname) is not taken over while it beats.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Runner
from agentpatterns.errors import LeaseLostError, ThreadBusyError
from agentpatterns.run import locks
from agentpatterns.run.locks import LEASE_TABLE, thread_lock
from agentpatterns.storage import open_checkpointer
from tests._durable_helpers import calls, slow_sequential

ROOT = Path(__file__).resolve().parents[1]


def _take_over(path: Path, thread_id: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {LEASE_TABLE} SET owner = 'someone-else', pid = 1 "
                     "WHERE thread_id = ?", (thread_id,))
    conn.close()


def test_a_write_after_the_lease_was_taken_over_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}"
    pattern = slow_sequential(tmp_path / "calls.log", {})
    Runner.run_sync(pattern, "tides", thread_id="t", checkpointer=url)
    with open_checkpointer(url) as saver:
        head = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert head is not None
        before = len(list(saver.list({"configurable": {"thread_id": "t"}})))
        with pytest.raises(LeaseLostError, match="taken over by another process"):
            with thread_lock(saver, "t"):
                saver.put_writes(head.config, [("x", 1)], "task-1")  # still ours: stored
                _take_over(path, "t")
                saver.put(head.config, head.checkpoint, head.metadata or {}, {})
        assert len(list(saver.list({"configurable": {"thread_id": "t"}}))) == before
        # a thread this connection does not lease is not fenced
        saver.put_writes(head.config, [("y", 2)], "task-2")


def test_a_lease_held_on_another_host_says_when_it_can_be_taken_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    with open_checkpointer(url) as saver:
        with thread_lock(saver, "t"):
            pass  # makes the lease table
        now = time.time()
        with sqlite3.connect(tmp_path / "runs.db") as conn:
            conn.execute(f"INSERT INTO {LEASE_TABLE} VALUES ('t', 'x', 'other-host', 4242, "
                         "'1@boot/pid:[1]', ?, ?)", (now - 100, now))
        conn.close()
        with pytest.raises(ThreadBusyError, match="pid 4242 on other-host") as info:
            with thread_lock(saver, "t"):
                pass
        assert "can be taken over from" in str(info.value)
        assert time.strftime("%H:%M", time.localtime(now + locks.LEASE_TTL)) in str(info.value)


def _helper(*args: str, env: dict[str, str] | None = None,
            prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen([*prefix, sys.executable, "-m", "tests._durable_helpers", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _wait_for(log: Path, line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and line in log.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} never appeared in {log}")


def _last_json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])


def _steps_by_agent(url: str, thread_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in Runner.history(thread_id, checkpointer=url):
        for agent in step.agents:
            counts[agent] = counts.get(agent, 0) + 1
    return counts


@pytest.mark.slow
def test_a_frozen_holder_is_taken_over_and_then_cannot_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "calls.log"
    env = {"AGENTPATTERNS_LEASE_TTL": "2"}
    holder = _helper("run", "sequential", url, "t", str(log), env=env)
    try:
        _wait_for(log, "start\tWriter")  # Writer's model call takes 5 s
        holder.send_signal(signal.SIGSTOP)
        time.sleep(3.5)  # past the 2 s lease: the heartbeat is stale
        taker = _helper("resume", "sequential", url, "t", str(log), "--fast", env=env)
        out, err = taker.communicate(timeout=120)
        assert taker.returncode == 0, err
        assert _last_json(out)["path"] == ["Researcher", "Writer", "Editor"]
    finally:
        holder.send_signal(signal.SIGCONT)
    out, err = holder.communicate(timeout=120)
    assert holder.returncode == 3, (out, err)
    assert _last_json(out)["error"] == "LeaseLostError"
    # every step stored once: what the woken holder did after losing the lease (the model
    # call it was in) was refused at its first write, the journal record of that call
    assert _steps_by_agent(url, "t") == {"Researcher": 1, "Writer": 1, "Editor": 1}
    started = calls(log, "start").get(str(holder.pid), {})
    assert started == {"Researcher": 1, "Writer": 1}  # and it started nothing after it


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare for a new PID namespace")
def test_a_holder_in_another_pid_namespace_is_not_taken_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "calls.log"
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --pid is not permitted here: {probe.stderr!r}")
    holder = _helper("run", "sequential", url, "t", str(log),
                     prefix=("unshare", "--pid", "--fork", "--mount-proc"))
    try:
        _wait_for(log, "start\tWriter")
        with open_checkpointer(url) as saver:
            assert "t" in locks.running_threads(saver, ["t"])
            with pytest.raises(ThreadBusyError, match="another PID namespace"):
                with thread_lock(saver, "t"):
                    pass
    finally:
        _out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    assert _steps_by_agent(url, "t") == {"Researcher": 1, "Writer": 1, "Editor": 1}
