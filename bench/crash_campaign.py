"""Crash campaign: SIGKILL runs at random moments, resume them, count what was lost or repeated.

    .venv/bin/python bench/crash_campaign.py [--sqlite-kills 100] [--pg-kills 40] [--seed 1]
        [--pg-url postgresql://...]   # default: a throwaway cluster (tests/_postgres.py)
        [--runtime langgraph|sdk]     # sdk: run_sdk runs instead (bench/crash_campaign_sdk.py)
        [--no-effect-log]             # runs keep no write-ahead effect log (to compare)

Five patterns (``tests._crash``: sequential with tools, parallel fan-out with tools, human
approval, agents as tools, triage handing off to an agent with two tools), their model and
tools logging every *completed* call to a side file. Each trial takes one thread from start
to ``done``: a worker process starts (or resumes, or approves) it; the campaign SIGKILLs the
worker at a random moment of its phase (at most ``--kills-per-trial`` times per trial, with
probability ``--kill-rate`` per phase), then starts another worker, until the thread is done.
Workers are forked from this process after the imports, so a kill lands in the run itself,
not in interpreter start-up.

Counted per backend:

* **kills**: SIGKILLs that hit a live worker.
* **runs lost**: trials whose thread is not ``done`` with the expected final output.
* **steps duplicated**: agent steps in the thread's final ``path`` beyond the expected ones.
* **model calls repeated** / **tool calls repeated**: completed calls (by agent and reply
  number / by tool and argument) logged more than once across all the trial's processes.
* **repeats in the window**: repeats whose earlier run's worker was killed after the call
  returned and before its record was safe - written to the run's write-ahead effect log
  (``agentpatterns.storage.effect_log``), or inserted in the journal
  (``tests._crash.classify``: the earlier run's record is logged neither as written nor as
  inserted, both runs had the same effect key and the re-running worker read back no entry
  for it). Every other repeat is a journal failure.
* **window**: how long that window is open, measured on every call of the campaign (from
  the call completing to its record being written to the effect log, else inserted;
  median, 99th percentile, max). ``--no-effect-log`` runs without the log, to compare.
* **tool repeats with one key**: repeated tool calls whose every run saw the same
  ``idempotency_key()``, which a service honouring the key turns into one effect.

Exit code 1 when a run is lost, a step duplicated, or a call repeated outside the window. A
trial with any repeat prints its call log (every call, read-back and record, by worker).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import _crash  # noqa: E402  (the repository root is on sys.path now)

EXPECTED = {"sequential": (["Researcher", "Writer", "Editor"], "published (Editor, reply 1)"),
            "parallel": (["Reader 1", "Reader 2", "Reader 3", "Synthesizer"],
                         "synthesis (Synthesizer, reply 0)"),
            "approval": (["Planner", "Executor"], "migrated (Executor, reply 2)"),
            "tools": (["Organizer", "Venue Finder"], "dinner planned (Organizer, reply 2)"),
            "triage": (["Triage Agent", "Booking Agent"], "booked (Booking Agent, reply 2)")}


@dataclass
class Tally:
    """One backend's counts."""

    backend: str
    trials: int = 0
    kills: int = 0
    phases: int = 0
    lost: int = 0
    duplicated_steps: int = 0
    repeated_models: int = 0
    repeated_tools: int = 0
    same_key: int = 0
    window: int = 0
    other: int = 0
    spans: dict[str, list[float]] = field(default_factory=dict)
    by_pattern: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        # a repeat in the effect-to-record window is reported, not a failure (no journal can
        # close it; tools get an idempotency key for it)
        return not (self.lost or self.duplicated_steps or self.other)


def _fork(fn: Any, out: Path) -> int:
    """Run ``fn()`` in a forked child that writes its JSON result to ``out``."""
    pid = os.fork()
    if pid == 0:  # the worker
        code = 0
        try:
            out.write_text(json.dumps(fn(), default=str))
        except BaseException as exc:  # reported to the campaign, which counts it
            out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
            code = 1
        finally:
            os._exit(code)
    return pid


def _reap(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return status


def _check(pattern: str, url: str, thread: str, log: str) -> dict[str, Any]:
    """The thread's final status, path and output (run in a forked child)."""
    from agentpatterns.storage import open_checkpointer

    with open_checkpointer(url) as saver:
        graph = _crash.build(pattern, log).compile(checkpointer=saver)
        status = _crash.thread_status(saver, graph, thread)
        values = graph.get_state({"configurable": {"thread_id": thread}}).values or {}
    return {"status": status, "path": values.get("path") or [],
            "final_output": values.get("final_output")}


def _phase(pattern: str, url: str, thread: str, log: str, latency: float) -> dict[str, Any]:
    from agentpatterns.errors import ThreadBusyError

    try:
        return _crash.phase(pattern, url, thread, log, latency=latency)
    except ThreadBusyError:  # the killed worker's lock is not released yet: try again
        return {"busy": True}


def trial(tally: Tally, pattern: str, url: str, thread: str, work: Path, rng: random.Random,
          *, latency: float, duration: float, kill_rate: float, kills_per_trial: int) -> None:
    log = str(work / f"{thread}.log")
    out = work / f"{thread}.json"
    kills = 0
    killed: set[str] = set()
    for _ in range(40):
        tally.phases += 1
        out.unlink(missing_ok=True)
        pid = _fork(lambda: _phase(pattern, url, thread, log, latency), out)
        reaped = False
        if kills < kills_per_trial and rng.random() < kill_rate:
            time.sleep(rng.uniform(0.0, duration))
            reaped = os.waitpid(pid, os.WNOHANG) != (0, 0)
            if not reaped:  # still running: a real kill
                os.kill(pid, signal.SIGKILL)
                killed.add(str(pid))
                kills += 1
                tally.kills += 1
                _reap(pid)
                continue
        if not reaped:
            _reap(pid)
        result = json.loads(out.read_text()) if out.exists() else {"error": "no result"}
        if result.get("busy"):
            time.sleep(0.2)
            continue
        if "error" in result:
            tally.problems.append(f"{thread}: {result['error']}")
            break
        if result.get("status") == "done" or not result.get("interrupted"):
            break  # finished (an interrupted run is approved by the next phase)
    pid = _fork(lambda: _check(pattern, url, thread, log), out)
    _reap(pid)
    final = json.loads(out.read_text())
    path, output = EXPECTED[pattern]
    tally.trials += 1
    tally.by_pattern[pattern] += kills
    if final.get("status") != "done" or final.get("final_output") != output:
        tally.lost += 1
        tally.problems.append(f"{thread}: lost ({final})")
    extra = Counter(final.get("path") or []) - Counter(path)
    tally.duplicated_steps += sum(extra.values())
    models, tools = _crash.repeats(log)
    tally.repeated_models += models
    tally.repeated_tools += tools
    tally.same_key += _crash.repeated_with_one_key(log)
    found = _crash.classify(log, killed)
    tally.window += sum(found.window)
    tally.other += len(found.other)
    for kind, spans in found.spans.items():
        tally.spans.setdefault(kind, []).extend(spans)
    if models or tools or extra:
        tally.problems.append(
            f"{thread}: repeated {_crash.counts(log)}; extra steps {extra}; in the window "
            f"{found.window}; other {found.other}; killed workers {sorted(killed)}; log:\n"
            + Path(log).read_text())


def campaign(backend: str, url: str, kills: int, *, seed: int, work: Path,
             latency: float = 0.02, kill_rate: float = 0.9,
             kills_per_trial: int = 2) -> Tally:
    """Trials round-robin over the five patterns until ``kills`` workers were killed."""
    rng = random.Random(seed)
    tally = Tally(backend=backend)
    # how long one phase takes, per pattern, measured once without kills
    durations: dict[str, float] = {}
    for pattern in _crash.PATTERNS:
        t0 = time.monotonic()
        probe = f"probe-{backend}-{pattern}"
        pid = _fork(lambda p=pattern, t=probe: _crash.phase(p, url, t, str(work / f"{t}.log"),
                                                          latency=latency), work / "probe.json")
        _reap(pid)
        durations[pattern] = time.monotonic() - t0
    i = 0
    while tally.kills < kills:
        pattern = _crash.PATTERNS[i % len(_crash.PATTERNS)]
        trial(tally, pattern, url, f"{backend}-{pattern}-{seed}-{i}", work, rng, latency=latency,
              duration=durations[pattern], kill_rate=kill_rate, kills_per_trial=kills_per_trial)
        i += 1
    return tally


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str | None]:
    if url:
        yield url
        return
    try:
        from tests import _postgres as pg

        with contextlib.contextmanager(pg.postgres_url.__wrapped__)() as server:
            yield server
    except BaseException as exc:  # no binaries: say so, run SQLite only
        if isinstance(exc, KeyboardInterrupt):
            raise
        print(f"PostgreSQL unavailable ({type(exc).__name__}: {exc}); SQLite only",
              file=sys.stderr)
        yield None


def table(tallies: list[Tally]) -> str:
    head = ("| backend | trials | kills | runs lost | steps duplicated | model calls repeated "
            "| tool calls repeated | repeats in the window | tool repeats with one key |")
    rows = [head, "|---|---|---|---|---|---|---|---|---|"]
    for t in tallies:
        rows.append(f"| {t.backend} | {t.trials} | {t.kills} | {t.lost} | {t.duplicated_steps} "
                    f"| {t.repeated_models} | {t.repeated_tools} | {t.window} "
                    f"| {t.same_key} |")
    return "\n".join(rows)


def spans(tally: Tally) -> str:
    """The effect-to-record window per kind: median / 99th percentile / max, in ms."""
    out = []
    for kind in ("model", "tool"):
        values = sorted(tally.spans.get(kind, ()))
        if values:
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            out.append(f"{kind} {values[len(values) // 2] * 1000:.2f} / {p99 * 1000:.2f} / "
                       f"{values[-1] * 1000:.2f} ms ({len(values)} calls)")
    return "; ".join(out) or "-"


def options(doc: str | None, argv: list[str] | None) -> argparse.Namespace:
    """The campaign's options (both runtimes' campaigns take the same ones)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--sqlite-kills", type=int, default=100)
    parser.add_argument("--pg-kills", type=int, default=40)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.02,
                        help="seconds per model and tool call")
    parser.add_argument("--no-effect-log", action="store_true",
                        help="runs keep no write-ahead effect log (to compare: the journal's "
                        "commit alone decides)")
    args = parser.parse_args(argv)
    if args.no_effect_log:  # before the workers are forked: they inherit it
        import agentpatterns.run.locks as locks

        locks.take_over = lambda *a, **k: None  # type: ignore[assignment]
        locks.atake_over = _no_log  # type: ignore[assignment]
    return args


async def _no_log(*args: Any, **kwargs: Any) -> None:
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--runtime" in args:  # --runtime sdk: the SDK runtime's campaign (crash_campaign_sdk.py)
        at = args.index("--runtime")
        runtime = args[at + 1] if at + 1 < len(args) else ""
        del args[at:at + 2]
        if runtime == "sdk":
            from crash_campaign_sdk import main as sdk_main

            return sdk_main(args)
        if runtime != "langgraph":
            raise SystemExit("--runtime takes langgraph or sdk")
    args = options(__doc__, args)
    tallies = []
    with tempfile.TemporaryDirectory(prefix="crash-campaign-") as tmp:
        work = Path(tmp)
        if args.sqlite_kills:
            tallies.append(campaign("sqlite", f"sqlite:///{work / 'runs.db'}", args.sqlite_kills,
                                    seed=args.seed, work=work, latency=args.latency))
        if args.pg_kills:
            with _postgres(args.pg_url) as url:
                if url:
                    tallies.append(campaign("postgres", url, args.pg_kills, seed=args.seed,
                                            work=work, latency=args.latency))
    print(table(tallies))
    for t in tallies:
        print(f"{t.backend}: kills per pattern {dict(t.by_pattern)}, {t.phases} worker "
              "processes; window " + spans(t))
        for problem in t.problems[:20]:
            print(f"  {problem}")
    return 0 if all(t.clean() for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
