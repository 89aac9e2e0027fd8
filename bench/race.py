"""Race table: processes fighting over one thread; a frozen lease holder; another PID namespace.

    .venv/bin/python bench/race.py [--trials 3] [--scenarios race frozen ns]

SQLite, the slow sequential pattern of ``tests._durable_helpers`` (Researcher 0.2 s, Writer
5 s, Editor 0.2 s; every model call logged as it starts and as it completes, by process):

* ``race``: 2, 4 and 8 processes start the same thread at the same moment (released together
  through ``AP_GO_FILE``): one must finish it, the others be refused (``ThreadBusyError``).
* ``frozen``: the holder is frozen (SIGSTOP) inside the Writer's model call for 3.5 s, past
  a 2 s lease; another process takes the thread over and finishes it; then the holder is
  woken (SIGCONT). It must stop with ``LeaseLostError``, store nothing, and start no model
  call after the one it was in.
* ``ns``: the holder runs in another PID namespace with the same hostname (``unshare --pid
  --fork --mount-proc``, needs root): a taker in this namespace must be refused while the
  holder's heartbeat is fresh (its pid means nothing here).

Printed: a Markdown table (bench/README.md, "Races"). Columns: steps stored twice (agents in
more than one step of ``Runner.history``), model calls repeated (completed calls beyond one
per agent), calls started after the lease was lost (frozen holder only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _helper(*args: str, env: dict[str, str] | None = None,
            prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen([*prefix, sys.executable, "-m", "tests._durable_helpers", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, **(env or {})})


def _last(out: str) -> dict[str, Any]:
    lines = out.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": "no output"}


def _steps_twice(url: str, thread: str) -> int:
    from agentpatterns import Runner

    agents = Counter(a for s in Runner.history(thread, checkpointer=url) for a in s.agents)
    return sum(n - 1 for n in agents.values() if n > 1)


def _calls(log: Path, event: str) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for line in log.read_text().splitlines() if log.exists() else ():
        kind, agent, pid = line.split("\t")
        if kind == event:
            out[(agent, pid)] += 1
    return out


def _repeated(log: Path) -> int:
    by_agent: Counter[str] = Counter()
    for (agent, _pid), n in _calls(log, "done").items():
        by_agent[agent] += n
    return sum(n - 1 for n in by_agent.values() if n > 1)


def _wait_for(log: Path, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{text!r} never appeared in {log}")
        time.sleep(0.05)


def race(n: int, trials: int) -> dict[str, Any]:
    """``n`` processes start the same thread together, ``trials`` times."""
    wins = busy = twice = repeated = 0
    for _ in range(trials):
        d = Path(tempfile.mkdtemp())
        url, log, go = f"sqlite:///{d / 'r.db'}", d / "calls.log", d / "go"
        procs = [_helper("run", "sequential", url, "t", str(log), env={"AP_GO_FILE": str(go)})
                 for _ in range(n)]
        deadline = time.monotonic() + 120
        while len(list(d.glob("go.ready.*"))) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        go.touch()
        for p in procs:
            out, _ = p.communicate(timeout=300)
            last = _last(out)
            if "error" in last:
                busy += last["error"] == "ThreadBusyError"
            else:
                wins += 1
        twice += _steps_twice(url, "t")
        repeated += _repeated(log)
        shutil.rmtree(d, ignore_errors=True)
    return {"scenario": f"same thread, {n} racing processes", "trials": trials,
            "processes": n * trials, "finished": wins, "refused": f"{busy} busy",
            "steps stored twice": twice, "model calls repeated": repeated,
            "calls started after losing the lease": "-"}


def frozen(trials: int) -> dict[str, Any]:
    """A holder frozen past its lease, taken over, then woken."""
    stopped = twice = repeated = started_after = finished = 0
    for _ in range(trials):
        d = Path(tempfile.mkdtemp())
        url, log = f"sqlite:///{d / 'r.db'}", d / "calls.log"
        env = {"AGENTPATTERNS_LEASE_TTL": "2"}
        holder = _helper("run", "sequential", url, "t", str(log), env=env)
        try:
            _wait_for(log, "start\tWriter")  # inside the Writer's 5 s model call
            holder.send_signal(signal.SIGSTOP)
            time.sleep(3.5)
            taker = _helper("resume", "sequential", url, "t", str(log), "--fast", env=env)
            out, _ = taker.communicate(timeout=300)
            finished += "error" not in _last(out)
        finally:
            holder.send_signal(signal.SIGCONT)
        out, _ = holder.communicate(timeout=300)
        stopped += _last(out).get("error") == "LeaseLostError"
        twice += _steps_twice(url, "t")
        # model calls the woken holder started after the one it was frozen in (Writer)
        mine = {agent: n for (agent, pid), n in _calls(log, "start").items()
                if pid == str(holder.pid)}
        started_after += sum(n for agent, n in mine.items() if agent not in ("Researcher",
                                                                            "Writer"))
        repeated += max(0, _repeated(log) - 1)  # the call it was frozen in is redone by the taker
        shutil.rmtree(d, ignore_errors=True)
    return {"scenario": "holder frozen (SIGSTOP 3.5 s > 2 s TTL), taken over, then SIGCONT",
            "trials": trials, "processes": 2 * trials, "finished": f"{finished} (the takers)",
            "refused": f"{stopped} holders stopped by LeaseLostError",
            "steps stored twice": twice,
            "model calls repeated": f"{repeated} (besides the frozen call)",
            "calls started after losing the lease": started_after}


def namespace(trials: int) -> dict[str, Any]:
    """A holder in another PID namespace is not taken over while it beats."""
    from agentpatterns.errors import ThreadBusyError
    from agentpatterns.run.locks import thread_lock
    from agentpatterns.storage import open_checkpointer

    refused = twice = repeated = finished = 0
    for _ in range(trials):
        d = Path(tempfile.mkdtemp())
        url, log = f"sqlite:///{d / 'r.db'}", d / "calls.log"
        holder = _helper("run", "sequential", url, "t", str(log),
                         prefix=("unshare", "--pid", "--fork", "--mount-proc"))
        _wait_for(log, "start\tWriter")
        with open_checkpointer(url) as saver:
            try:
                with thread_lock(saver, "t"):
                    pass
            except ThreadBusyError:
                refused += 1
        out, _ = holder.communicate(timeout=300)
        finished += "error" not in _last(out)
        twice += _steps_twice(url, "t")
        repeated += _repeated(log)
        shutil.rmtree(d, ignore_errors=True)
    return {"scenario": "holder in another PID namespace, same hostname", "trials": trials,
            "processes": 2 * trials, "finished": f"{finished} (the holders)",
            "refused": f"{refused} takers refused busy", "steps stored twice": twice,
            "model calls repeated": repeated, "calls started after losing the lease": "-"}


def _table(rows: list[dict[str, Any]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--scenarios", nargs="*", default=["race", "frozen", "ns"],
                        choices=["race", "frozen", "ns"])
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    if "race" in args.scenarios:
        rows += [race(n, args.trials) for n in (2, 4, 8)]
    if "frozen" in args.scenarios:
        rows.append(frozen(args.trials))
    if "ns" in args.scenarios:
        probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                               capture_output=True) if shutil.which("unshare") else None
        if probe is None or probe.returncode != 0:
            print("(ns skipped: unshare --pid is not permitted here)", file=sys.stderr)
        else:
            rows.append(namespace(args.trials))
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
