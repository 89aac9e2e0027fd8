"""Checkpoint cost per step as the history grows: reflection with 5 and 50 iterations.

For each backend (``InMemorySaver``, ``SqliteSaver`` on a file, and ``PostgresSaver``
when ``BENCH_PG_URL`` names a ``postgresql://`` database) both sides run the same
reflection loop (generator -> critic -> generator ..., 2 model calls and 2 steps per
iteration, OfflineModel at 0 ms) with their own saver of that kind:

* ``ours``: ``Runner.run_sync(reflection(gen, critic, iterations=n), input, checkpointer=saver)``
  (``compiled``: ``pattern.compile(checkpointer=saver).invoke(...)``, in the detail).
* ``hand``: the hand-written reflection ``StateGraph`` (messages with ``add_messages``,
  drafts and critiques with ``operator.add``), ``invoke``.
* ``other``: ours with the other kind of ``messages`` channel (``add_messages`` reducer vs
  ``DeltaChannel``, see :mod:`delta_proto`): the before/after of the schema change.

Reported per side and n: ms per step (run time / checkpoints written) and bytes per
checkpoint (what the saver stores for the thread: checkpoints + channel blobs, and the
pending writes, divided by the number of checkpoints).
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import delta_proto
from _util import Row, median, ms, sqlite_saver
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from shapes import REFLECTION_REQUEST, reflection_graph, reflection_pattern

from agentpatterns import OfflineModel, Runner
from agentpatterns.nodes.runtime import MODEL_KEY

TARGET = 1.1
FLAT = 1.25  # ms per step at 50 iterations / at 5 iterations
SHIPPED = delta_proto.shipped_kind()  # "delta" or "reducer": what PatternState.messages is
OTHER = "reducer" if SHIPPED == "delta" else "delta"


# --------------------------------------------------------------------------- backends


@contextmanager
def _memory(tag: str) -> Iterator[Any]:
    yield InMemorySaver()


@contextmanager
def _sqlite(tag: str) -> Iterator[Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{tag}-") as tmp:
        saver = sqlite_saver(str(Path(tmp) / "runs.db"))
        try:
            yield saver
        finally:
            saver.conn.close()


@contextmanager
def _postgres(tag: str) -> Iterator[Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(os.environ["BENCH_PG_URL"]) as saver:
        saver.setup()
        yield saver


def backends() -> dict[str, Callable[[str], Any]]:
    out = {"memory": _memory, "sqlite": _sqlite}
    if os.environ.get("BENCH_PG_URL", "").startswith(("postgresql://", "postgres://")):
        out["postgres"] = _postgres
    return out


def stored_bytes(saver: Any, thread_id: str) -> tuple[int, int, int]:
    """``(checkpoints, checkpoint+blob bytes, pending-write bytes)`` stored for a thread."""
    name = type(saver).__name__
    if isinstance(saver, InMemorySaver):
        n = state = writes = 0
        for ns in saver.storage.get(thread_id, {}).values():
            for ckpt, meta, _parent in ns.values():
                n += 1
                state += len(ckpt[1]) + len(meta[1] if isinstance(meta, tuple) else meta)
        for (tid, *_rest), (_t, blob) in saver.blobs.items():
            if tid == thread_id:
                state += len(blob)
        for (tid, *_rest), ws in saver.writes.items():
            if tid == thread_id:
                writes += sum(len(w[2][1]) for w in ws.values())
        return n, state, writes
    if "Sqlite" in name:
        with saver.cursor(transaction=False) as cur:
            cur.execute("SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0)"
                        " FROM checkpoints WHERE thread_id = ?", (thread_id,))
            n, state = cur.fetchone()
            cur.execute("SELECT coalesce(sum(length(value)), 0) FROM writes WHERE thread_id = ?",
                        (thread_id,))
            (writes,) = cur.fetchone()
        return int(n), int(state), int(writes)
    if "Postgres" in name:
        with saver._cursor() as cur:
            cur.execute("SELECT count(*) AS n, coalesce(sum(octet_length(checkpoint::text) + "
                        "octet_length(metadata::text)), 0) AS b FROM checkpoints "
                        "WHERE thread_id = %s", (thread_id,))
            row = cur.fetchone()
            n, state = row["n"], row["b"]
            cur.execute("SELECT coalesce(sum(octet_length(blob)), 0) AS b FROM checkpoint_blobs "
                        "WHERE thread_id = %s", (thread_id,))
            state += cur.fetchone()["b"]
            cur.execute("SELECT coalesce(sum(octet_length(blob)), 0) AS b FROM checkpoint_writes"
                        " WHERE thread_id = %s", (thread_id,))
            writes = cur.fetchone()["b"]
        return int(n), int(state), int(writes)
    return 0, 0, 0


# --------------------------------------------------------------------------- measuring


def _measure(backend: Callable[[str], Any], iterations: int, reps: int,
             model: Any) -> dict[str, Any]:
    pattern = reflection_pattern(iterations)
    with delta_proto.patched(OTHER):
        other_pattern = reflection_pattern(iterations)
        other_pattern.graph()
    with ExitStack() as stack:
        savers = {name: stack.enter_context(backend(name))
                  for name in ("ours", "comp", "hand", "other")}
        hand = reflection_graph(model, iterations).compile(checkpointer=savers["hand"])
        compiled = pattern.compile(checkpointer=savers["comp"])

        def runner(p: Any, saver: Any) -> str:
            r = Runner.run_sync(p, REFLECTION_REQUEST, checkpointer=saver, model=model)
            assert r.model_calls == 2 * iterations
            return r.thread_id

        def comp() -> str:
            t = uuid.uuid4().hex
            compiled.invoke({"messages": [HumanMessage(REFLECTION_REQUEST)],
                             "input": REFLECTION_REQUEST},
                            {"configurable": {"thread_id": t, MODEL_KEY: model}})
            return t

        def handwritten() -> str:
            t = uuid.uuid4().hex
            out = hand.invoke({"messages": [HumanMessage(REFLECTION_REQUEST)]},
                              {"configurable": {"thread_id": t}})
            assert len(out["drafts"]) == iterations
            return t

        variants = {"ours": lambda: runner(pattern, savers["ours"]), "comp": comp,
                    "hand": handwritten, "other": lambda: runner(other_pattern, savers["other"])}
        times: dict[str, list[float]] = {k: [] for k in variants}
        sizes: dict[str, tuple[int, int, int]] = {}
        for name, fn in variants.items():
            sizes[name] = stored_bytes(savers[name], fn())
        rng = random.Random(iterations)
        for _ in range(reps):
            order = list(variants)
            rng.shuffle(order)
            for name in order:
                gc.collect()
                t0 = time.perf_counter()
                variants[name]()
                times[name].append(time.perf_counter() - t0)
    out: dict[str, Any] = {}
    for name in variants:
        n, state, writes = sizes[name]
        out[name] = {"run_ms": ms(median(times[name])), "checkpoints": n,
                     "ms_per_step": ms(median(times[name]) / max(n, 1)),
                     "bytes_per_checkpoint": round(state / max(n, 1)),
                     "write_bytes_per_checkpoint": round(writes / max(n, 1)),
                     "stored_bytes": state + writes}
        out[name + "_ratios"] = [a / b for a, b in zip(times[name], times["hand"], strict=True)]
    return out


def run(quick: bool = False, names: list[str] | None = None) -> list[Row]:
    model = OfflineModel()
    rows = []
    for name, backend in backends().items():
        if names and name not in names:
            continue
        small = _measure(backend, 5, 3 if quick else 9, model)
        big = _measure(backend, 50, 2 if quick else 5, model)

        def growth(side: str, key: str, big: Any = big, small: Any = small) -> float:
            return big[side][key] / small[side][key]

        detail = {side: {"5": small[side], "50": big[side],
                         "ratio_vs_hand_5": round(median(small[side + "_ratios"]), 3),
                         "ratio_vs_hand_50": round(median(big[side + "_ratios"]), 3)}
                  for side in ("ours", "comp", "hand", "other")}
        detail["ours_is"] = f"messages as {SHIPPED}"
        detail["other_is"] = f"messages as {OTHER}"
        ours5, ours50, hand5, hand50 = small["ours"], big["ours"], small["hand"], big["hand"]
        rows.append(Row(
            f"checkpoint {name}: reflection 50 it.", ratio=median(big["ours_ratios"]),
            target=TARGET, baseline=f"hand-written reflection graph, same saver kind ({name})",
            ours=f"Runner.run_sync(reflection(iterations=50), checkpointer=<{name} saver>)",
            summary=(f"ms/step ours {ours50['ms_per_step']:.3f} (compiled "
                     f"{big['comp']['ms_per_step']:.3f}) vs hand {hand50['ms_per_step']:.3f}; "
                     f"B/ckpt ours {ours50['bytes_per_checkpoint']} vs hand "
                     f"{hand50['bytes_per_checkpoint']}"),
            detail=detail))
        rows.append(Row(
            f"checkpoint {name}: ms/step, 5 -> 50 it.", ratio=growth("ours", "ms_per_step"),
            target=FLAT, ratio_of="ms/step at 50 it. / at 5 it.",
            baseline="flat = the same cost per step however long the history",
            ours=f"Runner.run_sync, messages as {SHIPPED}",
            summary=(f"ours {ours5['ms_per_step']:.3f} -> {ours50['ms_per_step']:.3f}; "
                     f"{OTHER} {small['other']['ms_per_step']:.3f} -> "
                     f"{big['other']['ms_per_step']:.3f} (x{growth('other', 'ms_per_step'):.2f}); "
                     f"hand {hand5['ms_per_step']:.3f} -> {hand50['ms_per_step']:.3f} "
                     f"(x{growth('hand', 'ms_per_step'):.2f})"),
            detail={"other_growth": round(growth("other", "ms_per_step"), 3),
                    "hand_growth": round(growth("hand", "ms_per_step"), 3),
                    "compiled_growth": round(growth("comp", "ms_per_step"), 3)}))
        rows.append(Row(
            f"checkpoint {name}: bytes/checkpoint, 5 -> 50 it.",
            ratio=growth("ours", "bytes_per_checkpoint"), target=None,
            ratio_of="bytes/ckpt at 50 it. / at 5 it.",
            baseline="what the saver stores per checkpoint (checkpoint + blobs)",
            ours=f"Runner.run_sync, messages as {SHIPPED}",
            note="reported, no target",
            summary=(f"ours {ours5['bytes_per_checkpoint']} -> {ours50['bytes_per_checkpoint']}"
                     f" B; {OTHER} {small['other']['bytes_per_checkpoint']} -> "
                     f"{big['other']['bytes_per_checkpoint']} B "
                     f"(x{growth('other', 'bytes_per_checkpoint'):.2f}); hand "
                     f"{hand5['bytes_per_checkpoint']} -> {hand50['bytes_per_checkpoint']} B "
                     f"(x{growth('hand', 'bytes_per_checkpoint'):.2f})"),
            detail={"other_growth": round(growth("other", "bytes_per_checkpoint"), 3),
                    "hand_growth": round(growth("hand", "bytes_per_checkpoint"), 3),
                    "ours_write_bytes_per_checkpoint_50": ours50["write_bytes_per_checkpoint"],
                    "other_ratio_vs_hand_50": round(median(big["other_ratios"]), 3)}))
    return rows
