"""Where a model call's effect-to-record window goes (the time a kill must hit to repeat it).

    .venv/bin/python bench/bench_window.py [--pattern sequential] [--runs 20]
        [--latency 0.02] [--pg]

Runs one of the crash patterns (``tests._crash``) in this process, on SQLite (or, with
``--pg``, a throwaway PostgreSQL cluster from tests/_postgres.py), and splits every model
call's window - from the model's ``_generate`` returning its reply to the journal's insert of
that reply returning - into: LangChain's post-processing (``_generate`` to ``invoke``
returning), the driver and journal up to the record, the serializer (``dumps_typed``), the
append to the run's write-ahead effect log, and the insert with its commit (lock, statement,
fencing trigger, commit). The window a kill must hit to repeat the call ends with the
append (:mod:`agentpatterns.storage.effect_log`); before the effect log it ended with the
commit. ``--latency`` is the
model's reply time: after a real wait the CPU caches are cold and every part is slower than
with a 0 ms model.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import _crash  # noqa: E402  (the repository root is on sys.path now)

PARTS = ("LangChain after _generate", "driver + journal to the record",
         "serializer (+ its log append)", "first effect log append", "insert + commit",
         "to the first append (the window now)", "to the commit (the window before)")


def _instrument() -> list[tuple[float, ...]]:
    from agentpatterns.nodes import _drivers
    from agentpatterns.nodes import journal as nodes_journal
    from agentpatterns.storage import journal as storage_journal

    marks = threading.local()
    rows: list[tuple[float, ...]] = []
    generate = _crash.LoggedModel._generate

    def timed_generate(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = generate(self, *args, **kwargs)
        marks.generated = time.perf_counter()
        return out

    call_model = _drivers._call_model

    def timed_call_model(*args: Any) -> Any:
        out = call_model(*args)
        marks.returned = time.perf_counter()
        return out

    row = storage_journal._row

    def timed_row(*args: Any) -> Any:
        marks.record = time.perf_counter()
        out = row(*args)
        marks.encoded = time.perf_counter()
        return out

    from agentpatterns.storage.effect_log import EffectLog

    append = EffectLog.append

    def timed_append(self: Any, row: Any) -> None:
        # the first append of a call ends its window: a model reply is written ahead from
        # the model's on_llm_end, before invoke returns (then again with its record)
        start = time.perf_counter()
        append(self, row)
        if getattr(marks, "appended", None) is None:
            marks.appending, marks.appended = start, time.perf_counter()

    step = nodes_journal.TurnJournal.step

    def timed_step(self: Any, kind: str, name: str, run: Any) -> Any:
        marks.generated = marks.returned = marks.record = None
        marks.appending = marks.appended = None
        out = step(self, kind, name, run)
        done = time.perf_counter()
        m = marks
        if kind == "model" and None not in (m.generated, m.returned, m.record, m.appended):
            rows.append((m.returned - m.generated, m.record - m.returned,
                         m.encoded - m.record, m.appended - m.appending,
                         done - m.encoded, m.appended - m.generated, done - m.generated))
        return out

    _crash.LoggedModel._generate = timed_generate  # type: ignore[method-assign]
    _drivers._call_model = timed_call_model  # type: ignore[assignment]
    storage_journal._row = timed_row  # type: ignore[assignment]
    EffectLog.append = timed_append  # type: ignore[method-assign]
    nodes_journal.TurnJournal.step = timed_step  # type: ignore[method-assign]
    return rows


@contextlib.contextmanager
def _url(tmp: str, pg: bool) -> Iterator[str]:
    if not pg:
        yield f"sqlite:///{tmp}/runs.db"
        return
    from tests import _postgres

    with contextlib.contextmanager(_postgres.postgres_url.__wrapped__)() as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", default="sequential", choices=_crash.PATTERNS)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args(argv)
    rows = _instrument()
    from agentpatterns import Runner
    from agentpatterns.storage import open_checkpointer

    with tempfile.TemporaryDirectory() as tmp, _url(tmp, args.pg) as url, \
            open_checkpointer(url) as saver:
        log = os.path.join(tmp, "calls.log")
        for i in range(args.runs):
            pattern = _crash.build(args.pattern, log, latency=args.latency)
            result = Runner.run_sync(pattern, _crash.REQUEST[args.pattern], thread_id=f"w{i}",
                                     checkpointer=saver)
            if result.interrupted:
                Runner.resume_sync(pattern, thread_id=f"w{i}", decision=True, checkpointer=saver)
    print(f"{args.pattern}, {'PostgreSQL' if args.pg else 'SQLite'}, model latency "
          f"{args.latency * 1000:.0f} ms: {len(rows)} model calls (ms)")
    for j, part in enumerate(PARTS):
        values = sorted(r[j] * 1000 for r in rows)
        if values:
            print(f"  {part:<36} median {values[len(values) // 2]:6.3f}  mean "
                  f"{sum(values) / len(values):6.3f}  p90 {values[int(len(values) * 0.9)]:6.3f}"
                  f"  max {values[-1]:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
