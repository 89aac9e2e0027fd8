"""Deleting a thread deletes its turn journal and its SDK run marker too, on every saver.

LangGraph's ``delete_thread`` (``adelete_thread``; PostgreSQL's ``prune`` with
``strategy="delete"``) removes a thread's checkpoints and writes; the turn journal
(:mod:`agentpatterns.storage.journal`) keeps more per thread: rows in the database's
``agentpatterns_journal`` table, entries in this process for savers without one (an
``InMemorySaver``, other kinds), the SDK runtime's run marker in the same database's store
table, which the thread listings read (a deleted SDK thread was still listed), and the
write-ahead effect logs killed runs left on this machine
(:mod:`agentpatterns.storage.effect_log`; the next run of a thread of the same id took
their entries over).

The savers :mod:`agentpatterns.storage` opens delete those in their own ``delete_thread``
(:mod:`~agentpatterns.storage.sqlite_savers`, :mod:`~agentpatterns.storage.postgres_savers`).
Any other saver the journal is used with - a user's ``InMemorySaver``, ``SqliteSaver``,
``PostgresSaver`` (on a connection or a pool), their async twins, other kinds - gets its
deleting methods wrapped on the instance, once, the first time the journal is used with it
(:func:`forget_on_delete`), so they delete the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentpatterns.storage.effect_log import discard
from agentpatterns.storage.identity import adatabase_key, database_key
from agentpatterns.storage.journal_memory import forget_memory_rows
from agentpatterns.storage.journal_sql import adelete_thread_rows, delete_thread_rows, saver_kind

__all__ = ["aforget", "forget", "forget_on_delete"]

#: Set on a saver (instance or class) whose deleting methods already call :func:`forget`.
FORGETS = "_agentpatterns_forgets_journal"
_ASYNC = ("asqlite", "apostgres")


def forget(saver: Any, thread_id: str) -> None:
    """Delete what the journal keeps of ``thread_id`` for ``saver`` (after its checkpoints).

    An async saver's rows are deleted by :func:`aforget` (its sync ``delete_thread`` runs its
    ``adelete_thread``).
    """
    forget_memory_rows(saver, thread_id)
    if saver_kind(saver) not in _ASYNC:
        delete_thread_rows(saver, thread_id)
        _discard(database_key(saver), thread_id)


async def aforget(saver: Any, thread_id: str) -> None:
    """:func:`forget` for ``adelete_thread``."""
    forget_memory_rows(saver, thread_id)
    await adelete_thread_rows(saver, thread_id)
    _discard(await adatabase_key(saver), thread_id)


def _discard(key: tuple[str, str] | None, thread_id: str) -> None:
    # the effect logs killed runs of the thread left (storage.effect_log): a new thread of
    # the same id must not take their entries over
    if key is not None:
        discard(key, thread_id)


def forget_on_delete(saver: Any) -> None:
    """Make ``saver``'s ``delete_thread``/``adelete_thread`` (and a PostgreSQL saver's
    ``prune``/``aprune`` with ``strategy="delete"``) also delete what the journal keeps of
    the thread. Once per saver; savers that do it already, or refuse new attributes, are
    left as they are."""
    if getattr(saver, FORGETS, False) or not callable(getattr(saver, "delete_thread", None)):
        return
    delete, adelete = saver.delete_thread, getattr(saver, "adelete_thread", None)

    def delete_thread(thread_id: str) -> None:
        delete(thread_id)
        forget(saver, thread_id)

    async def adelete_thread(thread_id: str) -> None:
        assert adelete is not None
        await adelete(thread_id)
        await aforget(saver, thread_id)

    wrapped: dict[str, Any] = {"delete_thread": delete_thread}
    if adelete is not None:
        wrapped["adelete_thread"] = adelete_thread
    if saver_kind(saver) in ("postgres", "apostgres"):
        wrapped.update(_prunes(saver))
    try:
        for name, method in wrapped.items():
            setattr(saver, name, method)
        setattr(saver, FORGETS, True)
    except (AttributeError, TypeError):  # __slots__, a frozen object: nothing to hook
        pass


def _prunes(saver: Any) -> dict[str, Any]:
    prune, aprune = saver.prune, saver.aprune

    def sync(thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        prune(thread_ids, strategy=strategy)
        if strategy == "delete":
            for thread_id in thread_ids:
                forget(saver, thread_id)

    async def aio(thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await aprune(thread_ids, strategy=strategy)
        if strategy == "delete":
            for thread_id in thread_ids:
                await aforget(saver, thread_id)

    return {"prune": sync, "aprune": aio}
