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

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from _util import Row, compare, median, ms, paired_ratio
from agentpatterns import OfflineModel, Runner
from agentpatterns.nodes.runtime import MODEL_KEY
from shapes import SHAPES, counting_model

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
    reps, n = (5, 6) if quick else (15, 12)
    for name in names or list(SHAPES):
        calls = SHAPES[name][3]
        times = compare(_variants(name, model), reps=reps, n=n, warmup=3)
        ratio = paired_ratio(times, "runner", "hand")
        rows.append(Row(
            f"{name} (0 ms model)", ratio=ratio, target=TARGET,
            baseline="hand-written StateGraph, invoke, InMemorySaver",
            ours="Runner.run_sync(pattern, input, checkpointer=InMemorySaver())",
            summary=(f"ours {median(times['runner']) * 1e3:.2f} ms (compiled "
                     f"{median(times['compiled']) * 1e3:.2f}, x{paired_ratio(times, 'compiled', 'hand'):.2f})"
                     f" vs hand {median(times['hand']) * 1e3:.2f} ms, {calls} model calls"),
            detail={
                "model_calls": calls,
                "hand_ms": ms(median(times["hand"])),
                "runner_ms": ms(median(times["runner"])),
                "compiled_ms": ms(median(times["compiled"])),
                "compiled_ratio": round(paired_ratio(times, "compiled", "hand"), 3),
                "overhead_ms_per_run": ms(median(times["runner"]) - median(times["hand"])),
                "reps": reps, "runs_per_rep": n,
            }))
    return rows
