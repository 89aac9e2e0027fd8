"""Checkpointers and stores by URL: ``memory``, ``sqlite:///file.db``, ``postgresql://...``.

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

import importlib
import re
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentpatterns.errors import StorageError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.serde.base import SerializerProtocol
    from langgraph.store.base import BaseStore
    from langgraph.store.memory import InMemoryStore

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

#: Seconds to wait for a busy SQLite database, or for a PostgreSQL server to accept a connection.
DEFAULT_TIMEOUT = 5.0

_ACCEPTED = (
    "use 'memory', 'memory://NAME', 'sqlite:///relative/path.db', 'sqlite:////absolute/path.db', "
    "'postgresql://user@host:port/dbname', or pass a {kind} object"
)
_PG_INSTALL = (
    "PostgreSQL support needs langgraph-checkpoint-postgres and psycopg; "
    "pip install 'agentpatterns[postgres]'"
)
_SQLITE_INSTALL = "SQLite support needs langgraph-checkpoint-sqlite and aiosqlite; " + (
    "pip install langgraph-checkpoint-sqlite aiosqlite"
)

_lock = threading.Lock()
_memory_savers: dict[str, InMemorySaver] = {}
_memory_stores: dict[str, InMemoryStore] = {}


# --------------------------------------------------------------------------- public API


def default_db_url() -> str:
    """The command line's default checkpointer URL: ``./.agentpatterns/runs.db`` as SQLite.

    The folder is not created here; opening the URL creates it.

    Returns:
        ``"sqlite:///"`` followed by the absolute path of ``./.agentpatterns/runs.db``.
    """
    return "sqlite:///" + str(Path.cwd().absolute() / ".agentpatterns" / "runs.db")


def make_serde(*, allowed_types: Iterable[type | tuple[str, str]] = ()) -> SerializerProtocol:
    """The serializer every saver opened here uses: msgpack with an allow-list, never pickle.

    LangGraph's ``JsonPlusSerializer`` writes state as msgpack. Objects that are not plain
    data (a message, a pydantic model, a dataclass) are written as "construct
    ``module.Class`` with these arguments", so reading a checkpoint imports and calls
    whatever class the stored bytes name. In this LangGraph version two constructor options
    close that door:

    * ``pickle_fallback=False``: values msgpack cannot encode raise ``TypeError`` on write
      instead of being pickled, and rows tagged ``"pickle"`` raise ``NotImplementedError``
      on read instead of being unpickled.
    * ``allowed_msgpack_modules=[...]``: only the listed ``(module, class)`` pairs, plus
      LangGraph's built-in ``SAFE_MSGPACK_TYPES`` (datetime, UUID, ``Send``,
      ``Interrupt``, ``Command``, the langchain_core message classes, ...), are rebuilt
      on read; any other class comes back as its plain data (the pydantic/dataclass
      fields as a ``dict``) with a logged warning, and its code never runs. Without this
      argument the default is permissive: any class is imported (with a warning) unless
      ``LANGGRAPH_STRICT_MSGPACK`` is set.

    Our state holds langchain_core messages, plain dicts/lists/str/int/float and dumped
    ``output_type`` models, so the list below is the langchain_core message classes.
    LangGraph can widen it later: ``saver.with_allowlist({(module, name), ...})``
    returns a clone whose serializer also rebuilds those classes (``StateGraph.compile``
    does this itself for the schema's types when ``LANGGRAPH_STRICT_MSGPACK`` is set).

    Args:
        allowed_types: Extra classes (or ``(module, name)`` pairs) to rebuild on read, e.g.
            the pydantic ``output_type`` models a graph keeps in its state.

    Returns:
        A ``JsonPlusSerializer`` with pickle off and the allow-list on.
    """
    from langchain_core import messages
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    allowed: set[tuple[str, str]] = set()
    for name in messages.__all__:
        cls = getattr(messages, name, None)
        if isinstance(cls, type) and issubclass(cls, messages.BaseMessage):
            allowed.add((cls.__module__, cls.__name__))
    for item in allowed_types:
        if isinstance(item, type):
            allowed.add((item.__module__, item.__qualname__))
        else:
            module, name = item
            allowed.add((module, name))
    return JsonPlusSerializer(pickle_fallback=False, allowed_msgpack_modules=sorted(allowed))


def open_checkpointer(
    spec: str | BaseCheckpointSaver[Any] | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> AbstractContextManager[BaseCheckpointSaver[Any]]:
    """Open a synchronous checkpointer named by a URL (or pass a saver through).

    Args:
        spec: ``None`` or ``"memory"`` for the process-wide in-memory saver (every open in
            this process gets the same one, so a later resume finds the thread);
            ``"memory://NAME"`` for a separate named one; ``"sqlite:///path.db"`` (relative
            to the working directory) or ``"sqlite:////abs/path.db"``; ``"postgresql://..."``
            or ``"postgres://..."``; or a ``BaseCheckpointSaver``, yielded unchanged.
        timeout: Seconds to wait for a locked SQLite file or for a PostgreSQL connection.

    Returns:
        A context manager yielding the saver; it closes what it opened on exit.

    Raises:
        StorageError: The spec is not understood (raised right away), or the backend
            cannot be used (on entry): not a SQLite file, locked, server unreachable.
        ImportError: The backend's optional package is not installed.
    """
    return _open_sync(_parse(spec, "checkpointer"), timeout)


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
    from agentpatterns._storage_graph import _for_graph

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
    from agentpatterns._storage_graph import _for_graph

    return _for_graph(spec, "store")


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, kw_only=True)
class _Spec:
    kind: Literal["checkpointer", "store"]
    backend: Literal["object", "memory", "sqlite", "postgres"]
    target: Any  # the object, the memory name, the sqlite path, or the postgres URL


def _parse(spec: object, kind: Literal["checkpointer", "store"]) -> _Spec:
    label = "BaseCheckpointSaver" if kind == "checkpointer" else "BaseStore"
    if spec is None:
        return _Spec(kind=kind, backend="memory", target="")
    if not isinstance(spec, str):
        if kind == "checkpointer":
            from langgraph.checkpoint.base import BaseCheckpointSaver

            base: type = BaseCheckpointSaver
        else:
            from langgraph.store.base import BaseStore

            base = BaseStore
        if isinstance(spec, base):
            return _Spec(kind=kind, backend="object", target=spec)
        raise StorageError(
            f"unsupported {kind} {spec!r} (type {type(spec).__name__}); "
            + _ACCEPTED.format(kind=label)
        )
    text = spec.strip()
    if text in ("memory", "memory://", ":memory:"):
        return _Spec(kind=kind, backend="memory", target="")
    if text.startswith("memory://"):
        return _Spec(kind=kind, backend="memory", target=text[len("memory://") :])
    if text.startswith("sqlite:///"):
        path = text[len("sqlite:///") :]
        if not path:
            raise StorageError(
                f"{kind} URL {spec!r} names no file; use 'sqlite:///runs.db' or "
                "'sqlite:////absolute/path/runs.db'"
            )
        return _Spec(kind=kind, backend="sqlite", target=path)
    if text.startswith("sqlite://"):
        rest = text[len("sqlite://") :]
        raise StorageError(
            f"{kind} URL {spec!r} has two slashes after 'sqlite:'; a file path needs three: "
            f"'sqlite:///{rest}' (relative) or 'sqlite:////abs/path.db' (absolute)"
        )
    if text.startswith(("postgresql://", "postgres://")):
        return _Spec(kind=kind, backend="postgres", target=text)
    raise StorageError(f"unsupported {kind} URL {spec!r}; " + _ACCEPTED.format(kind=label))


# --------------------------------------------------------------------------- dispatch


@contextmanager
def _open_sync(spec: _Spec, timeout: float, *, threaded: bool = False) -> Iterator[Any]:
    if spec.backend == "object":
        yield spec.target
    elif spec.backend == "memory":
        yield _memory(spec)
    elif spec.backend == "sqlite":
        from agentpatterns._storage_sqlite import _sqlite_sync

        with _sqlite_sync(spec, timeout, threaded=threaded) as opened:
            yield opened
    else:
        from agentpatterns._storage_postgres import _postgres_sync

        with _postgres_sync(spec, timeout, threaded=threaded) as opened:
            yield opened


@asynccontextmanager
async def _open_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    if spec.backend == "object":
        yield spec.target
    elif spec.backend == "memory":
        yield _memory(spec)
    elif spec.backend == "sqlite":
        from agentpatterns._storage_sqlite import _sqlite_async

        async with _sqlite_async(spec, timeout) as opened:
            yield opened
    else:
        from agentpatterns._storage_postgres import _postgres_async

        async with _postgres_async(spec, timeout) as opened:
            yield opened


# (backend, kind, async) -> where LangGraph keeps the class
_CLASSES = {
    ("sqlite", "checkpointer", False): ("langgraph.checkpoint.sqlite", "SqliteSaver"),
    ("sqlite", "checkpointer", True): ("langgraph.checkpoint.sqlite.aio", "AsyncSqliteSaver"),
    ("sqlite", "store", False): ("langgraph.store.sqlite", "SqliteStore"),
    ("sqlite", "store", True): ("langgraph.store.sqlite.aio", "AsyncSqliteStore"),
    ("postgres", "checkpointer", False): ("langgraph.checkpoint.postgres", "PostgresSaver"),
    ("postgres", "checkpointer", True): ("langgraph.checkpoint.postgres.aio", "AsyncPostgresSaver"),
    ("postgres", "store", False): ("langgraph.store.postgres", "PostgresStore"),
    ("postgres", "store", True): ("langgraph.store.postgres.aio", "AsyncPostgresStore"),
}


def _backend_class(spec: _Spec, *, aio: bool, threaded: bool = False) -> Any:
    """The saver/store class for a SQLite or PostgreSQL spec, imported on first use."""
    module, name = _CLASSES[(spec.backend, spec.kind, aio)]
    try:
        if spec.backend == "postgres":
            import psycopg  # noqa: F401  (checked even if LangGraph's module is cached)
        elif aio:
            import aiosqlite  # noqa: F401
        cls = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ImportError(_PG_INSTALL if spec.backend == "postgres" else _SQLITE_INSTALL) from exc
    if threaded:
        from agentpatterns._storage_graph import _threaded_async

        return _threaded_async(cls)
    return cls


def _construct(cls: Any, spec: _Spec, conn: Any) -> Any:
    # stores keep JSON, not serialised Python objects, so only savers take a serde
    return cls(conn, serde=make_serde()) if spec.kind == "checkpointer" else cls(conn)


# --------------------------------------------------------------------------- memory


def _memory(spec: _Spec) -> Any:
    name: str = spec.target
    with _lock:
        if spec.kind == "checkpointer":
            if name not in _memory_savers:
                from langgraph.checkpoint.memory import InMemorySaver

                _memory_savers[name] = InMemorySaver(serde=make_serde())
            return _memory_savers[name]
        if name not in _memory_stores:
            from langgraph.store.memory import InMemoryStore

            _memory_stores[name] = InMemoryStore()
        return _memory_stores[name]


# --------------------------------------------------------------------------- postgres


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    url = re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)
