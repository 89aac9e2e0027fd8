"""The SQLite savers :mod:`agentpatterns.storage` opens: LangGraph's, and the turn journal.

``delete_thread`` also deletes the thread's turn-journal rows and SDK run marker
(:mod:`agentpatterns.storage.thread_delete`); a checkpoint row that cannot be read is one
:class:`~agentpatterns.errors.StorageError` (:mod:`agentpatterns.storage.rows`). Imported
only when a ``sqlite://`` checkpointer is opened.
"""

from __future__ import annotations

import sqlite3

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentpatterns.storage.rows import AsyncCheckedReads, CheckedReads
from agentpatterns.storage.thread_delete import aforget, forget

__all__ = ["AgentPatternsSqliteSaver", "AsyncAgentPatternsSqliteSaver"]


class AgentPatternsSqliteSaver(CheckedReads, SqliteSaver):
    """``SqliteSaver`` whose ``delete_thread`` deletes the thread's journal too, and whose
    reads turn a row it cannot use into one ``StorageError``."""

    passed = (sqlite3.Error,)
    _agentpatterns_forgets_journal = True

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes, turn-journal rows and SDK run marker."""
        super().delete_thread(thread_id)
        forget(self, thread_id)


class AsyncAgentPatternsSqliteSaver(AsyncCheckedReads, AsyncSqliteSaver):
    """``AsyncSqliteSaver`` whose ``adelete_thread`` deletes the thread's journal too, and
    whose reads turn a row it cannot use into one ``StorageError``."""

    passed = (sqlite3.Error,)
    _agentpatterns_forgets_journal = True

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes, turn-journal rows and SDK run marker."""
        await super().adelete_thread(thread_id)
        await aforget(self, thread_id)
