"""A thread's checkpoints read as data, without its pattern: no import, no compiled graph.

``threads`` and ``history`` show what is stored, so they must not need the code that made
it: a checkpoint's metadata names its pattern (``module:attribute``), and loading that
would import and call whatever a database row names. Everything here comes from the
checkpoint tuples a saver returns: the parent links give the lineage, ``versions_seen``
says which nodes ran in a step (LangGraph records, per node, the channel versions it has
consumed), and the trigger channels still holding a value say which nodes are due.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["due_nodes", "lineage", "nodes_run", "pending_interrupts", "values_of"]

_BRANCH = "branch:to:"
_JOIN = "join:"


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _id(tup: Any) -> str:
    return str(tup.config["configurable"].get("checkpoint_id") or tup.checkpoint.get("id"))


def lineage(saver: Any, thread_id: str) -> list[Any]:
    """The checkpoint tuples of the thread's current branch, oldest first (head last).

    Args:
        saver: An opened synchronous saver.
        thread_id: The thread.

    Returns:
        The tuples from the first checkpoint to the latest one (empty for an unknown thread).
    """
    head = saver.get_tuple(_config(thread_id))
    if head is None:
        return []
    by_id = {_id(t): t for t in _root_namespace(saver.list(_config(thread_id)))}
    chain, current = [], head
    while current is not None:
        chain.append(current)
        parent = current.parent_config
        current = by_id.get(parent["configurable"].get("checkpoint_id", "")) if parent else None
    return chain[::-1]


def _root_namespace(tuples: Iterator[Any]) -> Iterator[Any]:
    for tup in tuples:
        if tup.config["configurable"].get("checkpoint_ns", "") == "":
            yield tup


def values_of(tup: Any) -> dict[str, Any]:
    """The state values stored in a checkpoint (channel internals left out)."""
    values = tup.checkpoint.get("channel_values") or {}
    return {k: v for k, v in values.items()
            if not k.startswith((_BRANCH, _JOIN)) and not k.startswith("__")}


def nodes_run(before: Any, after: Any) -> list[str]:
    """The nodes whose step turned checkpoint ``before`` into ``after``."""
    seen_before = before.checkpoint.get("versions_seen") or {}
    seen_after = after.checkpoint.get("versions_seen") or {}
    return [node for node, seen in seen_after.items()
            if node != "__input__" and seen != seen_before.get(node)]


def due_nodes(tup: Any) -> list[str]:
    """The nodes the checkpoint says run next (LangGraph's trigger channels holding a value).

    ``branch:to:NODE`` holds a value once an edge or ``Command(goto=...)`` points at NODE,
    until NODE consumes it; a ``join:A+B:NODE`` barrier triggers NODE once every branch it
    names has arrived; ``__start__`` holds the input of a run not yet started.
    """
    values = tup.checkpoint.get("channel_values") or {}
    due: list[str] = []
    for channel, value in values.items():
        if channel == "__start__":
            due.append("__start__")
        elif channel.startswith(_BRANCH):
            due.append(channel[len(_BRANCH):])
        elif channel.startswith(_JOIN) and isinstance(value, (set, frozenset, list)):
            names, _, node = channel[len(_JOIN):].rpartition(":")
            if value and set(value) >= set(names.split("+")):
                due.append(node)
    return list(dict.fromkeys(due))


def pending_interrupts(tup: Any) -> list[Any]:
    """The values of the interrupts a checkpoint's tasks raised and nobody answered yet."""
    writes: Sequence[Any] = tup.pending_writes or ()
    if any(channel == "__resume__" for _, channel, _ in writes):
        return []  # answered; the resumed run has not written its next checkpoint yet
    out: list[Any] = []
    for _, channel, value in writes:
        if channel == "__interrupt__":
            for item in value if isinstance(value, (list, tuple)) else [value]:
                out.append(getattr(item, "value", item))
    return out
