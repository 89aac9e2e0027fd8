"""Crash durability of SDK runs: a running marker, a journal of completed calls, one lock.

A run whose ``store`` is a database (``sqlite:///...``, ``postgresql://...``; by default the
checkpointer URL) is made durable the way the LangGraph runtime's steps are:

* it takes the thread's lock (:func:`agentpatterns.run.locks.thread_lock`: the SQLite lease
  with its fencing token, the PostgreSQL advisory lock) in the journal's database, so no
  second process runs the thread at the same time;
* it saves a **running marker** in the store (status ``running``, a run id, how it
  started), so the threads listing shows a killed run as ``cut off``, not done;
* every completed model call and function tool call is written to the turn journal
  (table ``agentpatterns_journal``, namespace :data:`RUNTIME_NS`, task id = the run id)
  **before the run goes on** (:class:`Sink`); the lease is checked before each call starts;
* ``resuming.crash_resume`` continues a killed run from another process: the session the
  killed run extended is cut back to what the run started from, and the run is made again
  from its start with the recorded calls replayed (the same responses, so the same route;
  see :mod:`~agentpatterns.adapters.openai_agents.replay`) - only the calls that never
  completed are made;
* when the run ends (finished, or stopped deliberately and saved), its journal rows are
  deleted; a run that raised keeps its marker and rows, so it can be resumed.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agentpatterns.adapters.openai_agents.replay import Journal
from agentpatterns.adapters.openai_agents.run import Run, _tripwire_of
from agentpatterns.adapters.openai_agents.store import load, save
from agentpatterns.errors import ResumeError

__all__ = ["RUNTIME_NS", "JournalKey", "Sink", "drive_run", "durable_spec", "durably", "finish"]

#: The journal namespace (``checkpoint_ns`` column) of SDK runs.
RUNTIME_NS = "openai_agents"


@dataclass(frozen=True, kw_only=True)
class JournalKey:
    """An SDK run's key in the turn journal (the shape of ``nodes.journal.TaskKey``).

    Attributes:
        thread_id: The thread.
        task_id: The run id (the marker's ``run_id``).
        checkpoint_ns: :data:`RUNTIME_NS`.
        parent_ns: Unused (``""``).
        checkpoint_id: ``""``: no checkpoint owns the rows (never pruned by the LangGraph
            runtime's lock; deleted when the SDK run ends).
    """

    thread_id: str
    task_id: str
    checkpoint_ns: str = RUNTIME_NS
    parent_ns: str = ""
    checkpoint_id: str = ""


class Sink:
    """Writes a run's completed calls to the journal, each committed before it returns.

    Args:
        store: The saver's journal (:func:`agentpatterns.storage.journal.journal_store`).
        key: The run's :class:`JournalKey`.
        seq: The next entry's position (the number of rows already recorded).
    """

    def __init__(self, store: Any, key: JournalKey, seq: int = 0) -> None:
        self.store, self.key, self.seq = store, key, seq

    def write(self, name: str, value: Any) -> None:
        """Record one completed call (``name``: the replay key)."""
        kind = name.split(":", 1)[0] if name.startswith(("tool:", "call:")) else "model"
        self.store.record(self.key, (self.seq, kind, name, value))
        self.seq += 1

    def check(self) -> None:
        """Raise ``LeaseLostError`` when the run no longer holds its thread."""
        self.store.check(self.key)

    def effect_key(self, name: str, n: int) -> str:
        """The idempotency key of the ``n``-th call ``name`` (``tool:NAME:CALL_ID``) of the
        run: the same when a resume makes that call again (the run id, the replayed call id
        and position are the same), other for another run of the thread."""
        from agentpatterns.nodes.journal import TaskKey, effect_key

        return effect_key(TaskKey(thread_id=self.key.thread_id,
                                  checkpoint_ns=self.key.checkpoint_ns,
                                  task_id=f"{self.key.task_id}\x1f{name}"), n)


def durable_spec(checkpointer: Any, store: Any) -> Any:
    """Where a run's journal and lock live: the checkpointer when it is a database URL, else
    the store's URL; ``None`` when the store is not a database (nothing outlives the
    process, so nothing is journaled)."""
    from agentpatterns.storage.spec import _parse

    def database(spec: Any) -> bool:
        return isinstance(spec, str) and _parse(spec, "store").backend in ("sqlite", "postgres")

    if not database(store):
        return None
    return checkpointer if database(checkpointer) else store


async def _history(run: Run) -> int | None:
    """How many items the run's session holds before the run (``None``: no session)."""
    if run.session is None:
        return None
    return len(list(await run.session.get_items()))


async def _cut_back(session: Any, history: int | None) -> None:
    """Drop what a killed run added to ``session`` (it is made again by the replay)."""
    if session is None or history is None:
        return
    items = list(await session.get_items())
    if len(items) <= history:
        return
    from agentpatterns.adapters.openai_agents.session import CheckpointSession

    if isinstance(session, CheckpointSession):
        await session.clear_session()
        await session.add_items(items[:history])
        return
    for _ in range(len(items) - history):
        await session.pop_item()


@asynccontextmanager
async def durably(run: Run, start: Mapping[str, Any], *, resumed: Mapping[str, Any] | None = None,
                  expect: Mapping[str, Any] | None = None) -> AsyncIterator[None]:
    """Hold the thread, mark the run running and journal its calls for the ``async with``.

    Args:
        run: The run (its ``durable`` spec set: see :func:`durable_spec`).
        start: How the run started, to make it again after a crash: ``{"mode": "run"}``, or
            ``{"mode": "resume", "saved": ..., "decision": ...}`` (a resumed stop).
        resumed: The marker of a killed run being continued (its run id, rows and session
            length are taken over), or ``None`` for a new run.
        expect: What the store held when the resume was decided: once the thread's lock is
            held it must still hold it (else another process resumed the run meanwhile).

    Raises:
        ThreadBusyError: Another process runs the thread.
        ResumeError: ``expect`` is no longer what the store holds.
    """
    from agentpatterns.run.locks import thread_lock
    from agentpatterns.storage.journal import journal_store
    from agentpatterns.storage.journal_sql import delete_ns_rows
    from agentpatterns.storage.kept import kept

    assert run.guard is not None
    # the saver is kept open for the process's later runs (storage.kept)
    with kept(run.durable, "checkpointer") as saver, thread_lock(saver, run.thread_id):
        if expect is not None and await load(run.store, run.thread_id) != dict(expect):
            raise ResumeError(f"thread {run.thread_id!r} was resumed by another process "
                              "meanwhile; see its state with `agentpatterns threads`")
        store = journal_store(saver)
        journal = run.guard.journal
        if journal is None:
            journal = run.guard.journal = Journal(gates=False)
        if resumed is not None:
            run_id = str(resumed["run_id"])
            key = JournalKey(thread_id=run.thread_id, task_id=run_id)
            rows = store.load(key)
            for _, _, name, value in rows:
                journal.recorded.setdefault(name, []).append(value)
            history = resumed.get("history")
            await _cut_back(run.session, history)
        else:
            run_id = uuid.uuid4().hex
            key = JournalKey(thread_id=run.thread_id, task_id=run_id)
            delete_ns_rows(saver, run.thread_id, RUNTIME_NS)  # an earlier killed run's
            rows, history = [], await _history(run)
        journal.sink = Sink(store, key, len(rows))
        marker = {"kind": "run", "status": "running", "run_id": run_id, "start": dict(start),
                  "history": history, "items": run.items}
        await save(run, marker)
        try:
            yield
        except Exception as exc:
            if _tripwire_of(exc) is not None:  # a guardrail ended the run: it is done
                await save(run, {"kind": "run", "status": "done"})
            raise
        finally:
            if run.guard.journal is not None:
                run.guard.journal.sink = None
            # raised with the marker standing (no stop saved by the driver): resumable
            if run.log.saved != "running":
                delete_ns_rows(saver, run.thread_id, RUNTIME_NS)


async def drive_run(run: Run) -> Any:
    """Drive a new run (``nested.drive``), durably when its store is a database."""
    from agentpatterns.adapters.openai_agents.nested import drive

    if run.durable is None:
        return await drive(run)
    async with durably(run, {"mode": "run"}):
        return await finish(run, await drive(run))


async def finish(run: Run, result: Any) -> Any:
    """After a durable run returned: a finished run's marker says ``done``, with its path
    (an interrupted one was saved by its driver, waiting)."""
    if not result.interrupted:
        await save(run, {"kind": "run", "status": "done", "path": list(result.path)})
    return result
