"""Interrupt -> resume round trip on SQLite: human approval vs a hand-written interrupt graph.

* ``ours``: ``Runner.run_sync(human_approval(planner, executor), input, checkpointer=saver)``
  stops at the approval interrupt; ``Runner.resume_sync(..., decision=True)`` finishes it.
* ``compiled``: the same through ``pattern.compile(checkpointer=saver)``:
  ``invoke(input)`` then ``invoke(Command(resume={"approved": True}))`` (in the detail).
* ``hand``: planner -> ``interrupt()`` node -> executor, ``invoke`` then
  ``invoke(Command(resume=True))``.

Each side has its own ``SqliteSaver`` on its own file, WAL + ``synchronous=NORMAL`` (as
``sqlite:///...`` URLs are opened by agentpatterns).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from _util import Row, compare, median, ms, paired_ratio, sqlite_saver
from langchain_core.messages import HumanMessage
from langgraph.types import Command
from shapes import APPROVAL_REQUEST, approval_graph, approval_pattern

from agentpatterns import OfflineModel, Runner
from agentpatterns.nodes.runtime import MODEL_KEY

TARGET = 1.1


def run(quick: bool = False) -> list[Row]:
    model = OfflineModel()
    pattern = approval_pattern()
    with tempfile.TemporaryDirectory(prefix="bench-interrupt-") as tmp:
        savers = {name: sqlite_saver(str(Path(tmp) / f"{name}.db"))
                  for name in ("ours", "comp", "hand")}
        hand = approval_graph(model).compile(checkpointer=savers["hand"])
        compiled = pattern.compile(checkpointer=savers["comp"])

        def ours() -> Any:
            first = Runner.run_sync(pattern, APPROVAL_REQUEST, checkpointer=savers["ours"],
                                    model=model)
            assert first.interrupted
            done = Runner.resume_sync(pattern, thread_id=first.thread_id, decision=True,
                                      checkpointer=savers["ours"], model=model)
            assert done.last_agent == "Executor", done
            return done

        def comp() -> Any:
            config = {"configurable": {"thread_id": uuid.uuid4().hex, MODEL_KEY: model}}
            out = compiled.invoke({"messages": [HumanMessage(APPROVAL_REQUEST)],
                                   "input": APPROVAL_REQUEST}, config)
            assert "__interrupt__" in out
            return compiled.invoke(Command(resume={"approved": True}), config)

        def handwritten() -> Any:
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            out = hand.invoke({"messages": [HumanMessage(APPROVAL_REQUEST)]}, config)
            assert "__interrupt__" in out
            out = hand.invoke(Command(resume=True), config)
            assert len(out["messages"]) == 3
            return out

        reps, n = (5, 4) if quick else (11, 8)
        times = compare({"ours": ours, "comp": comp, "hand": handwritten}, reps=reps, n=n)
        for saver in savers.values():
            saver.conn.close()
    cpu_ratio = paired_ratio(times, "ours:cpu", "hand:cpu")
    return [Row(
        "interrupt -> resume (SQLite)", ratio=paired_ratio(times, "ours", "hand"), target=TARGET,
        baseline="hand-written interrupt() graph, invoke + invoke(Command(resume=True)), "
                 "SqliteSaver",
        ours="Runner.run_sync + Runner.resume_sync(decision=True), checkpointer=SqliteSaver",
        summary=(f"ours {median(times['ours']) * 1e3:.2f} ms (compiled "
                 f"{median(times['comp']) * 1e3:.2f}, x{paired_ratio(times, 'comp', 'hand'):.2f}) "
                 f"vs hand {median(times['hand']) * 1e3:.2f} ms; CPU x{cpu_ratio:.2f}"),
        detail={"ours_ms": ms(median(times["ours"])), "hand_ms": ms(median(times["hand"])),
                "compiled_ms": ms(median(times["comp"])),
                "compiled_ratio": round(paired_ratio(times, "comp", "hand"), 3),
                "cpu_ratio": round(cpu_ratio, 3),
                "compiled_cpu_ratio": round(paired_ratio(times, "comp:cpu", "hand:cpu"), 3),
                "reps": reps, "round_trips_per_rep": n})]
