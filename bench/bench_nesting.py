"""The cost of nesting: three agents in a ``sequential`` vs the same three, each as a 1-agent
pattern nested in a ``sequential`` (three subgraphs), 0 ms offline model, in one process.

* ``flat``: ``Runner.run_sync(sequential([a, b, c]), ...)``;
* ``nested``: ``Runner.run_sync(sequential([sequential([a]), sequential([b]),
  sequential([c])]), ...)`` - every agent turn runs inside a child graph (its own
  checkpoints, namespaced under the parent's task);

both on one ``InMemorySaver`` (emptied between batches) and on SQLite files. A third
variant, measured in the same interleaved batches and reported without a target, nests a
child of two steps (``sequential([sequential([a, b]), c])``): such a child keeps its own
loop and checkpoints (it can be resumed between its steps), one-agent children run inside
their parent's task (``agentpatterns/graphs/_inline.py``).
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


def run(quick: bool = False, long: bool = False) -> list[Row]:
    model = OfflineModel()
    flat = sequential(_agents(""))
    nested = sequential([sequential([a], name=f"{a.name} step") for a in _agents("")],
                        name="nested")
    a, b, c = _agents("")
    two_step = sequential([sequential([a, b], name="Drafting"), c], name="two-step")
    rows: list[Row] = []
    # long: many short interleaved batches, steadier on a loaded machine
    reps, n = (5, 10) if quick else (60, 5) if long else (11, 25)
    with tempfile.TemporaryDirectory(prefix="bench-nesting-") as tmp:
        for label, savers in (
            ("memory", {"flat": InMemorySaver(), "nested": InMemorySaver(),
                        "two": InMemorySaver()}),
            ("SQLite", {k: sqlite_saver(str(Path(tmp) / f"{k}.db"))
                    for k in ("flat", "nested", "two")}),
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
                             "nested": one(nested, savers["nested"]),
                             "two": one(two_step, savers["two"])}, reps=reps, n=n)
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
            two = paired_ratio(times, "two", "flat")
            two_cpu = paired_ratio(times, "two:cpu", "flat:cpu")
            rows.append(Row(
                f"nesting: a 2-step child + 1 agent ({label})", ratio=two, target=None,
                ratio_of="nested / flat", baseline="Runner.run_sync(sequential([a, b, c]))",
                ours="Runner.run_sync(sequential([sequential([a, b]), c]))",
                summary=(f"nested {median(times['two']) * 1e3:.2f} ms vs flat "
                         f"{median(times['flat']) * 1e3:.2f} ms per run; CPU x{two_cpu:.2f}"),
                detail={"flat_ms": ms(median(times["flat"])),
                        "nested_ms": ms(median(times["two"])), "cpu_ratio": round(two_cpu, 3),
                        "reps": reps, "runs_per_rep": n}))
            for saver in savers.values():
                conn = getattr(saver, "conn", None)
                if conn is not None:
                    conn.close()
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--long" not in sys.argv, long="--long" in sys.argv):
        print(row["name"], row["ratio"], row["summary"])
