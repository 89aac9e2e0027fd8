"""The cost of nesting: three agents in a ``sequential`` vs the same three, each as a 1-agent
pattern nested in a ``sequential`` (three subgraphs), 0 ms offline model, in one process.

* ``flat``: ``Runner.run_sync(sequential([a, b, c]), ...)``;
* ``nested``: ``Runner.run_sync(sequential([sequential([a]), sequential([b]),
  sequential([c])]), ...)`` - every agent turn runs inside a child graph (its own
  checkpoints, namespaced under the parent's task);

both on one ``InMemorySaver`` (emptied between batches) and on SQLite files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from _util import Row, compare, median, ms, paired_ratio, reset_memory_saver, sqlite_saver
from langgraph.checkpoint.memory import InMemorySaver

from agentpatterns import Agent, OfflineModel, Runner, sequential

TARGET = 1.15
REQUEST = "The history of the printing press"


def _agents(prefix: str) -> list[Agent]:
    return [Agent(name=f"{prefix}{n}", instructions=i) for n, i in (
        ("Researcher", "Research the topic thoroughly"), ("Writer", "Write based on research"),
        ("Editor", "Edit and polish the content"))]


def run(quick: bool = False) -> list[Row]:
    model = OfflineModel()
    flat = sequential(_agents(""))
    nested = sequential([sequential([a], name=f"{a.name} step") for a in _agents("")],
                        name="nested")
    rows: list[Row] = []
    reps, n = (5, 10) if quick else (11, 25)
    with tempfile.TemporaryDirectory(prefix="bench-nesting-") as tmp:
        for label, savers in (
            ("memory", {"flat": InMemorySaver(), "nested": InMemorySaver()}),
            ("SQLite", {k: sqlite_saver(str(Path(tmp) / f"{k}.db")) for k in ("flat", "nested")}),
        ):
            def one(pattern: Any, saver: Any) -> Any:
                def go() -> Any:
                    r = Runner.run_sync(pattern, REQUEST, checkpointer=saver, model=model)
                    assert r.path == ["Researcher", "Writer", "Editor"], r.path
                    if isinstance(saver, InMemorySaver) and len(saver.storage) > 200:
                        reset_memory_saver(saver)
                    return r
                return go

            times = compare({"flat": one(flat, savers["flat"]),
                             "nested": one(nested, savers["nested"])}, reps=reps, n=n)
            ratio = paired_ratio(times, "nested", "flat")
            cpu = paired_ratio(times, "nested:cpu", "flat:cpu")
            rows.append(Row(
                f"nesting: 3 agents as 3 nested 1-agent patterns ({label})", ratio=ratio,
                target=TARGET, ratio_of="nested / flat",
                baseline="Runner.run_sync(sequential([a, b, c]))",
                ours="Runner.run_sync(sequential([sequential([a]), sequential([b]), "
                     "sequential([c])]))",
                summary=(f"nested {median(times['nested']) * 1e3:.2f} ms vs flat "
                         f"{median(times['flat']) * 1e3:.2f} ms per run; CPU x{cpu:.2f}"),
                detail={"flat_ms": ms(median(times["flat"])),
                        "nested_ms": ms(median(times["nested"])), "cpu_ratio": round(cpu, 3),
                        "reps": reps, "runs_per_rep": n}))
            for saver in savers.values():
                conn = getattr(saver, "conn", None)
                if conn is not None:
                    conn.close()
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row["name"], row["ratio"], row["summary"])
