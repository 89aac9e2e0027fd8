"""Crash campaign on the SDK runtime: SIGKILL ``run_sdk`` runs at random moments, resume them.

    .venv/bin/python bench/crash_campaign_sdk.py [--sqlite-kills 100] [--pg-kills 40] [--seed 1]
        [--latency 0.02] [--pg-url postgresql://...]   # default: a throwaway cluster
        [--window-trials 0]
    .venv/bin/python bench/crash_campaign.py --runtime sdk ...   # the same

The nine patterns of ``tests._sdk_crash`` (triage with two tools, sequential, agents as
tools, supervisor, reflection, parallel with a tool per branch, dynamic, memory, human
approval) and two triages whose handoff has an ``on_handoff`` and an ``input_filter`` (ours,
the SDK's) and whose specialist has an SDK tool, their models and tools logging every
*completed* call. Each trial takes one
thread to ``done``: a worker process (forked after the imports) runs it with ``run_sdk``
(durable: ``checkpointer=`` the database), resumes it with ``resume_sdk`` when the store
says ``running`` (a killed run), or approves it when it waits; the campaign SIGKILLs the
worker at a random moment (at most two kills per trial), then starts another one.

Counted per backend, against an uninterrupted run of the same pattern:

* **runs lost**: trials not ``done`` with the uninterrupted run's final output and path;
* **steps duplicated**: agents in the final path beyond the uninterrupted run's;
* **model calls repeated** / **tool calls repeated**: completed calls (per agent / per tool
  and argument) logged more often than in the uninterrupted run;
* **repeats in the window**: repeats where a killed worker's last logged line was that very
  call completing (killed between the call returning and its journal record committing);
* **tool repeats with one key**: repeated tool calls whose every run had the same
  ``idempotency_key()`` (the tools log it: a service honouring the key acted once).

``--window-trials N``: then N more trials (a row of their own) whose first worker dies
exactly in a random tool's effect-to-record window (``AP_KILL=record:TOOL``): each makes that
call again - counted in the window and, when the re-run had the same key, with one key.

Exit code 1 when a run is lost, a step duplicated, or a call repeated outside the window.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import crash_campaign as lg  # noqa: E402  (bench/ is on sys.path now)

from tests import _sdk_crash  # noqa: E402

__all__ = ["campaign", "main"]


def _state(url: str, thread: str) -> dict[str, Any] | None:
    from agentpatterns._sync import block_on
    from agentpatterns.adapters.openai_agents.store import load

    return block_on(load(url, thread))


def _phase(pattern: str, url: str, thread: str, log: str, armed: str = "") -> dict[str, Any]:
    """One worker's part: start, resume or approve the thread's run (``armed``: an
    ``AP_KILL`` point of ``tests._sdk_crash`` this worker dies at)."""
    from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_sync
    from agentpatterns.errors import ThreadBusyError

    if armed:  # (in the forked worker only)
        os.environ["AP_KILL"] = armed
        _sdk_crash._arm_record_kill()

    saved = _state(url, thread)
    status = (saved or {}).get("status")
    built = _sdk_crash.build(pattern, log)
    try:
        if status is None:
            result = run_sdk_sync(built, _sdk_crash.REQUESTS[pattern], thread_id=thread,
                                  checkpointer=url)
        elif status == "running":
            result = resume_sdk_sync(built, thread_id=thread, checkpointer=url)
        elif status == "waiting":
            result = resume_sdk_sync(built, thread_id=thread, checkpointer=url, decision=True)
        else:
            return {"status": status}
    except ThreadBusyError:  # the killed worker's lease is not released yet: try again
        return {"busy": True}
    return {"status": "waiting" if result.interrupted else "done", "path": result.path,
            "final_output": str(result.final_output)}


def _killed_last(log: str, killed: set[str]) -> Counter[str]:
    """What each killed worker logged last: ``done\\tAGENT`` / ``tool\\tNAME``."""
    last: dict[str, str] = {}
    path = Path(log)
    for line in path.read_text().splitlines() if path.exists() else ():
        event, what, pid = line.split("\t")[:3]
        if pid in killed:
            last[pid] = f"{event}\t{what}"
    return Counter(last.values())


def trial(tally: Any, pattern: str, url: str, thread: str, work: Path, rng: random.Random,
          base: dict[str, Any], duration: float, window: str = "") -> None:
    """Take one thread to done, SIGKILLing up to two workers at random moments (``window``:
    the first worker instead dies exactly in that tool's effect-to-record window, and no
    other is killed)."""
    log = str(work / f"{thread}.log")
    out = work / f"{thread}.json"
    kills, killed = 0, set()
    result: dict[str, Any] = {}
    for _ in range(40):
        tally.phases += 1
        out.unlink(missing_ok=True)
        armed = f"record:{window}" if window and not killed else ""
        pid = lg._fork(lambda a=armed: _phase(pattern, url, thread, log, a), out)
        if window:
            lg._reap(pid)
            if armed and not out.exists():  # it died where it was armed to
                killed.add(str(pid))
                kills += 1
                tally.kills += 1
                continue
        elif kills < 2 and rng.random() < 0.9:
            time.sleep(rng.uniform(0.0, duration))
            if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running: a real kill
                os.kill(pid, signal.SIGKILL)
                lg._reap(pid)
                killed.add(str(pid))
                kills += 1
                tally.kills += 1
                continue
        else:
            lg._reap(pid)
        result = json.loads(out.read_text()) if out.exists() else {"error": "no result"}
        if result.get("busy"):
            time.sleep(0.2)
            continue
        if "error" in result:
            tally.problems.append(f"{thread}: {result['error']}")
            break
        if result.get("status") == "done":
            break
    tally.trials += 1
    tally.by_pattern[pattern] += kills
    if result.get("status") != "done" or result.get("final_output") != base["final_output"] \
            or result.get("path") != base["path"]:
        # (a run finished by an earlier worker reports only its status: read it back)
        saved = _state(url, thread) or {}
        if saved.get("status") != "done" or saved.get("path") != base["path"]:
            tally.lost += 1
            tally.problems.append(f"{thread}: lost ({result}; store {saved.get('status')})")
    extra = Counter(result.get("path") or []) - Counter(base["path"])
    tally.duplicated_steps += sum(extra.values())
    lines = _sdk_crash.log_lines(log)
    tally.same_key += _sdk_crash.repeated_with_one_key(log)
    last = _killed_last(log, killed)
    for event, kind in (("done", "model"), ("tool", "tool")):
        for what, n in lines[event].items():
            over = n - base["lines"][event].get(what, 0)
            if over <= 0:
                continue
            if kind == "model":
                tally.repeated_models += over
            else:
                tally.repeated_tools += over
            windowed = min(over, last.get(f"{event}\t{what}", 0))
            tally.window += windowed
            tally.other += over - windowed
            tally.problems.append(f"{thread}: {kind} {what!r} made {n}x (uninterrupted "
                                  f"{base['lines'][event].get(what, 0)}x), {windowed} in the "
                                  f"window; killed workers' last lines {dict(last)}")


def campaign(backend: str, url: str, kills: int, *, seed: int, work: Path,
             window: int = 0) -> list[Any]:
    """Trials round-robin over the patterns until ``kills`` workers were killed; then
    ``window`` trials each killed once in a random tool's effect-to-record window (a
    tally of their own)."""
    rng = random.Random(seed)
    tally = lg.Tally(backend=backend)
    bases: dict[str, dict[str, Any]] = {}
    durations: dict[str, float] = {}
    for pattern in _sdk_crash.CAMPAIGN:  # an uninterrupted run of each, timed
        thread = f"base-{backend}-{pattern}"
        log = str(work / f"{thread}.log")
        t0 = time.monotonic()
        for _ in range(3):  # start, then approve (human approval)
            pid = lg._fork(lambda p=pattern, t=thread, g=log: _phase(p, url, t, g),
                           work / "base.json")
            lg._reap(pid)
            done = json.loads((work / "base.json").read_text())
            if done.get("status") == "done":
                break
        durations[pattern] = time.monotonic() - t0
        bases[pattern] = {**done, "lines": _sdk_crash.log_lines(log)}
    i = 0
    while tally.kills < kills:
        pattern = _sdk_crash.CAMPAIGN[i % len(_sdk_crash.CAMPAIGN)]
        trial(tally, pattern, url, f"{backend}-{pattern}-{seed}-{i}", work, rng,
              bases[pattern], durations[pattern])
        i += 1
    if not window:
        return [tally]
    # each of these trials' first worker dies right after a tool's effect, before its
    # record: the resume makes that call again (the window), with the same idempotency key
    windowed = lg.Tally(backend=f"{backend}, killed in the window")
    tools = [(p, call.split(":", 1)[0]) for p in _sdk_crash.CAMPAIGN
             for call in sorted(bases[p]["lines"]["tool"])]
    for i in range(window):
        pattern, tool = tools[rng.randrange(len(tools))]
        trial(windowed, pattern, url, f"{backend}-window-{pattern}-{seed}-{i}", work, rng,
              bases[pattern], durations[pattern], window=tool)
    return [tally, windowed]


def main(argv: list[str] | None = None) -> int:
    from crash_campaign import options  # the same options as the LangGraph campaign

    argv = list(sys.argv[1:] if argv is None else argv)
    window = 0
    if "--window-trials" in argv:  # (an option of this campaign only)
        at = argv.index("--window-trials")
        window = int(argv[at + 1])
        del argv[at:at + 2]
    args = options(__doc__, argv)
    _sdk_crash._LATENCY = args.latency
    import agentpatterns.adapters.openai_agents  # noqa: F401  (imported before the forks)

    tallies = []
    with tempfile.TemporaryDirectory(prefix="crash-campaign-sdk-") as tmp:
        work = Path(tmp)
        if args.sqlite_kills:
            tallies += campaign("sqlite", f"sqlite:///{work / 'runs.db'}",
                                args.sqlite_kills, seed=args.seed, work=work, window=window)
        if args.pg_kills:
            with lg._postgres(args.pg_url) as url:
                if url:
                    tallies += campaign("postgres", url, args.pg_kills, seed=args.seed,
                                        work=work, window=window)
    print(lg.table(tallies))
    for t in tallies:
        print(f"{t.backend}: kills per pattern {dict(t.by_pattern)}, {t.phases} worker "
              "processes")
        for problem in t.problems[:20]:
            print(f"  {problem}")
    return 0 if all(t.clean() for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
