"""URL parsing and the backend classes behind :mod:`agentpatterns.storage`.

The parts every backend module shares: what a URL names (:class:`_Spec`), the LangGraph
class for it, how to build one with the pickle-free serializer, the process-wide memory
backends, and URL redaction for error messages.
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentpatterns.errors import StorageError
from agentpatterns.storage.serde import make_serde

if TYPE_CHECKING:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

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


@dataclass(frozen=True, kw_only=True)
class _Spec:
    kind: Literal["checkpointer", "store"]
    backend: Literal["object", "memory", "sqlite", "postgres"]
    target: Any  # the object, the memory name, the sqlite path, or the postgres URL
    read_only: bool = False  # open to read: create nothing, change nothing


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


# (backend, kind, async) -> where LangGraph keeps the class
_CLASSES = {
    # LangGraph's, whose delete_thread also deletes the turn journal's rows
    ("sqlite", "checkpointer", False): ("agentpatterns.storage.sqlite_savers",
                                        "AgentPatternsSqliteSaver"),
    ("sqlite", "checkpointer", True): ("agentpatterns.storage.sqlite_savers",
                                       "AsyncAgentPatternsSqliteSaver"),
    ("sqlite", "store", False): ("langgraph.store.sqlite", "SqliteStore"),
    ("sqlite", "store", True): ("langgraph.store.sqlite.aio", "AsyncSqliteStore"),
    # ... also storing text JSONB cannot hold (NUL, ...) as blobs
    ("postgres", "checkpointer", False): ("agentpatterns.storage.postgres_savers",
                                          "AgentPatternsPostgresSaver"),
    ("postgres", "checkpointer", True): ("agentpatterns.storage.postgres_savers",
                                         "AsyncAgentPatternsPostgresSaver"),
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
        from agentpatterns.storage.threaded import _threaded_async

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
