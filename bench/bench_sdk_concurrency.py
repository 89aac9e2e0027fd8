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


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for ``bench/run.py``: sequential overhead at 0 ms, and N concurrent runs at 50 ms.

    * ``run_sdk`` vs ``agents.Runner.run`` on equivalent SDK agents (built once with
      ``to_sdk_agent``, the same bridged offline model, the same two model calls): process
      CPU per run, one run at a time (target <= 1.05x).
    * N concurrent runs at 50 ms: ``run_sdk`` wall time (target <= 2.5 s at N = 1000), with
      the shared-``agents.Agent`` plain runs for comparison.
    """
    import gc

    from _util import Row, median

    builder, request = EXAMPLES["triage"]
    pattern = builder()
    fast = OfflineModel()
    shared = to_sdk_agent(pattern, model=fast)
    config = RunConfig(tracing_disabled=True)

    async def ours() -> Any:
        return await run_sdk(pattern, request, model=fast)

    async def plain() -> Any:
        return await Runner.run(shared, request, run_config=config)

    cpu: dict[str, list[float]] = {"ours": [], "plain": []}
    for _ in range(5 if quick else 11):
        for name, fn in (("ours", ours), ("plain", plain)):
            gc.collect()
            c0 = time.process_time()
            asyncio.run(_repeat(fn, 20))
            cpu[name].append((time.process_time() - c0) / 20)
    ratio = median([a / b for a, b in zip(cpu["ours"], cpu["plain"], strict=True)])
    rows: list[dict[str, Any]] = [Row(
        "SDK: run_sdk vs agents.Runner.run (triage, 0 ms)", ratio=ratio, target=1.05,
        baseline=f"{median(cpu['plain']) * 1000:.2f} ms CPU per run",
        ours=f"{median(cpu['ours']) * 1000:.2f} ms CPU per run", ratio_of="ours / plain SDK",
        summary="same SDK agents and bridged offline model; run_sdk also builds the RunResult "
                "(path, calls, usage) and copies the agents per run")]
    slow = OfflineModel(latency=0.05)
    shared_slow = to_sdk_agent(pattern, model=slow)
    for n in ((100,) if quick else (100, 1000)):
        async def both(n: int = n) -> tuple[float, float]:
            wall_a, _, _ = await _timed(n, lambda: run_sdk(pattern, request, model=slow))
            wall_b, _, _ = await _timed(
                n, lambda: Runner.run(shared_slow, request, run_config=config))
            return wall_a, wall_b

        wall_ours, wall_plain = asyncio.run(both())
        rows.append(Row(
            f"SDK: {n} concurrent triage runs (50 ms)", ratio=wall_ours,
            target=2.5 if n == 1000 else None, ratio_of="seconds (run_sdk, fresh agents)",
            baseline=f"plain Runner.run sharing one Agent {wall_plain:.2f} s",
            ours=f"run_sdk {wall_ours:.2f} s",
            summary="ideal is 0.10 s (two 50 ms calls); the rest is per-run CPU on 2 cores"))
    return rows


async def _repeat(fn: Callable[[], Awaitable[Any]], n: int) -> None:
    for _ in range(n):
        await fn()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency))
