"""Framework overhead per run at 0 ms model latency: agentpatterns vs hand-written LangGraph.

Every side runs the same ``OfflineModel()`` (0 ms) with its own ``InMemorySaver``:

* ``hand``: the hand-written ``StateGraph`` of :mod:`shapes`, ``graph.invoke(...)``.
* ``runner``: ``Runner.run_sync(pattern, input, checkpointer=saver, model=model)`` - the
  public API as a user calls it (the row's ratio).
* ``compiled``: ``pattern.compile(checkpointer=saver).invoke(...)`` - the graph alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from _util import Row, compare, median, ms, paired_ratio
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from shapes import SHAPES, counting_model

from agentpatterns import OfflineModel, Runner
from agentpatterns.nodes.runtime import MODEL_KEY

TARGET = 1.05


def _variants(name: str, model: Any) -> dict[str, Any]:
    build_pattern, build_graph, request, calls = SHAPES[name]
    pattern = build_pattern()
    hand = build_graph(model).compile(checkpointer=InMemorySaver())
    runner_saver = InMemorySaver()
    compiled = pattern.compile(checkpointer=InMemorySaver())

    # same work on both sides, or the comparison means nothing
    check_model = counting_model()
    r = Runner.run_sync(pattern, request, checkpointer=InMemorySaver(), model=check_model)
    ours_calls, check_model.calls = check_model.calls, 0
    build_graph(check_model).compile(checkpointer=InMemorySaver()).invoke(
        {"messages": [HumanMessage(request)]}, {"configurable": {"thread_id": "check"}})
    if not (ours_calls == check_model.calls == calls == r.model_calls):
        raise AssertionError(f"{name}: model calls differ: ours {ours_calls}, "
                             f"hand-written {check_model.calls}, expected {calls}")

    def run_hand() -> Any:
        return hand.invoke({"messages": [HumanMessage(request)]},
                           {"configurable": {"thread_id": uuid.uuid4().hex}})

    def run_runner() -> Any:
        return Runner.run_sync(pattern, request, checkpointer=runner_saver, model=model)

    def run_compiled() -> Any:
        return compiled.invoke({"messages": [HumanMessage(request)], "input": request},
                               {"configurable": {"thread_id": uuid.uuid4().hex,
                                                 MODEL_KEY: model}})

    return {"hand": run_hand, "runner": run_runner, "compiled": run_compiled}


def run(quick: bool = False, names: list[str] | None = None) -> list[Row]:
    model = OfflineModel()
    rows = []
    reps, n = (7, 4) if quick else (25, 6)
    for name in names or list(SHAPES):
        calls = SHAPES[name][3]
        t = compare(_variants(name, model), reps=reps, n=n, warmup=3)
        cpu = {k: median(t[k + ":cpu"]) for k in ("hand", "runner", "compiled")}
        wall = {k: median(t[k]) for k in ("hand", "runner", "compiled")}
        ratio = paired_ratio(t, "runner:cpu", "hand:cpu")
        compiled_ratio = paired_ratio(t, "compiled:cpu", "hand:cpu")
        rows.append(Row(
            f"{name} (0 ms model)", ratio=ratio, target=TARGET,
            ratio_of="ours / hand-written (CPU time)",
            baseline="hand-written StateGraph, invoke, InMemorySaver",
            ours="Runner.run_sync(pattern, input, checkpointer=InMemorySaver())",
            summary=(f"CPU ours {cpu['runner'] * 1e3:.2f} ms (compiled {cpu['compiled'] * 1e3:.2f},"
                     f" x{compiled_ratio:.2f}) vs hand {cpu['hand'] * 1e3:.2f} ms; wall "
                     f"x{paired_ratio(t, 'runner', 'hand'):.2f} ({wall['runner'] * 1e3:.2f} vs "
                     f"{wall['hand'] * 1e3:.2f} ms); {calls} model calls"),
            detail={
                "model_calls": calls,
                "cpu_ms": {k: ms(v) for k, v in cpu.items()},
                "wall_ms": {k: ms(v) for k, v in wall.items()},
                "compiled_ratio_cpu": round(compiled_ratio, 3),
                "runner_ratio_wall": round(paired_ratio(t, "runner", "hand"), 3),
                "compiled_ratio_wall": round(paired_ratio(t, "compiled", "hand"), 3),
                "overhead_cpu_ms_per_run": ms(cpu["runner"] - cpu["hand"]),
                # the least-disturbed batches: a check on the medians under a noisy neighbour
                "min_cpu_ratio": round(min(t["runner:cpu"]) / min(t["hand:cpu"]), 3),
                "min_compiled_cpu_ratio": round(min(t["compiled:cpu"]) / min(t["hand:cpu"]), 3),
                "reps": reps, "runs_per_rep": n,
            }))
    return rows
