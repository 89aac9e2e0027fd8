"""What crash durability costs per run on the SDK runtime (issue 12), in one process.

Run: ``.venv/bin/python bench/bench_sdk_durable.py [--runs 40] [--rounds 5] [--pattern triage]``
(``BENCH_PG_URL=postgresql://...`` adds a PostgreSQL row).

Each round times ``--runs`` sequential runs of a built-in example (offline model, no
latency, so the runner's own work is all there is) each way, the ways interleaved round by
round so load changes hit them alike; the median round is reported, per run:

* ``Runner.run``: plain ``agents.Runner.run`` on the pattern's SDK agents (``to_sdk_agent``)
  - handoff networks only;
* ``run_sdk, memory``: ``run_sdk`` with no database (not journaled);
* ``run_sdk, SQLite, no store``: the same file for the conversation, a memory store: not
  journaled (what the SQLite row cost before durability);
* ``run_sdk, SQLite``: ``run_sdk(checkpointer="sqlite:///...")`` - durable: the thread's
  lease, the running marker, one journal row per model and tool call, the final marker, the
  rows deleted (and, for handoff networks, the conversation in the thread's checkpoints,
  which the memory row keeps in process memory);
* ``run_sdk, PostgreSQL`` (with ``BENCH_PG_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agents import RunConfig, Runner

from agentpatterns import OfflineModel
from agentpatterns.adapters.openai_agents import run_sdk, to_sdk_agent
from agentpatterns.adapters.openai_agents.run import NETWORK_KINDS
from agentpatterns.examples import EXAMPLES


async def _round(runs: int, one: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        await one()
    return (time.perf_counter() - start) / runs * 1000


async def main(runs: int, rounds: int, pattern_name: str) -> None:
    """Print ms per run for each way and the ratios."""
    builder, request = EXAMPLES[pattern_name]
    pattern = builder()
    model = OfflineModel()
    folder = Path(tempfile.mkdtemp(prefix="bench-sdk-durable-"))
    sqlite_url = f"sqlite:///{folder / 'runs.db'}"
    ways: dict[str, Callable[[], Awaitable[Any]]] = {}
    if pattern.kind in NETWORK_KINDS:
        shared = to_sdk_agent(pattern, model=model)
        config = RunConfig(tracing_disabled=True)
        ways["Runner.run"] = lambda: Runner.run(shared, request, run_config=config)
    ways["run_sdk, memory"] = lambda: run_sdk(pattern, request, model=model,
                                              thread_id=uuid.uuid4().hex,
                                              checkpointer=f"memory://{uuid.uuid4().hex}")
    ways["run_sdk, SQLite, no store"] = lambda: run_sdk(
        pattern, request, model=model, thread_id=uuid.uuid4().hex, checkpointer=sqlite_url,
        store=f"memory://{uuid.uuid4().hex}")
    ways["run_sdk, SQLite"] = lambda: run_sdk(pattern, request, model=model,
                                              thread_id=uuid.uuid4().hex,
                                              checkpointer=sqlite_url)
    pg = os.environ.get("BENCH_PG_URL")
    if pg:
        ways["run_sdk, PostgreSQL"] = lambda: run_sdk(pattern, request, model=model,
                                                      thread_id=uuid.uuid4().hex,
                                                      checkpointer=pg)
    for one in ways.values():  # warm up imports, caches, tables
        await _round(3, one)
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, one in ways.items():
            times[name].append(await _round(runs, one))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"{pattern_name} example, offline model, {runs} runs x {rounds} rounds "
          f"(median round), load {os.getloadavg()[0]:.1f}")
    base = med["run_sdk, memory"]
    plain = med.get("Runner.run")
    for name, ms in med.items():
        extra = f"  {ms / base:5.2f}x run_sdk memory"
        if plain:
            extra += f"  {ms / plain:5.2f}x Runner.run"
        print(f"  {name:<22} {ms:8.2f} ms/run{extra}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pattern", default="triage", choices=sorted(EXAMPLES))
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.rounds, args.pattern))
