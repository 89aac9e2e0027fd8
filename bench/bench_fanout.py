"""Fan-out: ``parallel(K branches, synthesizer)`` at 50 ms model latency, against the ideal.

* ideal: every branch's model call overlaps, so the branch step takes one latency, and
  the synthesizer takes one more: **ideal = 2 x latency = 100 ms**, whatever K is.
* ``ours``: ``await Runner.run(pattern, input, checkpointer=InMemorySaver(), model=m)``.
* ``model only``: no graph at all - ``asyncio.gather`` of the K branch model calls, then
  the synthesizer's call: the floor any LangChain-model implementation stands on.
* ``hand``: a hand-written graph, ``Send("branch", ...)`` K times from START into one
  branch node, results reduced with ``operator.add``, then the synthesizer; ``ainvoke``
  with its own ``InMemorySaver``.

All run in one event loop, interleaved; each saver is emptied after each run (untimed) so
the heap, and with it the garbage collector's work, stays steady.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import uuid
from pathlib import Path
from typing import Any

from _util import Row, median, ms, reset_memory_saver
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from shapes import PARALLEL_REQUEST, parallel_graph, parallel_pattern, system

from agentpatterns import OfflineModel, Runner

LATENCY = 0.05
IDEAL = 2 * LATENCY
TARGETS = {100: 1.3, 1000: 2.5}


async def _measure(k: int, reps: int, model: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    pattern = parallel_pattern(k)
    build_s = time.perf_counter() - t0
    ours_saver, hand_saver = InMemorySaver(), InMemorySaver()
    t0 = time.perf_counter()
    pattern.compile(checkpointer=ours_saver)  # what Runner.run will compile (cached per saver)
    compile_s = time.perf_counter() - t0
    hand = parallel_graph(model, k).compile(checkpointer=hand_saver)

    async def ours() -> str:
        thread = uuid.uuid4().hex
        r = await Runner.run(pattern, PARALLEL_REQUEST, thread_id=thread,
                             checkpointer=ours_saver, model=model)
        assert len(r.path) == k + 1, r.path
        return thread

    async def handwritten() -> str:
        thread = uuid.uuid4().hex
        out = await hand.ainvoke({"messages": [HumanMessage(PARALLEL_REQUEST)]},
                                 {"configurable": {"thread_id": thread}})
        assert len(out["results"]) == k
        return thread

    branch_msgs = [[system(f"Researcher {i + 1}", f"Research topic {i + 1}"),
                    HumanMessage(PARALLEL_REQUEST)] for i in range(k)]
    syn_sys = system("Synthesizer", "Combine research")

    async def model_only() -> None:
        replies = await asyncio.gather(*(model.ainvoke(m) for m in branch_msgs))
        await model.ainvoke([syn_sys, HumanMessage(
            "Synthesize: " + "\n\n".join(str(r.content) for r in replies))])

    savers = {"ours": ours_saver, "hand": hand_saver, "floor": InMemorySaver()}
    variants = {"ours": ours, "hand": handwritten, "floor": model_only}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for name in variants:  # warm-up (first run compiles, imports, fills caches)
        await variants[name]()
        reset_memory_saver(savers[name])
    rng = random.Random(k)
    for _ in range(reps):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            gc.collect()
            t0 = time.perf_counter()
            await variants[name]()
            times[name].append(time.perf_counter() - t0)
            reset_memory_saver(savers[name])
    return {"k": k, "ours_s": times["ours"], "hand_s": times["hand"], "floor_s": times["floor"],
            "build_ms": ms(build_s), "compile_ms": ms(compile_s)}


def run(quick: bool = False, ks: list[int] | None = None) -> list[Row]:
    ks = ks or ([10, 100] if quick else [10, 30, 100, 300, 1000])
    model = OfflineModel(latency=LATENCY)
    series = []
    for k in ks:
        reps = 3 if k >= 300 else (3 if quick else 5)
        series.append(asyncio.run(_measure(k, reps, model)))
    rows = []
    for s in series:
        k, ours, hand = s["k"], median(s["ours_s"]), median(s["hand_s"])
        floor = median(s["floor_s"])
        rows.append(Row(
            f"parallel K={k} (50 ms model)", ratio=ours / IDEAL, target=TARGETS.get(k),
            ratio_of="ours / ideal", baseline="ideal = 2 x 50 ms (branches overlap + "
            "synthesizer); hand-written Send graph shown in detail",
            ours="await Runner.run(parallel(K), checkpointer=InMemorySaver())",
            summary=f"ours {ours * 1e3:.0f} ms, hand Send {hand * 1e3:.0f} ms "
                    f"(x{hand / IDEAL:.2f} ideal), model calls alone {floor * 1e3:.0f} ms "
                    f"(x{floor / IDEAL:.2f}), ideal {IDEAL * 1e3:.0f} ms",
            detail={"ours_ms": ms(ours), "hand_ms": ms(hand), "ideal_ms": ms(IDEAL),
                    "model_only_ms": ms(floor), "model_only_over_ideal": round(floor / IDEAL, 3),
                    "hand_over_ideal": round(hand / IDEAL, 3),
                    "ours_over_hand": round(ours / hand, 3),
                    "ours_per_branch_ms": ms((ours - IDEAL) / k),
                    "hand_per_branch_ms": ms((hand - IDEAL) / k),
                    "pattern_build_ms": s["build_ms"], "compile_ms": s["compile_ms"],
                    "reps": len(s["ours_s"]),
                    "ours_all_ms": [ms(x) for x in s["ours_s"]],
                    "hand_all_ms": [ms(x) for x in s["hand_s"]]}))
    return rows


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """``fanout.png``: wall time vs K for ours, the hand-written Send graph and the ideal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = sorted((int(r["name"].split("K=")[1].split()[0]), r["detail"]) for r in rows
                 if r["name"].startswith("parallel K="))
    if not pts:
        return
    ks = [k for k, _ in pts]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.plot(ks, [d["ours_ms"] for _, d in pts], "o-", label="agentpatterns parallel() "
            "(Runner.run)", color="tab:blue")
    ax.plot(ks, [d["hand_ms"] for _, d in pts], "s--", label="hand-written Send graph",
            color="tab:orange")
    ax.plot(ks, [d["model_only_ms"] for _, d in pts], "^-.", color="tab:gray",
            label="the model calls alone, no graph (asyncio.gather)")
    ax.plot(ks, [d["ideal_ms"] for _, d in pts], ":", label="ideal (2 x 50 ms)",
            color="black")
    for k, target in TARGETS.items():
        if k in ks:
            ax.plot([k], [target * IDEAL * 1000], "v", color="tab:green", markersize=9,
                    label=f"target K={k}: {target}x ideal")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("branches K")
    ax.set_ylabel("wall time per run (ms, median)")
    ax.set_title("Fan-out: K branches + synthesizer, OfflineModel(latency=50 ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
