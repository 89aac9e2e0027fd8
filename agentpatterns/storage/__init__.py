"""Checkpointers and stores by URL: ``memory``, ``sqlite:///file.db``, ``postgresql://...``.

Infrastructure below graphs/ (``Pattern.compile`` takes URLs): imports only ``errors``.

Every opener is a context manager that owns what it opens: connections made on entry are
closed on exit, and an object that already is a saver or store is passed through untouched
(and left open). Problems with the backend surface on entry, as one
:class:`~agentpatterns.errors.StorageError` line that names the file or URL and the fix,
before any graph runs.

Example:
    >>> from agentpatterns.storage import open_checkpointer
    >>> with open_checkpointer("memory") as saver:
    ...     type(saver).__name__
    'InMemorySaver'

SQLite and PostgreSQL support is imported only when such a URL is opened, so importing this
module stays cheap.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentpatterns.storage.dispatch import _open_async, _open_sync
from agentpatterns.storage.serde import make_serde
from agentpatterns.storage.spec import DEFAULT_TIMEOUT, _parse

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.store.base import BaseStore

__all__ = [
    "DEFAULT_TIMEOUT",
    "aopen_checkpointer",
    "aopen_store",
    "checkpointer_for_graph",
    "default_db_url",
    "make_serde",
    "open_checkpointer",
    "open_store",
    "store_for_graph",
]

# --------------------------------------------------------------------------- public API


def default_db_url() -> str:
    """The command line's default checkpointer URL: ``./.agentpatterns/runs.db`` as SQLite.

    The folder is not created here; opening the URL creates it.

    Returns:
        ``"sqlite:///"`` followed by the absolute path of ``./.agentpatterns/runs.db``.
    """
    return "sqlite:///" + str(Path.cwd().absolute() / ".agentpatterns" / "runs.db")


def open_checkpointer(
    spec: str | BaseCheckpointSaver[Any] | None = None, *, timeout: float = DEFAULT_TIMEOUT,
    read_only: bool = False,
) -> AbstractContextManager[BaseCheckpointSaver[Any]]:
    """Open a synchronous checkpointer named by a URL (or pass a saver through).

    Args:
        spec: ``None`` or ``"memory"`` for the process-wide in-memory saver (every open in
            this process gets the same one, so a later resume finds the thread);
            ``"memory://NAME"`` for a separate named one; ``"sqlite:///path.db"`` (relative
            to the working directory) or ``"sqlite:////abs/path.db"``; ``"postgresql://..."``
            or ``"postgres://..."``; or a ``BaseCheckpointSaver``, yielded unchanged.
        timeout: Seconds to wait for a locked SQLite file or for a PostgreSQL connection.
        read_only: Open only to read (what listings do): a SQLite file is opened read-only
            (nothing is created, its journal mode is not switched, it may sit in a
            read-only folder) and no tables are set up, on SQLite or PostgreSQL; a
            database without checkpoints reads as empty.

    Returns:
        A context manager yielding the saver; it closes what it opened on exit.

    Raises:
        StorageError: The spec is not understood (raised right away), or the backend
            cannot be used (on entry): not a SQLite file, damaged (``quick_check``),
            another application's database, locked, server unreachable. A SQLite file
            refused is left byte-identical.
        ImportError: The backend's optional package is not installed.
    """
    parsed = _parse(spec, "checkpointer")
    if read_only:
        parsed = replace(parsed, read_only=True)
    return _open_sync(parsed, timeout)


def aopen_checkpointer(
    spec: str | BaseCheckpointSaver[Any] | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> AbstractAsyncContextManager[BaseCheckpointSaver[Any]]:
    """Open an asynchronous checkpointer (``AsyncSqliteSaver``, ``AsyncPostgresSaver``).

    Takes the same specs as :func:`open_checkpointer`; ``memory`` gives the same
    process-wide saver, which serves both sync and async graphs.

    Args:
        spec: A URL, ``None``/``"memory"``, or a saver object (yielded unchanged).
        timeout: Seconds to wait for a locked SQLite file or for a PostgreSQL connection.

    Returns:
        An async context manager yielding the saver; it closes what it opened on exit.

    Raises:
        StorageError: The spec is not understood, or the backend cannot be used.
        ImportError: The backend's optional package is not installed.
    """
    return _open_async(_parse(spec, "checkpointer"), timeout)


def open_store(
    spec: str | BaseStore | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> AbstractContextManager[BaseStore]:
    """Open a synchronous long-term memory store named by a URL (or pass a store through).

    Args:
        spec: ``None``/``"memory"`` (process-wide ``InMemoryStore``), ``"memory://NAME"``,
            ``"sqlite:///path.db"`` (``SqliteStore``), ``"postgresql://..."``
            (``PostgresStore``), or a ``BaseStore``, yielded unchanged.
        timeout: Seconds to wait for a locked SQLite file or for a PostgreSQL connection.

    Returns:
        A context manager yielding the store; it closes what it opened on exit.

    Raises:
        StorageError: The spec is not understood, or the backend cannot be used.
        ImportError: The backend's optional package is not installed.
    """
    return _open_sync(_parse(spec, "store"), timeout)


def aopen_store(
    spec: str | BaseStore | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> AbstractAsyncContextManager[BaseStore]:
    """Open an asynchronous store (``AsyncSqliteStore``, ``AsyncPostgresStore``).

    Args:
        spec: A URL, ``None``/``"memory"``, or a store object (yielded unchanged).
        timeout: Seconds to wait for a locked SQLite file or for a PostgreSQL connection.

    Returns:
        An async context manager yielding the store; it closes what it opened on exit.

    Raises:
        StorageError: The spec is not understood, or the backend cannot be used.
        ImportError: The backend's optional package is not installed.
    """
    return _open_async(_parse(spec, "store"), timeout)


def checkpointer_for_graph(spec: object) -> Any:
    """A checkpointer for ``StateGraph.compile``, kept open for the life of the process.

    ``Pattern.compile(checkpointer=...)`` returns a graph that outlives any ``with`` block,
    so a URL here opens one saver per URL per process (reused by later compiles) and
    closes it at interpreter exit. SQLite and PostgreSQL savers opened this way also
    serve ``ainvoke``/``astream``: their async methods run the sync ones in a worker
    thread. Prefer :func:`open_checkpointer` / :func:`aopen_checkpointer` when the
    lifetime is known.

    Args:
        spec: ``None``, ``True`` or ``False`` (passed through, with LangGraph's meaning),
            a saver object (passed through), or any URL :func:`open_checkpointer` takes.

    Returns:
        The saver to hand to ``compile``.

    Raises:
        StorageError: As for :func:`open_checkpointer`.
    """
    from agentpatterns.storage.graph import _for_graph

    return _for_graph(spec, "checkpointer")


def store_for_graph(spec: object) -> Any:
    """A store for ``StateGraph.compile``, kept open for the life of the process.

    Args:
        spec: ``None`` (no store), a ``BaseStore`` (passed through), or any URL
            :func:`open_store` takes.

    Returns:
        The store to hand to ``compile``.

    Raises:
        StorageError: As for :func:`open_store`.
    """
    from agentpatterns.storage.graph import _for_graph

    return _for_graph(spec, "store")
