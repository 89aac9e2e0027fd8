"""The PostgreSQL savers :mod:`agentpatterns.storage` opens: any text, and the turn journal.

``delete_thread`` (and ``prune`` with ``strategy="delete"``) also deletes the thread's
turn-journal rows and SDK run marker (:mod:`agentpatterns.storage.thread_delete`).

Any text: strings JSONB cannot hold go to the blob table.

LangGraph's ``PostgresSaver`` keeps ``str`` (and other primitive) channel values inline in
the checkpoint's JSONB column and everything else, serialised, in ``checkpoint_blobs``.
JSONB cannot hold ``\\u0000``, and on a database whose encoding is not UTF-8 it cannot hold
non-ASCII characters either: a request, a model reply or a tool result with such text made
``put`` fail with ``UntranslatableCharacter``, while SQLite stores it. These subclasses
send exactly those strings the blob way (serialised by the saver's serde, like a message
is); every other value is stored as LangGraph stores it, and reading needs nothing
special (a channel's value is looked up in the blob table by version either way).

Imported only when a ``postgresql://`` checkpointer is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from agentpatterns.storage.rows import AsyncCheckedReads, CheckedReads
from agentpatterns.storage.thread_delete import aforget, forget

__all__ = ["AsyncAgentPatternsPostgresSaver", "AgentPatternsPostgresSaver", "jsonb_safe"]


def jsonb_safe(text: str, *, utf8: bool) -> bool:
    """Whether PostgreSQL can keep ``text`` in a JSONB value.

    Args:
        text: The string.
        utf8: The database's encoding is UTF-8 (else only ASCII is safe).
    """
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    if not utf8:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


class _BlobText:
    """A string channel value to store in the blob table (unwrapped before serialising)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _utf8(conn: Any) -> bool:
    info = getattr(conn, "info", None)  # a connection (a pool has none: assume the worst)
    if info is None:
        return False
    status = info.parameter_status("server_encoding")
    return bool(status) and str(status.decode() if isinstance(status, bytes) else status
                                ).upper().replace("-", "") == "UTF8"


def _for_jsonb(checkpoint: Any, utf8: bool) -> Any:
    values = checkpoint["channel_values"]
    unsafe = [k for k, v in values.items() if isinstance(v, str) and not jsonb_safe(v, utf8=utf8)]
    if not unsafe:
        return checkpoint
    copy = checkpoint.copy()
    copy["channel_values"] = {k: _BlobText(v) if k in unsafe else v for k, v in values.items()}
    return copy


def _unwrapped(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.text if isinstance(v, _BlobText) else v for k, v in values.items()}


class AgentPatternsPostgresSaver(CheckedReads, PostgresSaver):
    """``PostgresSaver`` whose string values JSONB cannot hold are stored as blobs, whose
    ``delete_thread`` deletes the thread's journal too, and whose reads turn a row it
    cannot use into one ``StorageError`` (:mod:`agentpatterns.storage.rows`)."""

    passed = (psycopg.Error,)
    _server_utf8: bool | None = None
    _agentpatterns_forgets_journal = True

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        """``PostgresSaver.put``, with unsafe strings moved to the blob table."""
        if self._server_utf8 is None:
            self._server_utf8 = _utf8(self.conn)
        return super().put(config, _for_jsonb(checkpoint, self._server_utf8), metadata,
                           new_versions)

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes, turn-journal rows and SDK run marker."""
        super().delete_thread(thread_id)
        forget(self, thread_id)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``PostgresSaver.prune``; ``"delete"`` also deletes what ``delete_thread`` does."""
        super().prune(thread_ids, strategy=strategy)
        if strategy == "delete":
            for thread_id in thread_ids:
                forget(self, thread_id)

    def _dump_blobs(self, thread_id: str, checkpoint_ns: str, values: dict[str, Any],
                    versions: Any) -> Any:
        return super()._dump_blobs(thread_id, checkpoint_ns, _unwrapped(values), versions)


class AsyncAgentPatternsPostgresSaver(AsyncCheckedReads, AsyncPostgresSaver):
    """``AsyncPostgresSaver`` whose string values JSONB cannot hold are stored as blobs,
    whose ``adelete_thread`` deletes the thread's journal too, and whose reads turn a row
    it cannot use into one ``StorageError``."""

    passed = (psycopg.Error,)
    _server_utf8: bool | None = None
    _agentpatterns_forgets_journal = True

    async def aput(self, config: Any, checkpoint: Any, metadata: Any,
                   new_versions: Any) -> Any:
        """``AsyncPostgresSaver.aput``, with unsafe strings moved to the blob table."""
        if self._server_utf8 is None:
            self._server_utf8 = _utf8(self.conn)
        return await super().aput(config, _for_jsonb(checkpoint, self._server_utf8),
                                  metadata, new_versions)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes, turn-journal rows and SDK run marker."""
        await super().adelete_thread(thread_id)
        await aforget(self, thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
                     ) -> None:
        """``AsyncPostgresSaver.aprune``; ``"delete"`` also deletes what ``adelete_thread``
        does."""
        await super().aprune(thread_ids, strategy=strategy)
        if strategy == "delete":
            for thread_id in thread_ids:
                await aforget(self, thread_id)

    def _dump_blobs(self, thread_id: str, checkpoint_ns: str, values: dict[str, Any],
                    versions: Any) -> Any:
        return super()._dump_blobs(thread_id, checkpoint_ns, _unwrapped(values), versions)
