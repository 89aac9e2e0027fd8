"""What opening a SQLite checkpointer costs as the file grows, opened per use vs kept.

Run: ``.venv/bin/python bench/bench_open.py [--sizes 1 25 100] [--opens 5]``

Every writing open of a ``sqlite:///`` URL (``open_checkpointer``) runs ``PRAGMA
quick_check`` over the whole file when the file changed since this process last checked it
(it changes with every run), so the open grows with the file. ``storage.kept`` (what the SDK
runtime's durable runs, markers and ``CheckpointSession`` use) opens once per process and
re-checks only that the file is the same one. The file is grown with 2 KB pending-write
rows; one row is written before each open, as a run would.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path


def main(sizes: list[int], opens: int) -> None:
    """Print ms per open each way, per file size."""
    from agentpatterns.storage import open_checkpointer
    from agentpatterns.storage.kept import kept

    path = Path(tempfile.mkdtemp(prefix="bench-open-")) / "runs.db"
    url = f"sqlite:///{path}"
    with open_checkpointer(url):
        pass
    conn = sqlite3.connect(path)
    insert = ("INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, "
              "channel, type, value) VALUES (?, '', ?, 'x', 0, 'ch', 'bytes', ?)")
    blob = os.urandom(2000)
    print(f"load {os.getloadavg()[0]:.1f}")
    for size in sizes:
        while path.stat().st_size < size * 1024 * 1024:
            conn.executemany(insert, [(f"t{i}", f"c{time.time_ns()}-{i}", blob)
                                      for i in range(2000)])
            conn.commit()
        took = {"open_checkpointer": 0.0, "kept": 0.0}
        for _ in range(opens):
            for way in took:
                conn.execute(insert, ("w", str(time.time_ns()), b"\x00"))
                conn.commit()
                start = time.perf_counter()
                with open_checkpointer(url) if way == "open_checkpointer" else kept(
                        url, "checkpointer"):
                    pass
                took[way] += time.perf_counter() - start
        print(f"  {path.stat().st_size / 1e6:6.0f} MB: " + ", ".join(
            f"{way} {t / opens * 1000:6.2f} ms/open" for way, t in took.items()))
    conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 25, 100])
    parser.add_argument("--opens", type=int, default=5)
    args = parser.parse_args()
    main(args.sizes, args.opens)
