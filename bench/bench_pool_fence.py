"""What fencing costs a PostgreSQL saver with a pool, per checkpoint write (issue 12).

Run: ``.venv/bin/python bench/bench_pool_fence.py [--writes 200] [--rounds 5]``
(``BENCH_PG_URL=postgresql://...``; default: a throwaway cluster, ``tests/_postgres.py``).

A ``PostgresSaver`` on a ``ConnectionPool`` writes a small checkpoint and its pending
writes (``put`` + ``put_writes``) ``--writes`` times, two ways interleaved round by round
(median round, per write):

* ``unfenced``: a thread no run holds (LangGraph's own write);
* ``fenced``: inside the thread's lock (``agentpatterns.run.locks.thread_lock``): each write
  is one transaction with its lock check (the thread's write key held shared, the lock's
  session looked up in ``pg_locks``), so a lock lost before the commit cannot let the
  write land after another process took the thread.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for tests._postgres


@contextlib.contextmanager
def _server() -> Iterator[str]:
    url = os.environ.get("BENCH_PG_URL")
    if url:
        yield url
        return
    from tests import _postgres as pg

    with contextlib.contextmanager(pg.postgres_url.__wrapped__)() as server:
        yield server


def _writes(saver: Any, thread: str, n: int) -> float:
    from langgraph.checkpoint.base import empty_checkpoint

    config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    start = time.perf_counter()
    for i in range(n):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": [f"message {i}"]}
        saved = saver.put(config, checkpoint, {"step": i},
                          {"messages": saver.get_next_version(None, None)})
        saver.put_writes(saved, [("messages", [f"reply {i}"])], task_id=f"task-{i}")
    return (time.perf_counter() - start) / n * 1000


def main(writes: int, rounds: int) -> None:
    """Print ms per write (put + put_writes) each way and the ratio."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from agentpatterns.run.locks import thread_lock
    from agentpatterns.storage import make_serde

    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with _server() as url, ConnectionPool(url, kwargs=kwargs, min_size=2, max_size=4,
                                          open=True) as pool:
        saver: Any = PostgresSaver(pool, serde=make_serde())  # type: ignore[arg-type]
        saver.setup()
        times: dict[str, list[float]] = {"unfenced": [], "fenced": []}
        for n in range(rounds + 1):  # the first round warms up
            thread = uuid.uuid4().hex
            unfenced = _writes(saver, thread, writes)
            with thread_lock(saver, thread):
                fenced = _writes(saver, thread, writes)
            if n:
                times["unfenced"].append(unfenced)
                times["fenced"].append(fenced)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"pooled PostgresSaver, put + put_writes, {writes} writes x {rounds} rounds "
              f"(median round), load {os.getloadavg()[0]:.1f}")
        for name, ms in med.items():
            print(f"  {name:<9} {ms:7.3f} ms/write  {ms / med['unfenced']:5.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    main(args.writes, args.rounds)
