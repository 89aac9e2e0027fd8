"""Timing helpers shared by the benchmarks: interleaved, paired repetitions; medians."""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Row", "compare", "acompare", "median", "ms"]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


class Row(dict):
    """One line of the results table (a plain dict, so it goes straight into JSON)."""

    def __init__(self, name: str, *, ratio: float | None, target: float | None,
                 baseline: str, ours: str, detail: Mapping[str, Any] | None = None,
                 note: str = "", ratio_of: str = "ours / hand-written",
                 summary: str = "") -> None:
        ok = None if (ratio is None or target is None) else bool(ratio <= target)
        super().__init__(name=name, ratio=None if ratio is None else round(ratio, 3),
                         target=target, ok=ok, ratio_of=ratio_of, summary=summary,
                         baseline=baseline, ours=ours, detail=dict(detail or {}), note=note)


def _time_batch(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """(wall, cpu) seconds per call; cpu is the process's CPU time (all its threads)."""
    gc.collect()
    gc.disable()
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n
    finally:
        gc.enable()


def compare(variants: Mapping[str, Callable[[], Any]], *, reps: int, n: int,
            warmup: int = 2) -> dict[str, list[float]]:
    """Per-call seconds of each variant, ``reps`` interleaved batches of ``n`` calls.

    The order of the variants is shuffled in every repetition so that neither side is
    systematically first (cache warmth, CPU frequency, a noisy neighbour's burst). Returns
    wall-clock seconds under each variant's name and process CPU seconds under
    ``"<name>:cpu"``.
    """
    names = list(variants)
    for name in names:
        for _ in range(warmup):
            variants[name]()
    out: dict[str, list[float]] = {}
    for name in names:
        out[name] = []
        out[name + ":cpu"] = []
    rng = random.Random(7)
    for _ in range(reps):
        order = names[:]
        rng.shuffle(order)
        for name in order:
            wall, cpu = _time_batch(variants[name], n)
            out[name].append(wall)
            out[name + ":cpu"].append(cpu)
    return out


async def _atime_batch(fn: Callable[[], Any], n: int) -> float:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            await fn()
        return (time.perf_counter() - t0) / n
    finally:
        gc.enable()


def acompare(variants: Mapping[str, Callable[[], Any]], *, reps: int, n: int = 1,
             warmup: int = 1, gc_off: bool = True) -> dict[str, list[float]]:
    """Like :func:`compare` for coroutine functions (one event loop for everything)."""

    async def main() -> dict[str, list[float]]:
        names = list(variants)
        for name in names:
            for _ in range(warmup):
                await variants[name]()
        out: dict[str, list[float]] = {name: [] for name in names}
        rng = random.Random(7)
        for _ in range(reps):
            order = names[:]
            rng.shuffle(order)
            for name in order:
                if gc_off:
                    out[name].append(await _atime_batch(variants[name], n))
                else:
                    t0 = time.perf_counter()
                    for _ in range(n):
                        await variants[name]()
                    out[name].append((time.perf_counter() - t0) / n)
        return out

    return asyncio.run(main())


def paired_ratio(times: Mapping[str, list[float]], num: str, den: str) -> float:
    """Median of the per-repetition ratios ``num / den`` (pairs measured back to back)."""
    return median([a / b for a, b in zip(times[num], times[den], strict=True)])


def reset_memory_saver(saver: Any) -> None:
    """Empty an ``InMemorySaver`` in O(1) (its ``delete_thread`` scans every key)."""
    saver.storage.clear()
    saver.writes.clear()
    saver.blobs.clear()


def sqlite_saver(path: str) -> Any:
    """A ``SqliteSaver`` on ``path`` set up as ``sqlite:///`` URLs are in agentpatterns:
    WAL journal and ``synchronous=NORMAL`` (a commit does not wait for an fsync). Both
    sides of every SQLite comparison get one of these, so the file settings are equal."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute("PRAGMA synchronous = NORMAL").fetchall()
    saver = SqliteSaver(conn)
    saver.setup()
    return saver
