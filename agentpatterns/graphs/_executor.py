"""The executor of a nested pattern's graph: its saves inline, its parallel tasks on one
shared thread pool.

A nested pattern runs as a real LangGraph subgraph, and every LangGraph loop makes its own
``ThreadPoolExecutor`` for its background work - each checkpoint save and each task's writes
are handed to a thread, and parallel tasks run on it. A child invoked once per parent step
thus starts new threads and hands every save across threads, which was most of what nesting
cost at 0 ms models (bench/README.md, "The cost of nesting"). So the loops of our subgraphs
(their config carries :data:`NESTED`) get :class:`NestedExecutor` instead: a save runs at
once in the loop's own thread (a done future), a task goes to one process-wide pool that
reuses its threads. The parent's loop and any user graph keep LangGraph's own executor; a
run given ``max_concurrency`` too.

Durability is kept, and is if anything stronger: a child's checkpoint and task writes are in
the saver when ``submit`` returns (LangGraph's ``"sync"`` durability, for the child), and the
child returns only after them, as before. The pool has no small bound (a task waiting for
another one queued behind it never starves); threads are started on demand and reused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["NESTED", "NestedExecutor", "install"]

#: configurable key our subgraph invocations carry (``__``: never saved as metadata)
NESTED = "__agentpatterns_nested__"

_LOCK = threading.Lock()
_POOL: list[Any] = []
#: threads are started on demand and then reused; the bound only guards against runaway
_MAX_THREADS = 1024


#: what LangGraph's loops submit to save (run inline): checkpoints, task writes, cache
_SAVES = frozenset({"_checkpointer_put_after_previous", "put_writes", "aput_writes", "put",
                    "set"})


class NestedExecutor:
    """``submit`` as a ``ThreadPoolExecutor``'s: saves inline, tasks on the shared pool."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run a save now (a done future), or hand a task to the shared pool."""
        import concurrent.futures

        target = args[0] if args and getattr(fn, "__name__", "") == "run" else None
        if target is not None and getattr(target, "__name__", "") in _SAVES:
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # reported where LangGraph looks: the future
                future.set_exception(exc)
            return future
        return _pool().submit(fn, *args, **kwargs)


_EXECUTOR = NestedExecutor()


def _pool() -> Any:
    if not _POOL:
        from langchain_core.runnables.config import ContextThreadPoolExecutor

        with _LOCK:
            if not _POOL:
                _POOL.append(ContextThreadPoolExecutor(
                    max_workers=_MAX_THREADS, thread_name_prefix="agentpatterns-nested"))
    return _POOL[0]


def install() -> None:
    """Make LangGraph's loops of our subgraphs use the shared pool (idempotent)."""
    import langgraph.pregel._executor as executor_module

    original = getattr(executor_module, "get_executor_for_config")  # noqa: B009
    if getattr(original, "_agentpatterns", False):
        return

    @contextmanager
    def get_executor_for_config(config: Any) -> Iterator[Any]:
        if ((config or {}).get("configurable") or {}).get(NESTED) and (
                config or {}).get("max_concurrency") is None:
            yield _EXECUTOR  # never shut down: BackgroundExecutor waits for its own tasks
            return
        with original(config) as executor:
            yield executor

    get_executor_for_config._agentpatterns = True  # type: ignore[attr-defined]
    setattr(executor_module, "get_executor_for_config", get_executor_for_config)  # noqa: B010
