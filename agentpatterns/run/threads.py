"""Threads in a checkpoint database: list them, show a thread's steps, fork one (time travel).

Used by the ``threads``, ``history`` and ``fork`` commands. Everything works on an opened
synchronous saver (any backend ``storage`` opens) and, where a thread's graph is needed to
know what runs next, on the pattern's compiled graph.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentpatterns.errors import InputError
from agentpatterns.run.lineage import (
    due_nodes,
    lineage,
    nodes_run,
    pending_interrupts,
    values_of,
)
from agentpatterns.run.locks import running_threads
from agentpatterns.run.locks_pg import pg_connection, saver_lock
from agentpatterns.run.sdk_runs import SdkRun, sdk_runs
from agentpatterns.storage.identity import is_psycopg as _is_psycopg

__all__ = [
    "CUT_OFF",
    "DONE",
    "RUNNING",
    "WAITING",
    "HistoryStep",
    "ThreadInfo",
    "api_fork",
    "api_history",
    "api_threads",
    "find_checkpoint",
    "fork_at",
    "fork_thread",
    "list_threads",
    "snapshot_status",
    "thread_history",
    "thread_ids",
]

DONE = "done"
WAITING = "waiting for approval"
CUT_OFF = "cut off"
RUNNING = "running"

#: Checkpoint metadata keys the command line writes (through ``configurable``).
PATTERN_KEY = "agentpatterns_pattern"
FORKED_FROM_KEY = "agentpatterns_forked_from"
FORKED_AT_KEY = "agentpatterns_forked_at"


@dataclass(frozen=True, kw_only=True)
class ThreadInfo:
    """One line of ``agentpatterns threads``.

    Attributes:
        thread_id: The thread.
        pattern: The pattern recorded with it (built-in name or ``module:attribute``).
        status: ``done``, ``waiting for approval``, ``cut off`` or ``running``.
        updated: When its last checkpoint was written (ISO 8601, UTC).
        agents: The agents of its latest run, in the order they acted.
        checkpoint_id: Its latest checkpoint.
        holder: Who is running it, when ``status`` is ``running``.
    """

    thread_id: str
    pattern: str | None
    status: str
    updated: str
    agents: list[str] = field(default_factory=list)
    checkpoint_id: str = ""
    holder: str | None = None


@dataclass(frozen=True, kw_only=True)
class HistoryStep:
    """One checkpoint of a thread, as ``agentpatterns history`` shows it.

    Attributes:
        step: LangGraph's step number (``-1`` for the input of a run).
        source: ``input``, ``loop``, ``update`` or ``fork``.
        nodes: The graph nodes whose step wrote this checkpoint.
        agents: The agents that acted in that step.
        handoffs: The handoffs made in that step, as ``(from, to)`` pairs.
        created_at: When the checkpoint was written (ISO 8601, UTC).
        checkpoint_id: The checkpoint (pass it to ``fork``).
        note: The request (for an input), a pending approval, or what runs next.
    """

    step: int
    source: str
    nodes: list[str]
    agents: list[str]
    handoffs: list[tuple[str, str]]
    created_at: str
    checkpoint_id: str
    note: str = ""

    @property
    def time(self) -> datetime | None:
        """``created_at`` as an aware ``datetime`` (``None`` if it was not recorded)."""
        try:
            return datetime.fromisoformat(self.created_at)
        except ValueError:
            return None


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


# --------------------------------------------------------------------------- listing


def thread_ids(saver: Any) -> list[str]:
    """Every thread in the saver's database, most recently written first.

    Args:
        saver: An opened synchronous saver.

    Returns:
        The thread ids.
    """
    conn: Any = getattr(saver, "conn", None)
    query = ("SELECT thread_id, MAX(checkpoint_id) AS latest FROM checkpoints "
             "WHERE checkpoint_ns = '' GROUP BY thread_id ORDER BY latest DESC")
    if type(conn).__module__ == "sqlite3":
        with saver_lock(saver):
            return [row[0] for row in conn.execute(query).fetchall()]
    if _is_psycopg(conn):
        with pg_connection(saver) as held, saver_lock(saver):
            rows = held.execute(query).fetchall()
        return [row["thread_id"] if isinstance(row, dict) else row[0] for row in rows]
    storage = getattr(saver, "storage", None)
    if isinstance(storage, dict):  # InMemorySaver: thread -> namespace -> checkpoints
        latest = {t: max(ns.get("", {}) or [""]) for t, ns in storage.items()}
        return sorted((t for t in latest if latest[t]), key=lambda t: latest[t], reverse=True)
    seen: dict[str, None] = {}
    for tup in saver.list(None):
        seen.setdefault(tup.config["configurable"]["thread_id"], None)
    return list(seen)


def snapshot_status(snapshot: Any) -> str:
    """``done``, ``waiting for approval`` or ``cut off``, from a thread's ``get_state()``.

    The head checkpoint's tasks count, not only ``snapshot.next``: a process that died
    after a step's writes were saved but before the next checkpoint (LangGraph's default
    ``durability="async"``) leaves tasks whose writes are saved, which ``next`` leaves out;
    that run is not finished - resuming it applies those writes and goes on.
    """
    if snapshot.interrupts:
        return WAITING
    return CUT_OFF if (snapshot.next or snapshot.tasks) else DONE


def _raw_status(tup: Any) -> str:
    """The status from the checkpoint alone, for threads whose pattern cannot be loaded."""
    channels = {channel for _, channel, _ in tup.pending_writes or ()}
    # the channel names LangGraph stores an interrupt and its answer under
    if "__interrupt__" in channels and "__resume__" not in channels:
        return WAITING
    values = tup.checkpoint.get("channel_values") or {}
    # a node is due when its trigger channel holds a value (LangGraph's branch:to:NODE)
    pending = any(k == "__start__" or k.startswith("branch:to:") for k in values)
    return CUT_OFF if pending else DONE


def list_threads(saver: Any, *,
                 on_unreadable: Callable[[str, Exception], None] | None = None
                 ) -> list[ThreadInfo]:
    """Describe every thread of the saver's database, from the stored data alone.

    Nothing is imported or compiled: the pattern a thread records is shown as text.

    Args:
        saver: An opened synchronous saver.
        on_unreadable: Called with ``(thread_id, error)`` for a thread whose latest
            checkpoint cannot be decoded (e.g. a row another program wrote with pickle);
            that thread is left out. Default: a ``RuntimeWarning`` naming it.

    Returns:
        One :class:`ThreadInfo` per readable thread, most recently written first.
    """
    ids = thread_ids(saver)
    sdk = sdk_runs(saver)
    ids += [t for t in sdk if t not in ids]
    busy = running_threads(saver, ids)
    out = []
    for thread_id in ids:
        try:
            tup = saver.get_tuple(_config(thread_id))
        except Exception as exc:  # a row the pickle-free serializer refuses, or garbage
            if on_unreadable is None:
                warnings.warn(f"thread {thread_id!r} skipped: its latest checkpoint cannot be "
                              f"read ({type(exc).__name__}: {exc})", RuntimeWarning,
                              stacklevel=2)
            else:
                on_unreadable(thread_id, exc)
            continue
        run = sdk.get(thread_id)
        pattern = (tup.metadata or {}).get(PATTERN_KEY) if tup is not None else None
        if run is not None and (tup is None or not pattern or _older(tup, run)):
            # the SDK runtime ran it last (its conversation checkpoints name no pattern)
            values = values_of(tup) if tup is not None else {}
            out.append(ThreadInfo(
                thread_id=thread_id, pattern=run.pattern,
                status=RUNNING if thread_id in busy else _SDK_STATUS.get(run.status, CUT_OFF),
                updated=_iso(run.updated),
                agents=run.path or [a for a in values.get("path") or [] if isinstance(a, str)],
                checkpoint_id=str(tup.checkpoint.get("id", "")) if tup is not None else "",
                holder=busy.get(thread_id)))
            continue
        if tup is None:
            continue
        values = values_of(tup)
        out.append(ThreadInfo(
            thread_id=thread_id,
            pattern=str(pattern) if pattern else None,
            status=RUNNING if thread_id in busy else _raw_status(tup),
            updated=str(tup.checkpoint.get("ts", "")),
            agents=[a for a in values.get("path") or [] if isinstance(a, str)],
            checkpoint_id=str(tup.checkpoint.get("id", "")),
            holder=busy.get(thread_id),
        ))
    return out


#: an SDK run's saved status -> the listing's (a ``running`` one nobody holds was killed)
_SDK_STATUS = {"running": CUT_OFF, "waiting": WAITING, "budget": CUT_OFF, "done": DONE}


def _moment(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _iso(text: str) -> str:
    stamp = _moment(text)
    return stamp.isoformat() if stamp is not None else text


def _older(tup: Any, run: SdkRun) -> bool:
    """The thread's last LangGraph checkpoint is older than its SDK run's saved state."""
    ours, theirs = _moment(run.updated), _moment(str(tup.checkpoint.get("ts", "")))
    return ours is not None and theirs is not None and theirs < ours


# --------------------------------------------------------------------------- history


def _added(before: Sequence[Any], after: Sequence[Any]) -> list[Any]:
    """What a step appended to a per-run list (all of it when a new run reset the list)."""
    before, after = list(before), list(after)
    if after[: len(before)] == before:
        return after[len(before):]
    return after


def thread_history(saver: Any, thread_id: str) -> list[HistoryStep]:
    """Every checkpoint of the thread's current branch, oldest first, from the data alone.

    Nothing is imported or compiled: the steps come from the stored checkpoints (see
    :mod:`agentpatterns.run.lineage`), so any thread can be shown, whoever started it.

    Args:
        saver: An opened synchronous saver holding the thread.
        thread_id: The thread.

    Returns:
        One :class:`HistoryStep` per checkpoint (empty for an unknown thread).
    """
    steps: list[HistoryStep] = []
    chain = lineage(saver, thread_id)
    previous: Any = None
    for i, tup in enumerate(chain):
        values = values_of(tup)
        before = values_of(previous) if previous is not None else {}
        metadata = tup.metadata or {}
        source = str(metadata.get("source", ""))
        nodes = [] if source == "input" or previous is None else nodes_run(previous, tup)
        handoffs = [(str(h.get("from")), str(h.get("to")))
                    for h in _added(before.get("handoffs") or [], values.get("handoffs") or [])
                    if isinstance(h, dict)]
        notes = []
        if source == "input" and i + 1 < len(chain):
            # an input checkpoint holds the request unread; the next one has it in state
            notes.append(f"request: {values_of(chain[i + 1]).get('input', '')}")
        if metadata.get(FORKED_FROM_KEY):
            notes.append(f"forked from {metadata[FORKED_FROM_KEY]} at "
                         f"{metadata.get(FORKED_AT_KEY)}")
        asked = pending_interrupts(tup)
        if i == len(chain) - 1:
            due = [n for n in due_nodes(tup) if n != "__start__"] if source != "input" else []
            if asked:
                notes.append(WAITING)
            elif due:
                notes.append("next: " + ", ".join(due))
        elif any(channel == "__interrupt__" for _, channel, _ in tup.pending_writes or ()):
            notes.append("asked for approval")
        steps.append(HistoryStep(
            step=int(metadata.get("step", -1)),
            source=source,
            nodes=[n.removeprefix("__").removesuffix("__") for n in nodes],
            agents=[a for a in _added(before.get("path") or [], values.get("path") or [])
                    if isinstance(a, str)],
            handoffs=handoffs,
            created_at=str(tup.checkpoint.get("ts", "")),
            checkpoint_id=str(tup.checkpoint.get("id", "")),
            note="; ".join(notes),
        ))
        previous = tup
    return steps


def local_time(stamp: str) -> str:
    """An ISO 8601 checkpoint time as local ``YYYY-MM-DD HH:MM:SS`` (as is if unparsable)."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


# --------------------------------------------------------------------------- fork


def find_checkpoint(saver: Any, thread_id: str, checkpoint: str) -> str | None:
    """The full id of a checkpoint of ``thread_id`` given by its id or a unique prefix.

    Args:
        saver: An opened synchronous saver.
        thread_id: The thread.
        checkpoint: A checkpoint id, or the start of one.

    Returns:
        The checkpoint id, or ``None`` if no checkpoint of the thread matches.

    Raises:
        ValueError: The prefix matches several checkpoints (the message lists them).
    """
    if saver.get_tuple(_config(thread_id, checkpoint)) is not None:
        return checkpoint
    matches = [t.checkpoint["id"] for t in saver.list(_config(thread_id))
               if t.config["configurable"].get("checkpoint_ns", "") == ""
               and str(t.checkpoint["id"]).startswith(checkpoint)]
    if len(matches) > 1:
        raise ValueError(f"checkpoint {checkpoint!r} is ambiguous in thread {thread_id!r}: "
                         f"{', '.join(matches)}; give more of the id")
    return matches[0] if matches else None


def _writes_by_task(writes: Iterable[tuple[str, str, Any]]) -> dict[str, list[tuple[str, Any]]]:
    grouped: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in writes:
        grouped.setdefault(task_id, []).append((channel, value))
    return grouped


def fork_thread(saver: Any, thread_id: str, checkpoint_id: str, new_thread_id: str) -> None:
    """Make ``new_thread_id`` a thread whose state is ``thread_id``'s at ``checkpoint_id``.

    The checkpoint and its ancestors are copied with their ids and parent links (and the
    ancestors' pending writes, which LangGraph may need to rebuild channel values), so
    the new thread's history is the path that led there. Of the forked checkpoint's own
    pending writes only an interrupt is kept: nothing that happened after it carries over,
    so resuming the new thread runs the next step afresh, and a fork of a run that was
    waiting for approval waits for a (possibly different) decision. The source thread is
    not touched.

    Args:
        saver: An opened synchronous saver holding ``thread_id``.
        thread_id: The thread to fork.
        checkpoint_id: The checkpoint to fork at (a full id; see :func:`find_checkpoint`).
        new_thread_id: The new thread; it must not exist yet.

    Raises:
        KeyError: ``checkpoint_id`` is not a checkpoint of ``thread_id``.
    """
    tup = saver.get_tuple(_config(thread_id, checkpoint_id))
    if tup is None:
        raise KeyError(f"checkpoint {checkpoint_id!r} is not in thread {thread_id!r}")
    chain = []
    while tup is not None:
        chain.append(tup)
        tup = saver.get_tuple(tup.parent_config) if tup.parent_config else None
    chain.reverse()
    parent_id: str | None = None
    for i, item in enumerate(chain):
        head = i == len(chain) - 1
        metadata = dict(item.metadata or {})
        if head:
            metadata[FORKED_FROM_KEY] = thread_id
            metadata[FORKED_AT_KEY] = checkpoint_id
        checkpoint = item.checkpoint
        # every channel version counts as new, so savers that store values apart from the
        # checkpoint (PostgreSQL blobs, InMemorySaver) write all of them for the new thread
        stored = saver.put(_config(new_thread_id, parent_id), checkpoint, metadata,
                           dict(checkpoint.get("channel_versions") or {}))
        writes = item.pending_writes or ()
        if head:  # keep only a pending question, so a fork of a waiting run waits too
            writes = [w for w in writes if w[1] == "__interrupt__"]
        for task_id, task_writes in _writes_by_task(writes).items():
            saver.put_writes(stored, task_writes, task_id)
        parent_id = str(checkpoint["id"])


# --------------------------------------------------------------------------- Python API


def fork_at(saver: Any, thread_id: str, checkpoint: str,
            new_thread_id: str | None = None) -> tuple[str, str]:
    """Fork ``thread_id`` at ``checkpoint`` (an id or a unique prefix) into a new thread.

    Args:
        saver: An opened synchronous saver holding the thread.
        thread_id: The thread to fork.
        checkpoint: The checkpoint id, or a unique start of one; never empty.
        new_thread_id: The new thread (default: ``THREAD-fork-XXXXXX``); it must not exist.

    Returns:
        ``(new_thread_id, full checkpoint id)``.

    Raises:
        InputError: An empty id, a checkpoint not in the thread, an ambiguous prefix, an
            existing new thread.
        ThreadBusyError: Someone is running the new thread.
    """
    from agentpatterns.run.locks import thread_lock

    if not checkpoint or not checkpoint.strip():
        raise InputError("the checkpoint id is empty; pass one of the ids `agentpatterns "
                         f"history --thread {thread_id}` lists (a unique prefix is enough)")
    try:
        found = find_checkpoint(saver, thread_id, checkpoint)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if found is None:
        raise InputError(f"checkpoint {checkpoint!r} is not in thread {thread_id!r}; list them "
                         f"with `agentpatterns history --thread {thread_id}`")
    new = new_thread_id or f"{thread_id}-fork-{uuid.uuid4().hex[:6]}"
    if saver.get_tuple(_config(new)) is not None:
        raise InputError(f"thread {new!r} already exists; choose another new thread id")
    with thread_lock(saver, new):
        fork_thread(saver, thread_id, found, new)
    return new, found


def api_threads(checkpointer: Any = None) -> list[ThreadInfo]:
    """The threads of a checkpoint database, with their status, most recent first.

    Reads only (a SQLite file is opened read-only) and imports nothing: any thread is
    listed, whoever started it. A thread whose latest checkpoint cannot be decoded is
    skipped with a ``RuntimeWarning``.

    Args:
        checkpointer: A saver or a URL (``sqlite:///runs.db``, ``postgresql://...``,
            ``memory``; ``None`` is this process's in-memory saver).

    Returns:
        One :class:`ThreadInfo` per thread: ``thread_id``, ``status`` (``done``,
        ``waiting for approval``, ``cut off``, ``running``), ``agents``, ``updated``...

    Example:
        >>> from agentpatterns import Runner
        >>> from agentpatterns.examples import example
        >>> _ = Runner.run_sync(example("triage"), "book a table", thread_id="doc-t",
        ...                     checkpointer="memory://doc-threads")
        >>> [(t.thread_id, t.status, t.agents) for t in Runner.threads("memory://doc-threads")]
        [('doc-t', 'done', ['Triage Agent', 'Booking Agent'])]
    """
    from agentpatterns.storage import open_checkpointer

    with open_checkpointer(checkpointer, read_only=True) as saver:
        return list_threads(saver)


def api_history(thread_id: str, *, checkpointer: Any = None) -> list[HistoryStep]:
    """A thread's checkpoints as typed steps, oldest first (what ``agentpatterns history`` shows).

    Reads only and imports nothing; works for threads started from Python or the CLI.

    Args:
        thread_id: The thread.
        checkpointer: A saver or a URL (as for :meth:`Runner.threads`).

    Returns:
        One :class:`HistoryStep` per checkpoint: ``agents`` that acted, ``handoffs``,
        ``nodes``, ``time``, ``checkpoint_id`` (pass it to :meth:`Runner.fork`), ``note``.

    Raises:
        InputError: The thread is not in that database.

    Example:
        >>> from agentpatterns import Runner
        >>> from agentpatterns.examples import example
        >>> _ = Runner.run_sync(example("triage"), "book a table", thread_id="doc-h",
        ...                     checkpointer="memory://doc-history")
        >>> steps = Runner.history("doc-h", checkpointer="memory://doc-history")
        >>> [(s.agents, s.handoffs) for s in steps if s.agents]
        [(['Triage Agent'], [('Triage Agent', 'Booking Agent')]), (['Booking Agent'], [])]
    """
    from agentpatterns.storage import open_checkpointer

    with open_checkpointer(checkpointer, read_only=True) as saver:
        steps = thread_history(saver, thread_id)
    if not steps:
        raise InputError(f"thread {thread_id!r} is not in this database; list the threads with "
                         "Runner.threads(checkpointer)")
    return steps


def api_fork(thread_id: str, checkpoint_id: str, *, checkpointer: Any = None,
             new_thread_id: str | None = None) -> str:
    """Copy a thread as of one of its checkpoints into a new thread (time travel).

    Resume the new thread with ``Runner.resume(pattern, thread_id=new, ...)``: it runs on
    from that checkpoint (a fork of a run waiting for approval waits for a decision). The
    source thread is not changed.

    Args:
        thread_id: The thread to fork.
        checkpoint_id: A checkpoint id from :meth:`Runner.history` (or a unique prefix).
        checkpointer: A saver or a URL holding the thread.
        new_thread_id: The new thread's id (default: ``THREAD-fork-XXXXXX``).

    Returns:
        The new thread's id.

    Raises:
        InputError: An empty or unknown checkpoint id, an ambiguous prefix, an existing
            ``new_thread_id``.
    """
    from agentpatterns.storage import open_checkpointer

    with open_checkpointer(checkpointer) as saver:
        return fork_at(saver, thread_id, checkpoint_id, new_thread_id)[0]
