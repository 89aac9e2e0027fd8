"""Start-up and footprint: import time, compile time of the nine patterns, memory per run.

* import: ``import agentpatterns`` in a fresh interpreter, timed inside it, median of 5,
  interleaved with ``import langgraph`` (a bare namespace package) and
  ``from langgraph.graph import StateGraph`` (what any hand-written graph imports). The
  row's baseline is the latter; both are in the detail.
* compile: each built-in example (the nine patterns), a fresh pattern each time:
  ``pattern.compile()`` (build the StateGraph + LangGraph's compile), median of 7.
* memory: tracemalloc peak while N triage runs are in flight (``asyncio.gather``, 50 ms
  model), minus the baseline, per run; ours vs the hand-written graph.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from typing import Any

from _util import Row, median, ms

IMPORT_BUDGET = 0.15
COMPILE_BUDGET_MS = 10.0

_SNIPPETS = {
    "agentpatterns": "import agentpatterns",
    "langgraph": "import langgraph",
    "langgraph.graph": "from langgraph.graph import StateGraph",
}


def _import_seconds(code: str) -> float:
    prog = f"import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def import_times(reps: int = 5) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in _SNIPPETS}
    for name, code in _SNIPPETS.items():  # warm the OS file cache (and .pyc files)
        if name != "langgraph":
            _import_seconds(code)
    for _ in range(reps):
        for name, code in _SNIPPETS.items():
            times[name].append(_import_seconds(code))
    return times


def compile_times(reps: int = 7) -> dict[str, dict[str, float]]:
    from agentpatterns.examples import EXAMPLES

    out = {}
    for name, (builder, _request) in EXAMPLES.items():
        builder().compile()  # warm: first compile imports lazily loaded modules
        build, comp = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            pattern = builder()
            t1 = time.perf_counter()
            pattern.compile()
            t2 = time.perf_counter()
            build.append(t1 - t0)
            comp.append(t2 - t1)
        out[name] = {"build_ms": ms(median(build)), "compile_ms": ms(median(comp))}
    return out


def hand_compile_times(reps: int = 7) -> dict[str, float]:
    from shapes import SHAPES

    from agentpatterns import OfflineModel

    model = OfflineModel()
    out = {}
    for name, (_p, build_graph, _r, _c) in SHAPES.items():
        build_graph(model).compile()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            build_graph(model).compile()
            ts.append(time.perf_counter() - t0)
        out[name] = ms(median(ts))
    return out


def memory_per_run(n: int, repeats: int = 2) -> dict[str, float]:
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from shapes import TRIAGE_REQUEST, triage_graph, triage_pattern

    from agentpatterns import OfflineModel, Runner

    model = OfflineModel(latency=0.05)
    pattern = triage_pattern()
    hand = triage_graph(model, aio=True)

    async def ours(saver: Any) -> None:
        await asyncio.gather(*(Runner.run(pattern, TRIAGE_REQUEST, checkpointer=saver,
                                          model=model) for _ in range(n)))

    async def handwritten(saver: Any) -> None:
        graph = hand.compile(checkpointer=saver)
        await asyncio.gather(*(graph.ainvoke({"messages": [HumanMessage(TRIAGE_REQUEST)]},
                                             {"configurable": {"thread_id": uuid.uuid4().hex}})
                               for _ in range(n)))

    out = {}
    for name, fn in (("ours", ours), ("hand", handwritten)):
        asyncio.run(fn(InMemorySaver()))  # warm caches (compiled graphs, bound models)
        samples = []
        for _ in range(repeats):
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            saver = InMemorySaver()
            asyncio.run(fn(saver))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            samples.append((peak - base) / n)
            del saver
        out[name] = statistics.median(samples)
    return out


def run(quick: bool = False) -> list[Row]:
    rows = []
    imp = import_times(3 if quick else 5)
    ours, lg, lgg = (median(imp[k]) for k in ("agentpatterns", "langgraph", "langgraph.graph"))
    rows.append(Row(
        "import agentpatterns", ratio=ours - lgg, target=IMPORT_BUDGET,
        ratio_of="seconds over `from langgraph.graph import StateGraph`",
        baseline="fresh interpreter, median of 5",
        ours="import agentpatterns",
        summary=(f"agentpatterns {ours:.3f} s, langgraph.graph {lgg:.3f} s, "
                 f"bare langgraph {lg:.3f} s"),
        detail={"agentpatterns_s": round(ours, 4), "langgraph_s": round(lg, 4),
                "langgraph_graph_s": round(lgg, 4), "over_bare_langgraph_s": round(ours - lg, 4),
                "all_s": {k: [round(x, 4) for x in v] for k, v in imp.items()}}))
    comp = compile_times(3 if quick else 7)
    worst = max(comp, key=lambda k: comp[k]["compile_ms"])
    rows.append(Row(
        "compile one pattern (worst of nine)", ratio=comp[worst]["compile_ms"],
        target=COMPILE_BUDGET_MS, ratio_of="ms", baseline="budget 10 ms",
        ours="pattern.compile() on a fresh pattern",
        summary=f"worst {worst} {comp[worst]['compile_ms']:.2f} ms; " + ", ".join(
            f"{k} {v['compile_ms']:.1f}" for k, v in comp.items()),
        detail={"worst": worst, "per_pattern": comp, "hand_written_compile_ms":
                hand_compile_times(3 if quick else 7)}))
    n = 100 if quick else 200
    mem = memory_per_run(n, 1 if quick else 3)
    rows.append(Row(
        f"peak memory per in-flight run (triage, {n} at once)",
        ratio=mem["ours"] / mem["hand"], target=None,
        baseline="hand-written triage graph, same concurrency",
        ours="Runner.run, InMemorySaver, tracemalloc peak / N",
        detail={"ours_kib": round(mem["ours"] / 1024, 1), "hand_kib": round(mem["hand"] / 1024, 1)},
        note="reported, no target",
        summary=f"ours {mem['ours'] / 1024:.1f} KiB vs hand {mem['hand'] / 1024:.1f} KiB per run"))
    return rows
