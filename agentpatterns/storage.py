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

import asyncio
import atexit
import importlib
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    ExitStack,
    asynccontextmanager,
    contextmanager,
    suppress,
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
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_INSTALL = (
    "PostgreSQL support needs langgraph-checkpoint-postgres and psycopg; "
    "pip install 'agentpatterns[postgres]'"
)
_SQLITE_INSTALL = "SQLite support needs langgraph-checkpoint-sqlite and aiosqlite; " + (
    "pip install langgraph-checkpoint-sqlite aiosqlite"
)
# Any constant works; it only has to be the same in every process that sets up the schema.
_PG_SETUP_LOCK_KEY = 0x61676E7470617474

_lock = threading.Lock()
_memory_savers: dict[str, InMemorySaver] = {}
_memory_stores: dict[str, InMemoryStore] = {}
_pg_ready: set[tuple[str, str]] = set()


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
    return _for_graph(spec, "store")


_graph_lock = threading.Lock()
_graph_backends: dict[tuple[str, str, str], Any] = {}
_graph_exit: ExitStack | None = None


def _for_graph(spec: object, kind: Literal["checkpointer", "store"]) -> Any:
    if spec is None or isinstance(spec, bool):
        return spec
    parsed = _parse(spec, kind)
    if parsed.backend == "object":
        return parsed.target
    if parsed.backend == "memory":
        return _memory(parsed)
    target = str(_sqlite_path(parsed.target)) if parsed.backend == "sqlite" else parsed.target
    key = (kind, parsed.backend, target)
    global _graph_exit
    with _graph_lock:
        if key not in _graph_backends:
            if _graph_exit is None:
                _graph_exit = ExitStack()
                atexit.register(_close_graph_backends)
            cm = _open_sync(
                _Spec(kind=kind, backend=parsed.backend, target=target),
                DEFAULT_TIMEOUT,
                threaded=True,
            )
            _graph_backends[key] = _graph_exit.enter_context(cm)
        return _graph_backends[key]


def _close_graph_backends() -> None:
    # at exit a server may already be gone; closing is best effort and must not print
    if _graph_exit is not None:
        with suppress(Exception):
            _graph_exit.close()


_threaded_classes: dict[type, type] = {}

# The async methods of a checkpointer, each run as its sync twin in a worker thread.
_SAVER_ASYNC = (
    "aget_tuple",
    "aput",
    "aput_writes",
    "adelete_thread",
    "acopy_thread",
    "aprune",
    "adelete_for_runs",
    "aget_delta_channel_history",
)


def _threaded_async(cls: type) -> type:
    """A subclass of a sync saver/store whose async methods run the sync ones in a thread.

    SqliteSaver, PostgresSaver and SqliteStore refuse async calls; a graph compiled from a
    URL cannot know whether it will be invoked or awaited, so it gets both. The sync
    classes already serialise access to their one connection with a lock.
    """
    if cls in _threaded_classes:
        return _threaded_classes[cls]
    namespace: dict[str, Any] = {"__module__": __name__}
    if hasattr(cls, "get_tuple"):
        from langgraph.checkpoint.base import BaseCheckpointSaver

        for name in _SAVER_ASYNC:
            sync = name[1:]
            # wrap only what the class implements, so capability probes (LangGraph's
            # conformance suite) see the base class's "not supported" as it is
            if getattr(cls, sync, None) is not getattr(BaseCheckpointSaver, sync, None):
                namespace[name] = _in_thread(sync)

        async def alist(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            items = await asyncio.to_thread(lambda: list(self.list(*args, **kwargs)))
            for item in items:
                yield item

        namespace["alist"] = alist
    else:
        namespace["abatch"] = _in_thread("batch")
    threaded = type(f"Threaded{cls.__name__}", (cls,), namespace)
    _threaded_classes[cls] = threaded
    return threaded


def _in_thread(sync_name: str) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self, sync_name), *args, **kwargs)

    method.__name__ = "a" + sync_name
    return method


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
        with _sqlite_sync(spec, timeout, threaded=threaded) as opened:
            yield opened
    else:
        with _postgres_sync(spec, timeout, threaded=threaded) as opened:
            yield opened


@asynccontextmanager
async def _open_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    if spec.backend == "object":
        yield spec.target
    elif spec.backend == "memory":
        yield _memory(spec)
    elif spec.backend == "sqlite":
        async with _sqlite_async(spec, timeout) as opened:
            yield opened
    else:
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
    return _threaded_async(cls) if threaded else cls


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


# --------------------------------------------------------------------------- sqlite


def _sqlite_path(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        raise StorageError(
            f"SQLite path {path} is a directory, not a file; name a file inside it, "
            f"e.g. 'sqlite:///{path / 'runs.db'}'"
        )
    if path.exists():
        # Probe the header ourselves: once sqlite has the file open it may write to it (a
        # WAL switch rewrites the header), and a file that is not ours must stay untouched.
        try:
            with path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise StorageError(
                f"cannot read SQLite file {path} ({exc.strerror}); check its permissions"
            ) from exc
        if head and head != _SQLITE_MAGIC:
            raise StorageError(
                f"{path} is not a SQLite database (it was left untouched); "
                "point the URL at a new or existing SQLite file"
            )
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {path.parent} for SQLite file {path} "
                f"({exc.strerror or exc}); choose a writable location"
            ) from exc
    return path


def _sqlite_error(path: Path, exc: BaseException, timeout: float) -> StorageError:
    message = str(exc)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        text = (
            f"SQLite database {path} is locked by another connection (waited {timeout:g}s); "
            "let the other process finish, raise the timeout, or use a postgresql:// URL "
            "for many concurrent writers"
        )
    elif "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        text = (
            f"{path} is not a usable SQLite database ({message}); it was left untouched; "
            "restore it from a backup or point the URL at another file"
        )
    elif "readonly" in lowered or "read-only" in lowered:
        text = f"SQLite database {path} is read-only ({message}); make it writable"
    else:
        text = f"cannot open SQLite database {path} ({message}); check the path and permissions"
    return StorageError(text)


# Run in this order on every SQLite connection we open.
_SQLITE_PREPARE = (
    # Reading the schema parses page 1 and sqlite_master, so a damaged file fails here,
    # before the WAL switch below writes anything.
    "SELECT count(*) FROM sqlite_master",
    "PRAGMA busy_timeout = {ms}",
    # WAL lets readers work while one process writes; the busy timeout lets writers from
    # several processes queue up instead of failing at once.
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    # Take the write lock once (waiting up to the timeout) so that a database another
    # process holds is reported now, not at the first checkpoint of a run.
    "BEGIN IMMEDIATE",
    "ROLLBACK",
)


_WAL = "PRAGMA journal_mode = WAL"


def _retry_wal(exc: sqlite3.Error, deadline: float) -> bool:
    # Switching a new file to WAL needs an exclusive lock, and SQLite reports a concurrent
    # opener as "locked" at once instead of calling the busy handler: retry until the timeout.
    return "locked" in str(exc).lower() and time.monotonic() < deadline


def _sqlite_prepare(conn: sqlite3.Connection, timeout: float) -> None:
    for statement in _SQLITE_PREPARE:
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn.execute(statement.format(ms=int(timeout * 1000))).fetchall()
                break
            except sqlite3.OperationalError as exc:
                if statement != _WAL or not _retry_wal(exc, deadline):
                    raise
                time.sleep(0.01)


async def _asqlite_prepare(conn: Any, timeout: float) -> None:
    # the same steps, through aiosqlite's worker thread
    for statement in _SQLITE_PREPARE:
        deadline = time.monotonic() + timeout
        while True:
            try:
                async with conn.execute(statement.format(ms=int(timeout * 1000))) as cursor:
                    await cursor.fetchall()
                break
            except sqlite3.OperationalError as exc:
                if statement != _WAL or not _retry_wal(exc, deadline):
                    raise
                await asyncio.sleep(0.01)


@contextmanager
def _sqlite_sync(spec: _Spec, timeout: float, *, threaded: bool) -> Iterator[Any]:
    path = _sqlite_path(spec.target)
    cls = _backend_class(spec, aio=False, threaded=threaded)
    try:
        # the store runs its own BEGIN/COMMIT, so it wants autocommit (isolation_level=None)
        conn = sqlite3.connect(
            str(path),
            timeout=timeout,
            check_same_thread=False,
            isolation_level=None if spec.kind == "store" else "DEFERRED",
        )
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, timeout) from exc
    try:
        try:
            _sqlite_prepare(conn, timeout)
            opened = _construct(cls, spec, conn)
            opened.setup()
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        yield opened
    finally:
        conn.close()


@asynccontextmanager
async def _sqlite_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    path = _sqlite_path(spec.target)
    cls = _backend_class(spec, aio=True)
    import aiosqlite

    try:
        conn = await aiosqlite.connect(
            str(path),
            timeout=timeout,
            isolation_level=None if spec.kind == "store" else "DEFERRED",
        )
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, timeout) from exc
    try:
        try:
            await _asqlite_prepare(conn, timeout)
            opened = _construct(cls, spec, conn)
            await opened.setup()
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc, timeout) from exc
        yield opened
    finally:
        await conn.close()


# --------------------------------------------------------------------------- postgres


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    url = re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def _pg_connect_kwargs(url: str, timeout: float) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError for a malformed URL
        raise StorageError(
            f"malformed PostgreSQL URL {_redact(url)!r} ({exc}); "
            "use 'postgresql://user:password@host:port/dbname'"
        ) from exc
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    if "connect_timeout" not in params:
        # libpq takes whole seconds; 0 would mean "wait forever"
        kwargs["connect_timeout"] = max(1, round(timeout))
    return kwargs


def _pg_error(url: str, exc: BaseException, *, connecting: bool) -> StorageError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if connecting:
        return StorageError(
            f"cannot connect to PostgreSQL at {_redact(url)} ({detail}); "
            "check that the server is running and the URL (host, port, user, database)"
        )
    return StorageError(
        f"cannot set up the tables in PostgreSQL at {_redact(url)} ({detail}); "
        "check that the user may create tables in that database"
    )


# How long a first run waits for another process to finish setting up the same database.
_PG_SETUP_WAIT = 60.0
_PG_TRY_SETUP = "SELECT pg_try_advisory_lock(%s) AS ok"


def _pg_setup_busy(url: str) -> StorageError:
    return StorageError(
        f"another process has been setting up the tables in PostgreSQL at {_redact(url)} for "
        f"over {_PG_SETUP_WAIT:g}s; check for a stuck migration (pg_stat_activity)"
    )


def _pg_setup_lock(conn: Any, url: str) -> None:
    # Poll, never block in pg_advisory_lock(): a session waiting there is an open
    # transaction, and the CREATE INDEX CONCURRENTLY in LangGraph's migrations waits for
    # every open transaction, so the lock holder and its waiters would deadlock.
    deadline = time.monotonic() + _PG_SETUP_WAIT
    while not conn.execute(_PG_TRY_SETUP, (_PG_SETUP_LOCK_KEY,)).fetchone()["ok"]:
        if time.monotonic() > deadline:
            raise _pg_setup_busy(url)
        time.sleep(0.05)


async def _apg_setup_lock(conn: Any, url: str) -> None:
    deadline = time.monotonic() + _PG_SETUP_WAIT
    while True:
        cursor = await conn.execute(_PG_TRY_SETUP, (_PG_SETUP_LOCK_KEY,))
        if (await cursor.fetchone())["ok"]:
            return
        if time.monotonic() > deadline:
            raise _pg_setup_busy(url)
        await asyncio.sleep(0.05)


@contextmanager
def _postgres_sync(spec: _Spec, timeout: float, *, threaded: bool) -> Iterator[Any]:
    cls = _backend_class(spec, aio=False, threaded=threaded)
    import psycopg

    url: str = spec.target
    try:
        conn = psycopg.Connection.connect(url, **_pg_connect_kwargs(url, timeout))
    except psycopg.Error as exc:
        raise _pg_error(url, exc, connecting=True) from exc
    with conn:
        opened = _construct(cls, spec, conn)
        if (spec.kind, url) not in _pg_ready:
            try:
                # serialise the schema migrations of concurrent first runs across processes
                _pg_setup_lock(conn, url)
                try:
                    opened.setup()
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_SETUP_LOCK_KEY,))
            except psycopg.Error as exc:
                raise _pg_error(url, exc, connecting=False) from exc
            with _lock:
                _pg_ready.add((spec.kind, url))
        yield opened


@asynccontextmanager
async def _postgres_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    cls = _backend_class(spec, aio=True)
    import psycopg

    url: str = spec.target
    try:
        conn = await psycopg.AsyncConnection.connect(url, **_pg_connect_kwargs(url, timeout))
    except psycopg.Error as exc:
        raise _pg_error(url, exc, connecting=True) from exc
    async with conn:
        opened = _construct(cls, spec, conn)
        if (spec.kind, url) not in _pg_ready:
            try:
                await _apg_setup_lock(conn, url)
                try:
                    await opened.setup()
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_SETUP_LOCK_KEY,))
            except psycopg.Error as exc:
                raise _pg_error(url, exc, connecting=False) from exc
            with _lock:
                _pg_ready.add((spec.kind, url))
        yield opened
