"""The SQLite savers :mod:`agentpatterns.storage` opens: LangGraph's, and the turn journal.

``delete_thread`` also deletes the thread's turn-journal rows
(:mod:`agentpatterns.storage.journal_sql`); a checkpoint row that cannot be read is one
:class:`~agentpatterns.errors.StorageError` (:mod:`agentpatterns.storage.rows`). Imported
only when a ``sqlite://`` checkpointer is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentpatterns.errors import StorageError
from agentpatterns.storage.journal_sql import adelete_rows, delete_rows
from agentpatterns.storage.rows import checked, unreadable

__all__ = ["AgentPatternsSqliteSaver", "AsyncAgentPatternsSqliteSaver"]


_PASS = (StorageError, sqlite3.Error)  # errors of the database itself keep their handling


class AgentPatternsSqliteSaver(SqliteSaver):
    """``SqliteSaver`` whose ``delete_thread`` deletes the thread's journal too, and whose
    reads turn a row it cannot use into one ``StorageError``."""

    def get_tuple(self, config: Any) -> Any:
        """``SqliteSaver.get_tuple``, the row checked (:mod:`agentpatterns.storage.rows`)."""
        try:
            return checked(super().get_tuple(config))
        except _PASS:
            raise
        except Exception as exc:
            raise unreadable(config, exc) from None

    def list(self, config: Any, **kwargs: Any) -> Iterator[Any]:
        """``SqliteSaver.list``, every row checked."""
        rows = super().list(config, **kwargs)
        while True:
            try:
                tup = next(rows)
            except StopIteration:
                return
            except _PASS:
                raise
            except Exception as exc:
                raise unreadable(config, exc) from None
            yield checked(tup)

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes and turn-journal rows."""
        super().delete_thread(thread_id)
        delete_rows(self, thread_id)


class AsyncAgentPatternsSqliteSaver(AsyncSqliteSaver):
    """``AsyncSqliteSaver`` whose ``adelete_thread`` deletes the thread's journal too, and
    whose reads turn a row it cannot use into one ``StorageError``."""

    async def aget_tuple(self, config: Any) -> Any:
        """``AsyncSqliteSaver.aget_tuple``, the row checked."""
        try:
            return checked(await super().aget_tuple(config))
        except _PASS:
            raise
        except Exception as exc:
            raise unreadable(config, exc) from None

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """``AsyncSqliteSaver.alist``, every row checked."""
        rows = super().alist(config, **kwargs)
        while True:
            try:
                tup = await rows.__anext__()
            except StopAsyncIteration:
                return
            except _PASS:
                raise
            except Exception as exc:
                raise unreadable(config, exc) from None
            yield checked(tup)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes and turn-journal rows."""
        await super().adelete_thread(thread_id)
        await adelete_rows(self, thread_id)
