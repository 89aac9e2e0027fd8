"""Open a parsed storage spec, sync or async: memory, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from agentpatterns.storage.spec import _memory, _Spec


@contextmanager
def _open_sync(spec: _Spec, timeout: float, *, threaded: bool = False) -> Iterator[Any]:
    if spec.backend == "object":
        yield spec.target
    elif spec.backend == "memory":
        yield _memory(spec)
    elif spec.backend == "sqlite":
        from agentpatterns.storage.sqlite import _sqlite_sync

        with _sqlite_sync(spec, timeout, threaded=threaded) as opened:
            yield opened
    else:
        from agentpatterns.storage.postgres import _postgres_sync

        with _postgres_sync(spec, timeout, threaded=threaded) as opened:
            yield opened


@asynccontextmanager
async def _open_async(spec: _Spec, timeout: float) -> AsyncIterator[Any]:
    if spec.backend == "object":
        yield spec.target
    elif spec.backend == "memory":
        yield _memory(spec)
    elif spec.backend == "sqlite":
        from agentpatterns.storage.sqlite import _sqlite_async

        async with _sqlite_async(spec, timeout) as opened:
            yield opened
    else:
        from agentpatterns.storage.postgres import _postgres_async

        async with _postgres_async(spec, timeout) as opened:
            yield opened
