"""Durable runs: SIGKILL and resume elsewhere, many workers on one database, one run per thread.

Cross-process tests run on SQLite and PostgreSQL (a process-local ``memory`` saver cannot
outlive its process); the in-process lock tests run on all three. Model calls are counted
by :class:`tests._durable_helpers.CountingModel`, which appends one line per call to a file,
so the count spans every process that touched the thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Runner, ThreadBusyError
from agentpatterns.run.locks import LEASE_TABLE, _proc_start, running_threads, thread_lock
from agentpatterns.run.threads import fork_thread, thread_history
from agentpatterns.storage import open_checkpointer
from tests._durable_helpers import calls, slow_parallel, slow_sequential

ROOT = Path(__file__).resolve().parents[1]
CROSS_PROCESS = pytest.mark.parametrize("checkpointer_url", ["sqlite", "postgres"],
                                        indirect=True)


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests._durable_helpers", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, Any]:
    out, err = proc.communicate(timeout=timeout)
    lines = out.strip().splitlines()
    assert lines, f"no output (exit {proc.returncode}):\n{err[-3000:]}"
    return proc.returncode, json.loads(lines[-1])


def _wait_for(predicate: Any, proc: subprocess.Popen[str], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _release(go: Path, procs: list[subprocess.Popen[str]]) -> None:
    """Start ``procs`` at the same moment, once every one is imported and waiting."""
    def all_ready() -> bool:
        return len(list(go.parent.glob(go.name + ".ready.*"))) == len(procs)

    _wait_for(all_ready, procs[0], "the processes to be ready", timeout=60)
    go.touch()


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # reaped, so its pid is really gone
    assert proc.returncode == -signal.SIGKILL


def _total(per_process: dict[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in per_process.values():
        total.update(counts)
    return total


# --------------------------------------------------------------------------- crash + resume


@CROSS_PROCESS
def test_sigkill_between_agents_then_resume_elsewhere_runs_each_agent_once(checkpointer_url,
                                                                           tmp_path):
    log = tmp_path / "calls.log"
    url = checkpointer_url
    first = _spawn("run", "sequential", url, "t-crash", str(log))
    with open_checkpointer(url) as saver:
        def researcher_checkpointed() -> bool:
            tup = saver.get_tuple(_config("t-crash"))
            return tup is not None and "Researcher" in (
                tup.checkpoint["channel_values"].get("path") or [])

        _wait_for(researcher_checkpointed, first, "the Researcher's checkpoint")

        def writer_started() -> bool:
            return calls(log, "start").get(str(first.pid), Counter())["Writer"] == 1

        # the Writer's 5 s model call is under way: kill the process inside it
        _wait_for(writer_started, first, "the Writer's model call")
        _kill(first)

    before = calls(log)
    assert list(before.values()) == [Counter({"Researcher": 1})]
    assert calls(log, "start")[str(first.pid)]["Writer"] == 1  # it was killed mid-call

    with open_checkpointer(url) as saver:
        graph = slow_sequential(log).graph().compile(checkpointer=saver)
        state = graph.get_state(_config("t-crash"))
        assert state.next == ("Writer",)  # the killed run is resumable, not finished
        assert state.values["path"] == ["Researcher"]
        kept = state.values["results"]["Researcher"]

    code, result = _finish(_spawn("resume", "sequential", url, "t-crash", str(log), "--fast"))
    assert code == 0, result
    after = calls(log)
    assert after[str(first.pid)] == Counter({"Researcher": 1})
    assert after[str(result["pid"])] == Counter({"Writer": 1, "Editor": 1})
    assert _total(after) == Counter({"Researcher": 1, "Writer": 1, "Editor": 1})
    assert result["path"] == ["Researcher", "Writer", "Editor"]
    assert result["calls"] == {"Researcher": 1, "Writer": 1, "Editor": 1}
    # nothing done before the kill was lost: the Writer wrote from the Researcher's notes
    assert kept in result["final_output"]
    assert result["inputs"] == ["The history of the printing press"]


@CROSS_PROCESS
def test_sigkill_mid_fanout_keeps_finished_branches(checkpointer_url, tmp_path):
    log = tmp_path / "calls.log"
    url = checkpointer_url
    first = _spawn("run", "parallel", url, "t-fan", str(log))
    with open_checkpointer(url) as saver:
        def two_branches_saved() -> bool:
            tup = saver.get_tuple(_config("t-fan"))
            if tup is None:
                return False
            finished = {tuple(value) for _, channel, value in tup.pending_writes
                        if channel == "path"}
            return len(finished) >= 2

        _wait_for(two_branches_saved, first, "two finished branches")
        _kill(first)  # Researcher 3 (6 s) is still working

    before = calls(log)[str(first.pid)]
    assert before == Counter({"Researcher 1": 1, "Researcher 2": 1})
    with open_checkpointer(url) as saver:
        graph = slow_parallel(log).graph().compile(checkpointer=saver)
        state = graph.get_state(_config("t-fan"))
    assert state.next == ("Researcher 3",)
    assert {t.name: t.result is not None for t in state.tasks} == {
        "Researcher 1": True, "Researcher 2": True, "Researcher 3": False}

    code, result = _finish(_spawn("resume", "parallel", url, "t-fan", str(log), "--fast"))
    assert code == 0, result
    after = calls(log)
    assert after[str(first.pid)] == before  # the finished branches did not run again
    assert after[str(result["pid"])] == Counter({"Researcher 3": 1, "Synthesizer": 1})
    assert result["calls"] == {"Researcher 1": 1, "Researcher 2": 1, "Researcher 3": 1,
                               "Synthesizer": 1}
    for branch in ("Researcher 1", "Researcher 2", "Researcher 3"):
        assert f"[{branch}] research notes" in result["final_output"]


# --------------------------------------------------------------------------- many workers


@CROSS_PROCESS
def test_workers_on_one_database_keep_their_threads_apart(checkpointer_url, tmp_path):
    go = tmp_path / "go"
    workers = [_spawn("worker", checkpointer_url, str(tmp_path / f"w{i}.log"), f"w{i}", "3",
                      env={"AP_GO_FILE": str(go)}) for i in range(3)]
    _release(go, workers)
    expected_path = {"triage": ["Triage Agent", "Booking Agent"],
                     "sequential": ["Researcher", "Writer", "Editor"]}
    threads = {}
    for proc in workers:
        code, results = _finish(proc)
        assert code == 0, json.dumps(results)
        for r in results:
            threads[r["thread"]] = r
            request = r["inputs"][0]
            assert r["inputs"] == [request] and request.endswith(r["thread"])
            assert request in r["final_output"]  # its own request, not another thread's
            if r["kind"] in expected_path:
                assert r["path"] == expected_path[r["kind"]]
            else:
                assert sorted(r["path"]) == ["Researcher 1", "Researcher 2", "Researcher 3",
                                             "Synthesizer"]
            assert r["calls"] == {agent: 1 for agent in r["path"]}
    assert len(threads) == 9
    # read back by a fourth process: every thread is intact and finished
    with open_checkpointer(checkpointer_url) as saver:
        for thread, r in threads.items():
            tup = saver.get_tuple(_config(thread))
            values = tup.checkpoint["channel_values"]
            assert values["final_output"] == r["final_output"]
            assert values["input"].endswith(thread)


@CROSS_PROCESS
def test_two_processes_resuming_one_thread_one_wins(checkpointer_url, tmp_path):
    log = tmp_path / "calls.log"
    url = checkpointer_url
    with open_checkpointer(url) as saver:
        graph = slow_sequential(log, {}).graph().compile(
            checkpointer=saver, interrupt_after=["Researcher"])
        from agentpatterns.run.plan import start_input as _start_input

        graph.invoke(_start_input("tides"), _config("t-both"))
        assert graph.get_state(_config("t-both")).next == ("Writer",)
    go = tmp_path / "go"
    procs = [_spawn("resume", "sequential", url, "t-both", str(log), env={"AP_GO_FILE": str(go)})
             for _ in range(2)]
    _release(go, procs)  # both try within milliseconds; the Writer keeps the winner 5 s
    outcomes = [_finish(p) for p in procs]
    winners = [r for code, r in outcomes if code == 0]
    losers = [r for code, r in outcomes if code != 0]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0]["error"] == "ThreadBusyError"
    assert "'t-both' is being run by another process" in losers[0]["message"]
    assert winners[0]["path"] == ["Researcher", "Writer", "Editor"]
    total = _total(calls(log))
    assert total == Counter({"Researcher": 1, "Writer": 1, "Editor": 1})  # no double execution
    # and the thread is free again
    with open_checkpointer(url) as saver:
        assert running_threads(saver, ["t-both"]) == {}


# --------------------------------------------------------------------------- the lock


def _cut_off(url: str, log: Path, thread: str, latency: float = 0.8) -> None:
    from agentpatterns.run.plan import start_input as _start_input

    with open_checkpointer(url) as saver:
        graph = slow_sequential(log, {"Writer": latency}).graph().compile(
            checkpointer=saver, interrupt_after=["Researcher"])
        graph.invoke(_start_input("tides"), _config(thread))


def test_two_threads_of_one_process_resuming_one_thread(checkpointer_url, tmp_path):
    log = tmp_path / "calls.log"
    _cut_off(checkpointer_url, log, "t-local")
    pattern = slow_sequential(log, {"Writer": 0.8})
    outcomes: list[Any] = []

    def resume() -> None:
        try:
            outcomes.append(Runner.resume_sync(pattern, thread_id="t-local",
                                               checkpointer=checkpointer_url))
        except ThreadBusyError as exc:
            outcomes.append(exc)

    workers = [threading.Thread(target=resume) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    errors = [o for o in outcomes if isinstance(o, ThreadBusyError)]
    assert len(errors) == 1 and len(outcomes) == 2
    assert "'t-local'" in str(errors[0])
    assert _total(calls(log))["Writer"] == 1


async def test_async_resumes_of_one_thread_exclude_each_other(checkpointer_url, tmp_path):
    log = tmp_path / "calls.log"
    _cut_off(checkpointer_url, log, "t-async")
    pattern = slow_sequential(log, {"Writer": 0.8})
    outcomes = await asyncio.gather(
        *(Runner.resume(pattern, thread_id="t-async", checkpointer=checkpointer_url)
          for _ in range(2)), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["RunResult", "ThreadBusyError"]
    assert _total(calls(log))["Writer"] == 1
    # released afterwards, also after a failure: a finished thread refuses, then frees
    for _ in range(2):
        with pytest.raises(Exception, match="already finished"):
            await Runner.resume(pattern, thread_id="t-async", checkpointer=checkpointer_url)


def test_lock_is_released_when_the_run_fails(checkpointer_url):
    with open_checkpointer(checkpointer_url) as saver:
        with pytest.raises(RuntimeError, match="boom"), thread_lock(saver, "t-fail"):
            assert running_threads(saver, ["t-fail", "other"]) == {"t-fail": "this process"}
            raise RuntimeError("boom")
        with thread_lock(saver, "t-fail"):
            pass
        assert running_threads(saver, ["t-fail"]) == {}


def _lease(url: str, pid: int, *, heartbeat: float | None = None,
           proc_start: str | None = None) -> None:
    path = url.removeprefix("sqlite:///")
    now = time.time()
    with sqlite3.connect(path) as conn:
        conn.execute(f"INSERT OR REPLACE INTO {LEASE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                     ("t-lease", "someone", os.uname().nodename, pid,
                      _proc_start(pid) if proc_start is None else proc_start, now,
                      now if heartbeat is None else heartbeat))


@pytest.mark.parametrize("checkpointer_url", ["sqlite"], indirect=True)
def test_sqlite_lease_of_a_live_process_blocks_and_a_dead_or_silent_one_does_not(
        checkpointer_url, tmp_path):
    url = checkpointer_url
    Runner.run_sync(slow_sequential(tmp_path / "c.log", {}), "tides", thread_id="t-lease",
                    checkpointer=url)  # creates the lease table
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lease(url, sleeper.pid)
        with open_checkpointer(url) as saver:
            assert running_threads(saver, ["t-lease"]) == {
                "t-lease": f"pid {sleeper.pid} on {os.uname().nodename}"}
            with pytest.raises(ThreadBusyError, match=f"pid {sleeper.pid}"):
                with thread_lock(saver, "t-lease"):
                    pass
            # a pid reused by another process does not hold the lease
            _lease(url, sleeper.pid, proc_start="1")
            with thread_lock(saver, "t-lease"):
                pass
            # a lease whose heartbeat stopped long ago is abandoned, even if the pid lives
            _lease(url, sleeper.pid, heartbeat=time.time() - 3600)
            with thread_lock(saver, "t-lease"):
                pass
    finally:
        sleeper.kill()
        sleeper.wait()
    _lease(url, sleeper.pid)  # the process is gone now
    with open_checkpointer(url) as saver, thread_lock(saver, "t-lease"):
        pass


@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
def test_postgres_advisory_lock_of_another_session_blocks_until_it_ends(checkpointer_url):
    import psycopg

    other = psycopg.connect(checkpointer_url, autocommit=True)  # as another process would
    other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                  ("agentpatterns-thread:t-pg",))
    with open_checkpointer(checkpointer_url) as saver:
        assert running_threads(saver, ["t-pg", "t-other"]) == {
            "t-pg": "another process (PostgreSQL lock)"}
        with pytest.raises(ThreadBusyError, match="advisory lock"):
            with thread_lock(saver, "t-pg"):
                pass
        with thread_lock(saver, "t-other"):  # other threads are not blocked
            pass
        other.close()  # the session ends (as when its process dies): the lock goes with it
        deadline = time.monotonic() + 10  # once the server has noticed
        while running_threads(saver, ["t-pg"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        with thread_lock(saver, "t-pg"):
            assert running_threads(saver, ["t-pg"]) == {"t-pg": "this process"}


# --------------------------------------------------------------------------- fork


def test_fork_copies_state_at_a_checkpoint_and_runs_on(checkpointer_url, tmp_path):
    log = tmp_path / "calls.log"
    pattern = slow_sequential(log, {})
    Runner.run_sync(pattern, "tides", thread_id="t-src", checkpointer=checkpointer_url)
    with open_checkpointer(checkpointer_url) as saver:
        graph = pattern.graph().compile(checkpointer=saver)
        steps = thread_history(saver, "t-src")
        assert [s.nodes for s in steps] == [[], ["start"], ["Researcher"], ["Writer"],
                                            ["Editor"]]
        assert steps[2].handoffs == [("Researcher", "Writer")]
        at = steps[2].checkpoint_id
        fork_thread(saver, "t-src", at, "t-fork")
        forked = graph.get_state(_config("t-fork"))
        assert forked.next == ("Writer",)
        assert forked.values["path"] == ["Researcher"]
        then = graph.get_state({"configurable": {"thread_id": "t-src", "checkpoint_id": at}})
        assert [m.content for m in forked.values["messages"]] == [
            m.content for m in then.values["messages"]] != []
        assert [s.checkpoint_id for s in thread_history(saver, "t-fork")] == [
            s.checkpoint_id for s in steps[:3]]
        source_before = len(list(saver.list(_config("t-src"))))
    result = Runner.resume_sync(pattern, thread_id="t-fork", checkpointer=checkpointer_url)
    assert result.path == ["Researcher", "Writer", "Editor"]
    assert _total(calls(log)) == Counter({"Researcher": 1, "Writer": 2, "Editor": 2})
    with open_checkpointer(checkpointer_url) as saver:
        assert len(list(saver.list(_config("t-src")))) == source_before  # untouched


def test_fork_of_a_waiting_run_can_take_another_decision(checkpointer_url):
    from agentpatterns.examples import example

    pattern = example("human_approval")
    first = Runner.run_sync(pattern, "migrate the db", thread_id="t-wait",
                            checkpointer=checkpointer_url)
    assert first.interrupted
    with open_checkpointer(checkpointer_url) as saver:
        head = saver.get_tuple(_config("t-wait")).checkpoint["id"]
    approved = Runner.resume_sync(pattern, thread_id="t-wait", decision=True,
                                  checkpointer=checkpointer_url)
    assert approved.path == ["Planner", "Executor"]
    with open_checkpointer(checkpointer_url) as saver:
        fork_thread(saver, "t-wait", head, "t-wait-2")
    other = Runner.resume_sync(pattern, thread_id="t-wait-2", decision=False,
                               checkpointer=checkpointer_url)
    assert other.values["decision"]["approved"] is False
    assert "Executor" not in other.path
