"""1000 concurrent runs of the triage example on ``agents.Runner``, 50 ms simulated model.

Compares :func:`agentpatterns.adapters.openai_agents.run_sdk` (fresh SDK agents per run,
cheap copies of cached templates) with plain ``agents.Runner.run`` calls that all share one
``agents.Agent`` network: the OpenAI Agents SDK keeps every active run of an agent in one
list and scans it on each registration and tool snapshot, so N concurrent runs sharing one
agent cost O(N^2).

Run: ``.venv/bin/python bench/bench_sdk_concurrency.py [--runs 1000] [--latency 0.05]``
(``runs / 4`` and ``runs`` concurrent runs each way; about 40 s on two idle cores).
Both sides use the same model object (``OfflineModel(latency=...)`` through the bridge) and
make the same two model calls per run, so the difference is the runner's own overhead.
Wall time and this process's CPU time are printed; the rest of the wall time is the
simulated model latency and, on a busy machine, other processes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agents import RunConfig, Runner

from agentpatterns import OfflineModel
from agentpatterns.adapters.openai_agents import run_sdk, to_sdk_agent
from agentpatterns.examples import EXAMPLES


async def _timed(runs: int, one: Callable[[], Awaitable[Any]]) -> tuple[float, float, list[Any]]:
    gc.collect()  # each measurement starts without the previous one's garbage
    wall, cpu = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*(one() for _ in range(runs)))
    return time.perf_counter() - wall, time.process_time() - cpu, results


async def main(runs: int, latency: float) -> None:
    """Print wall and CPU times for both ways, at ``runs / 4`` and ``runs`` runs."""
    builder, request = EXAMPLES["triage"]
    pattern = builder()
    model = OfflineModel(latency=latency)
    shared = to_sdk_agent(pattern, model=model)  # one agents.Agent network for every run
    config = RunConfig(tracing_disabled=True)

    def ours() -> Awaitable[Any]:
        return run_sdk(pattern, request, model=model)

    def plain() -> Awaitable[Any]:
        return Runner.run(shared, request, run_config=config)

    await _timed(10, ours)  # warm up imports and caches
    await _timed(10, plain)
    print(f"triage example, {latency * 1000:.0f} ms per model call, 2 calls per run "
          f"(no run can finish faster than {2 * latency * 1000:.0f} ms)")
    print(f"{'runs':>6}  {'run_sdk, fresh agents':>24}  {'Runner.run, shared agent':>26}")
    for n in sorted({max(1, runs // 4), runs}):
        wall_a, cpu_a, done = await _timed(n, ours)
        assert all(r.path == ["Triage Agent", "Booking Agent"] for r in done)
        wall_b, cpu_b, done = await _timed(n, plain)
        assert all(r.last_agent.name == "Booking Agent" for r in done)
        print(f"{n:>6}  {wall_a:>7.2f} s wall {cpu_a:>6.2f} s cpu  "
              f"{wall_b:>9.2f} s wall {cpu_b:>6.2f} s cpu")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency))
