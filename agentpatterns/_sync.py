"""``block_on``: run a coroutine to completion from blocking code, event loop or not.

Every blocking entry point (``run_sdk_sync``, ``resume_sdk_sync``, an async tool or guardrail
under ``Runner.run_sync``) goes through it, so they all behave the same way in a plain
script, in a Jupyter notebook (whose kernel runs an event loop) and inside an async web
app: ``asyncio.run`` cannot start a loop in a thread that already runs one, so there the
coroutine runs on a fresh loop in a worker thread while the caller waits.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["block_on"]

T = TypeVar("T")


def block_on(coro: Coroutine[Any, Any, T]) -> T:
    """The result of ``coro``, run to completion; the caller blocks until it is done.

    Without a running event loop in this thread it is ``asyncio.run(coro)``. With one
    (notebooks, async apps), the coroutine runs on its own loop in a worker thread, with a
    copy of the caller's context variables; its exception is raised here. An interrupt
    (Ctrl-C, a notebook's "interrupt kernel") cancels it and waits for it to unwind, so no
    run keeps going behind the caller's back.

    Example:
        >>> async def answer() -> int:
        ...     return 42
        >>> block_on(answer())
        42
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    # outside the ``except``: an error of the run must not carry this probe's RuntimeError
    # ("no running event loop") as its context, which a traceback shows first
    return _in_worker(coro) if running else asyncio.run(coro)


def _in_worker(coro: Coroutine[Any, Any, T]) -> T:
    box: dict[str, Any] = {}
    started = threading.Event()

    async def main() -> T:
        box["loop"], box["task"] = asyncio.get_running_loop(), asyncio.current_task()
        started.set()
        return await coro

    def work() -> None:
        try:
            box["value"] = context.run(asyncio.run, main())
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            started.set()

    context = contextvars.copy_context()
    worker = threading.Thread(target=work, name="agentpatterns-block-on", daemon=True)
    worker.start()
    try:
        worker.join()
    except BaseException:  # KeyboardInterrupt while waiting: stop the run, then re-raise
        started.wait()
        if "task" in box:
            box["loop"].call_soon_threadsafe(box["task"].cancel)
        worker.join()
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
