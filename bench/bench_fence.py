"""What fencing a leased SQLite thread costs: the same runs with the fence on and off.

Fencing (``agentpatterns.run.fence``, ``agentpatterns.storage.fencing``): TEMP triggers on
the saver's connection check the lease in the transaction of every checkpoint, write and
journal insert, and the turn journal asks the lease before every effect it starts (one
primary-key SELECT on the lease's own connection). Workload: ``reflection`` with 20
iterations (41 agent steps, one model call each) on the offline 0 ms model, on a SQLite file
opened as ``sqlite:///`` URLs are; ``off`` patches the triggers and the per-effect check
out (the lease itself is still taken). Interleaved, shuffled repetitions
(:func:`_util.compare`).

    .venv/bin/python bench/bench_fence.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _util import Row, compare, median, ms, paired_ratio

import agentpatterns.run.locks as locks
from agentpatterns import Agent, OfflineModel, Runner, reflection
from agentpatterns.storage import open_checkpointer

ITERATIONS = 20
_real = (locks.fence, locks.unfence, locks.set_fence)


def _fencing(on: bool) -> None:
    if on:
        locks.fence, locks.unfence, locks.set_fence = _real
    else:
        def nothing(*_args: Any, **_kwargs: Any) -> None:
            return None

        locks.fence = locks.unfence = locks.set_fence = nothing


def run(quick: bool = False) -> Iterator[Row]:
    """One row: fenced / unfenced per step."""
    reps, n = (5, 2) if quick else (15, 3)
    writer = Agent(name="Writer", instructions="Write a draft")
    critic = Agent(name="Critic", instructions="Critique the draft; never approve")
    pattern = reflection(writer, critic, iterations=ITERATIONS)
    model = OfflineModel()
    steps = [0]
    with tempfile.TemporaryDirectory(prefix="bench-fence-") as tmp, \
            open_checkpointer(f"sqlite:///{Path(tmp) / 'runs.db'}") as saver:
        def variant(on: bool) -> Callable[[], Any]:
            def go() -> None:
                _fencing(on)
                r = Runner.run_sync(pattern, "write about tides", thread_id=uuid.uuid4().hex,
                                    checkpointer=saver, model=model)
                steps[0] = len(r.path)
            return go

        try:
            times = compare({"fenced": variant(True), "unfenced": variant(False)}, reps=reps,
                            n=n)
        finally:
            _fencing(True)
    on, off = median(times["fenced"]), median(times["unfenced"])
    yield Row("fencing per step (sqlite)", ratio=paired_ratio(times, "fenced", "unfenced"),
              target=None, baseline=f"unfenced: {ms(off / steps[0])} ms/step",
              ours=f"fenced: {ms(on / steps[0])} ms/step", ratio_of="fenced / unfenced",
              summary=f"+{ms((on - off) / steps[0])} ms per step ({steps[0]} steps per run)",
              detail={"run_ms_fenced": ms(on), "run_ms_unfenced": ms(off), "steps": steps[0]})


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']:<28} ratio {row['ratio']:.3f}  {row['ours']:<26} "
              f"{row['baseline']:<28} {row['summary']}")
