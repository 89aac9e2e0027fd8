"""Many runs at once: ``asyncio.gather`` of N triage runs at 50 ms model latency.

* ``ours``: ``Runner.run(triage, input, checkpointer=saver, model=m)`` N times, gathered.
* ``hand``: the hand-written triage graph's ``ainvoke`` N times, gathered.

Each side has its own ``InMemorySaver``; it is emptied after each batch (untimed).
The ideal is one run's latency, 2 model calls = 100 ms, whatever N is; with N in the
hundreds the CPU work of N runs on one event loop dominates.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import uuid
from typing import Any

from _util import Row, median, ms, reset_memory_saver
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from shapes import TRIAGE_REQUEST, triage_graph, triage_pattern

from agentpatterns import OfflineModel, Runner

LATENCY = 0.05
TARGET = 1.15


async def _measure(n: int, reps: int, model: Any) -> dict[str, list[float]]:
    pattern = triage_pattern()
    ours_saver, hand_saver = InMemorySaver(), InMemorySaver()
    hand = triage_graph(model, aio=True).compile(checkpointer=hand_saver)

    async def ours() -> list[str]:
        threads = [uuid.uuid4().hex for _ in range(n)]
        results = await asyncio.gather(*(
            Runner.run(pattern, TRIAGE_REQUEST, thread_id=t, checkpointer=ours_saver,
                       model=model) for t in threads))
        assert all(r.last_agent == "Booking Agent" for r in results)
        return threads

    async def handwritten() -> list[str]:
        threads = [uuid.uuid4().hex for _ in range(n)]
        outs = await asyncio.gather(*(
            hand.ainvoke({"messages": [HumanMessage(TRIAGE_REQUEST)]},
                         {"configurable": {"thread_id": t}}) for t in threads))
        assert all(len(o["messages"]) == 4 for o in outs)
        return threads

    async def _gather_warm(fn: Any, name: str, saver: Any) -> None:
        nonlocal n
        full, n = n, max(10, n // 10)
        try:
            await fn()
        finally:
            n = full
            reset_memory_saver(saver)

    variants = {"ours": ours, "hand": handwritten}
    savers = {"ours": ours_saver, "hand": hand_saver}
    times: dict[str, list[float]] = {"ours": [], "hand": []}
    for name, fn in variants.items():  # warm up on a tenth of the load
        await _gather_warm(fn, name, savers[name])
    rng = random.Random(n)
    for _ in range(reps):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            gc.collect()
            t0 = time.perf_counter()
            await variants[name]()
            times[name].append(time.perf_counter() - t0)
            reset_memory_saver(savers[name])
    return times


def run(quick: bool = False, ns: list[int] | None = None) -> list[Row]:
    ns = ns or ([100] if quick else [100, 1000])
    model = OfflineModel(latency=LATENCY)
    rows = []
    for n in ns:
        reps = (3 if quick else 7) if n <= 100 else 2
        times = asyncio.run(_measure(n, reps, model))
        ratios = [a / b for a, b in zip(times["ours"], times["hand"], strict=True)]
        ours, hand = median(times["ours"]), median(times["hand"])
        rows.append(Row(
            f"{n} concurrent triage runs (50 ms model)", ratio=median(ratios), target=TARGET,
            baseline="hand-written triage graph, asyncio.gather of N ainvoke",
            ours="asyncio.gather of N Runner.run(triage, checkpointer=InMemorySaver())",
            summary=f"ours {ours * 1e3:.0f} ms vs hand {hand * 1e3:.0f} ms for {n} runs "
                    f"({ours / n * 1e3:.2f} vs {hand / n * 1e3:.2f} ms/run)",
            detail={"ours_ms": ms(ours), "hand_ms": ms(hand), "ideal_ms": ms(2 * LATENCY),
                    "ours_ms_per_run": ms(ours / n), "hand_ms_per_run": ms(hand / n),
                    "reps": reps}))
    return rows
