"""Checkpoint rows read back: one clear error for a row agentpatterns cannot use.

A checkpoint row another program wrote, or a damaged one, can hold anything: a blob the
pickle-free serializer refuses, metadata that is not a JSON object, a ``step`` that is not
a number. LangGraph would raise from deep inside (``TypeError``, ``AttributeError``,
``JSONDecodeError``...), and the command line would print a traceback. The savers
:mod:`agentpatterns.storage` opens read every row through :func:`checked` (and turn a
decoding failure into :func:`unreadable`), so listing commands skip such a thread with a
warning and every other command stops with one :class:`~agentpatterns.errors.StorageError`
naming the thread and the checkpoint. Nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from agentpatterns.errors import StorageError

__all__ = ["AsyncCheckedReads", "CheckedReads", "checked", "unreadable"]

# metadata fields LangGraph and agentpatterns read, and the types they must have
_FIELDS: dict[str, tuple[type, ...]] = {"step": (int,), "source": (str,), "parents": (dict,)}


def _where(config: Any) -> tuple[str, str]:
    configurable = (config or {}).get("configurable") or {}
    return (str(configurable.get("thread_id", "?")),
            str(configurable.get("checkpoint_id") or "latest"))


def unreadable(config: Any, exc: BaseException | str) -> StorageError:
    """The error for a checkpoint of ``config`` that cannot be read (``exc``: why)."""
    thread, checkpoint = _where(config)
    detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    detail = " ".join(detail.split())
    detail = detail if len(detail) <= 160 else detail[:157] + "..."
    return StorageError(
        f"checkpoint {checkpoint} of thread {thread[:100]!r} cannot be read ({detail}); it was "
        "not written by agentpatterns or is damaged (the database was left untouched); start "
        "a new thread, or fork this one at an earlier checkpoint")


def checked(tup: Any) -> Any:
    """``tup`` (a ``CheckpointTuple`` or ``None``) if its checkpoint and metadata have the
    shape a run reads; else :func:`unreadable`."""
    if tup is None:
        return None
    config = tup.config
    checkpoint, metadata = tup.checkpoint, tup.metadata
    if not isinstance(checkpoint, dict) or not isinstance(
            checkpoint.get("channel_values", {}), dict) or not isinstance(
            checkpoint.get("channel_versions", {}), dict):
        return _raise(config, f"its checkpoint is {type(checkpoint).__name__}, not a "
                      "checkpoint object")
    if metadata is not None and not isinstance(metadata, dict):
        return _raise(config, f"its metadata is {type(metadata).__name__}, not an object")
    for name, types in _FIELDS.items():
        value = (metadata or {}).get(name)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            return _raise(config, f"metadata {name!r} is {type(value).__name__}")
    return tup


def _raise(config: Any, why: str) -> Any:
    raise unreadable(config, why)


class CheckedReads:
    """Mixin for a LangGraph saver: ``get_tuple`` and ``list`` return checked rows and turn
    a decoding failure into :func:`unreadable`; errors of the database itself
    (``passed``) and ``StorageError`` pass unchanged."""

    passed: tuple[type[BaseException], ...] = ()

    def _passing(self) -> tuple[type[BaseException], ...]:
        return (StorageError, *self.passed)

    def get_tuple(self, config: Any) -> Any:
        """The saver's ``get_tuple``, the row checked."""
        try:
            return checked(super().get_tuple(config))  # type: ignore[misc]
        except self._passing():
            raise
        except Exception as exc:
            raise unreadable(config, exc) from None

    def list(self, config: Any, **kwargs: Any) -> Iterator[Any]:
        """The saver's ``list``, every row checked."""
        rows = super().list(config, **kwargs)  # type: ignore[misc]
        while True:
            try:
                tup = next(rows)
            except StopIteration:
                return
            except self._passing():
                raise
            except Exception as exc:
                raise unreadable(config, exc) from None
            yield checked(tup)


class AsyncCheckedReads:
    """:class:`CheckedReads` for async savers (``aget_tuple``, ``alist``)."""

    passed: tuple[type[BaseException], ...] = ()

    def _passing(self) -> tuple[type[BaseException], ...]:
        return (StorageError, *self.passed)

    async def aget_tuple(self, config: Any) -> Any:
        """The saver's ``aget_tuple``, the row checked."""
        try:
            return checked(await super().aget_tuple(config))  # type: ignore[misc]
        except self._passing():
            raise
        except Exception as exc:
            raise unreadable(config, exc) from None

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The saver's ``alist``, every row checked."""
        rows = super().alist(config, **kwargs)  # type: ignore[misc]
        while True:
            try:
                tup = await rows.__anext__()
            except StopAsyncIteration:
                return
            except self._passing():
                raise
            except Exception as exc:
                raise unreadable(config, exc) from None
            yield checked(tup)
