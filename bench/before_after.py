"""Before/after of the framework fixes made for issue 7, measured in one process.

``python bench/before_after.py`` (not part of ``run.py``; about 40 s). "before" re-creates
the old code paths next to the fixed ones, so both are timed interleaved:

1. ``Runner`` read the result back with ``graph.get_state(config)`` after every run; now it
   takes the values and interrupts from ``invoke(..., version="v2")``'s own output.
2. ``Runner`` wrote the 21-key reset update (``fresh_run_update``) as the input of every
   run; a thread id it made itself has nothing to reset, so it now writes ``messages`` and
   ``input`` only.
3. The SQLite thread lease (``agentpatterns.run.locks``) committed with ``synchronous=FULL``
   (an fsync per commit, two commits per run); now ``NORMAL`` when the file is in WAL mode.
4. ``PatternState.messages``: ``add_messages`` reducer (whole conversation re-stored at
   every checkpoint) -> ``DeltaChannel`` (see ``bench_checkpoint.py`` for the growth rows).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import delta_proto
from _util import compare, median, paired_ratio, sqlite_saver
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from shapes import APPROVAL_REQUEST, SHAPES, approval_pattern

from agentpatterns import (
    OfflineModel,
    Runner,
    _locks,
)
from agentpatterns.nodes.runtime import MODEL_KEY
from agentpatterns.state import fresh_run_update


def old_run(pattern: Any, request: str, saver: Any, model: Any) -> Any:
    """The graph part of ``Runner.run_sync`` as it was: reset input, invoke, get_state."""
    graph = pattern.compile(checkpointer=saver) if "_bench_old" not in pattern.__dict__ else \
        pattern.__dict__["_bench_old"]
    pattern.__dict__["_bench_old"] = graph
    config = {"configurable": {"thread_id": uuid.uuid4().hex, MODEL_KEY: model}}
    graph.invoke(fresh_run_update(request, HumanMessage(request)), config)
    return graph.get_state(config)


def runner_rows(model: Any) -> None:
    print("1+2. Runner.run_sync, InMemorySaver, 0 ms model: process CPU ms per run "
          "(median of paired batches)")
    for name in ("triage", "sequential3", "supervisor", "reflection5"):
        build, _graph, request, _calls = SHAPES[name]
        pattern = build()
        s_old, s_new = InMemorySaver(), InMemorySaver()
        def before(p: Any = pattern, r: str = request, s: Any = s_old) -> Any:
            return old_run(p, r, s, model)

        def after(p: Any = pattern, r: str = request, s: Any = s_new) -> Any:
            return Runner.run_sync(p, r, checkpointer=s, model=model)

        t = compare({"before": before, "after": after}, reps=11, n=10)
        print(f"  {name:12s} before {median(t['before:cpu']) * 1e3:6.2f}  after "
              f"{median(t['after:cpu']) * 1e3:6.2f}  after/before "
              f"{paired_ratio(t, 'after:cpu', 'before:cpu'):.3f} (wall "
              f"{paired_ratio(t, 'after', 'before'):.3f})")


def lease_rows() -> None:
    print("3. SQLite thread lease (take + release), ms, median of 40")
    fixed = _locks._SqliteLease._connect

    def old_connect(self: Any) -> Any:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        return conn

    with tempfile.TemporaryDirectory() as tmp:
        saver = sqlite_saver(str(Path(tmp) / "lease.db"))
        out: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(40):
            for label, connect in (("before", old_connect), ("after", fixed)):
                _locks._SqliteLease._connect = connect  # type: ignore[method-assign]
                t0 = time.perf_counter()
                with _locks.thread_lock(saver, f"t-{label}-{i}"):
                    pass
                out[label].append(time.perf_counter() - t0)
        _locks._SqliteLease._connect = fixed  # type: ignore[method-assign]
        saver.conn.close()
    print(f"  before {statistics.median(out['before']) * 1e3:.2f} ms   after "
          f"{statistics.median(out['after']) * 1e3:.2f} ms")


def approval_rows(model: Any) -> None:
    print("3. interrupt -> resume round trip, Runner, SQLite (wall ms)")
    fixed = _locks._SqliteLease._connect

    def old_connect(self: Any) -> Any:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        return conn

    pattern = approval_pattern()
    with tempfile.TemporaryDirectory() as tmp:
        saver = sqlite_saver(str(Path(tmp) / "a.db"))

        def trip(connect: Any) -> None:
            _locks._SqliteLease._connect = connect  # type: ignore[method-assign]
            r = Runner.run_sync(pattern, APPROVAL_REQUEST, checkpointer=saver, model=model)
            Runner.resume_sync(pattern, thread_id=r.thread_id, decision=True,
                               checkpointer=saver, model=model)

        t = compare({"before": lambda: trip(old_connect), "after": lambda: trip(fixed)},
                    reps=7, n=5)
        _locks._SqliteLease._connect = fixed  # type: ignore[method-assign]
        saver.conn.close()
    print(f"  before {median(t['before']) * 1e3:.2f} ms   after {median(t['after']) * 1e3:.2f}"
          f" ms   (lease fix only; get_state removal included on both sides)")


def delta_rows(model: Any) -> None:
    print("4. reflection 50 iterations, InMemorySaver: bytes per checkpoint / CPU ms per run")
    from bench_checkpoint import stored_bytes
    from shapes import REFLECTION_REQUEST, reflection_pattern

    out = {}
    for kind in ("reducer", "delta"):
        with delta_proto.patched(kind):
            pattern = reflection_pattern(50)
            pattern.graph()
        saver = InMemorySaver()
        r = Runner.run_sync(pattern, REFLECTION_REQUEST, checkpointer=saver, model=model)
        n, state, _writes = stored_bytes(saver, r.thread_id)
        out[kind] = (pattern, state / n)
    t = compare({kind: (lambda p=p: Runner.run_sync(p, REFLECTION_REQUEST,
                                                     checkpointer=InMemorySaver(), model=model))
                 for kind, (p, _b) in out.items()}, reps=7, n=2)
    for kind, (_p, per) in out.items():
        print(f"  messages as {kind:8s} {per:8.0f} B/ckpt   {median(t[kind + ':cpu']) * 1e3:7.1f}"
              f" ms CPU per run")


def main() -> None:
    model = OfflineModel()
    runner_rows(model)
    lease_rows()
    approval_rows(model)
    delta_rows(model)


if __name__ == "__main__":
    main()
