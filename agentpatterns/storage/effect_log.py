"""The write-ahead effect log: a leased run's completed effects on local disk, before their
journal records.

The turn journal (:mod:`agentpatterns.storage.journal`) commits every completed model call
and tool call to the database before the turn goes on. That commit takes a fraction of a
millisecond on SQLite, about a millisecond on PostgreSQL (one round trip), and several under
load, when parallel branches queue for the saver's connection; a process killed inside it
has completed the effect but left no record, so a resumed run makes the call again. So a run
holding its thread's lock (:mod:`agentpatterns.run.locks`) first appends the encoded record
to a file of its own, one ``write`` to a descriptor opened when the lock was taken (a few
microseconds, no lock shared with anyone), and only then inserts it. The kernel keeps what
was written when the process is killed; the next run of the thread - in any process on this
machine - takes the lock, copies every entry of the files left behind that the journal lacks
into the journal (:func:`take_over`), removes the files and goes on: the replay finds the
effect recorded.

Where: ``$AGENTPATTERNS_STATE_DIR`` (default ``$XDG_STATE_HOME/agentpatterns`` or
``~/.local/state/agentpatterns``) ``/effects/<database>/<thread>-<epoch>-<pid>.log``, one
folder per database (its identity hashed: the SQLite file's real path, the PostgreSQL DSN
without its password), folders ``0700``, files ``0600``. A run that ends - finished,
waiting, failed with its records committed, or stopped because it lost its lock - removes
its own file; a killed run's file stays until the thread is run again.

Which entry wins: a record already in the journal (it was committed by a run holding the
thread; a later run replayed it), else the entry of the latest lock holder (``epoch``: when
it took the lock), so a holder that lost the lock while frozen and wrote afterwards never
overrides the run that took over. Entries are decoded before they are copied (a damaged or
foreign record is skipped, never imported or executed: the values are decoded by the saver's
serializer, msgpack with an allow-list, as the journal's own rows), and every record carries
a checksum (one cut short by a kill is skipped).

Limits: the files are local, so a run resumed on *another machine* (a PostgreSQL database
shared by hosts) reads the journal only - the window is then the commit's again. A graph
invoked directly, without a run's lock, writes no file (nothing would clean it up). A folder
that cannot be created (a read-only home) means no file - the journal's commit alone, as
before - and one ``RuntimeWarning`` per process saying so.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
import warnings
import zlib
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any

__all__ = ["EffectLog", "atake_over", "discard", "left_behind", "log_dir", "take_over"]

#: Environment variable naming the folder of agentpatterns' local state.
STATE_ENV = "AGENTPATTERNS_STATE_DIR"
_ROW_FIELDS = 11  # thread_id, checkpoint_ns, task_id, seq, kind, name, type, value, created,
#                  parent_ns, checkpoint_id (storage.journal._row)
#: each record: payload length and CRC-32 (little-endian), then the row without its thread
#: as msgpack (ormsgpack, LangGraph's own dependency: plain types only, nothing executable)
_HEAD = struct.Struct("<II")


def log_dir(identity: Hashable) -> Path:
    """The folder holding the effect logs of the database ``identity``."""
    base = os.environ.get(STATE_ENV)
    if not base:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "state")
        base = os.path.join(xdg, "agentpatterns")
    digest = hashlib.sha256(repr(identity).encode("utf-8", "surrogatepass")).hexdigest()
    return Path(base) / "effects" / digest[:24]


def _prefix(thread_id: str) -> str:
    return hashlib.sha256(thread_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class EffectLog:
    """One lock holder's write-ahead file for one thread (see the module docstring).

    Args:
        directory: The database's folder (:func:`log_dir`).
        thread_id: The thread.

    Raises:
        OSError: The folder or the file could not be made.
    """

    def __init__(self, directory: Path, thread_id: str) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.epoch = time.time_ns()
        self.path = directory / f"{_prefix(thread_id)}-{self.epoch:020d}-{os.getpid()}.log"
        self._fd: int | None = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)

    def append(self, row: tuple[Any, ...]) -> None:
        """Write one journal row (as :func:`agentpatterns.storage.journal._row` makes it)."""
        if self._fd is None:
            return
        import ormsgpack

        payload = ormsgpack.packb(row[1:])
        try:  # one write: a few microseconds (see bench/bench_window.py)
            os.write(self._fd, _HEAD.pack(len(payload), zlib.crc32(payload)) + payload)
        except OSError:  # a full disk: the journal's own insert still decides
            pass

    def close(self, *, keep: bool = False) -> None:
        """Close the file; remove it unless ``keep`` (its entries may not all be committed)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        os.close(fd)
        if not keep:
            _remove(self.path)


def _remove(path: Path) -> None:
    # the database's folder stays (removing and making it again costs more than the file)
    try:
        path.unlink()
    except OSError:
        pass


def _records(data: bytes, thread_id: str) -> list[tuple[Any, ...]]:
    """The intact rows of one file (a record cut short or damaged ends the reading)."""
    import ormsgpack

    out = []
    at = 0
    while at + _HEAD.size <= len(data):
        size, crc = _HEAD.unpack_from(data, at)
        payload = data[at + _HEAD.size:at + _HEAD.size + size]
        at += _HEAD.size + size
        if len(payload) != size or zlib.crc32(payload) != crc:
            break
        try:
            fields = ormsgpack.unpackb(payload)
        except ormsgpack.MsgpackDecodeError:
            break
        row = _row(fields, thread_id)
        if row is not None:
            out.append(row)
    return out


def _row(fields: Any, thread_id: str) -> tuple[Any, ...] | None:
    if not isinstance(fields, list) or len(fields) != _ROW_FIELDS - 1:
        return None
    ns, task, seq, kind, name, type_, blob, created, parent_ns, checkpoint_id = fields
    if not (all(isinstance(v, str) for v in (ns, task, kind, name, type_, parent_ns,
                                              checkpoint_id))
            and isinstance(seq, int) and isinstance(blob, bytes)
            and isinstance(created, (int, float))):
        return None
    return (thread_id, ns, task, seq, kind, name, type_, blob, float(created), parent_ns,
            checkpoint_id)


def left_behind(directory: Path, thread_id: str) -> tuple[list[tuple[Any, ...]], list[Path]]:
    """The rows in the files earlier holders of ``thread_id`` left, and those files.

    Returns:
        ``(rows, files)``: one row per ``(checkpoint_ns, task_id, seq)``, the latest holder's
        (the files are read in the order their holders took the lock).
    """
    prefix = _prefix(thread_id) + "-"
    try:
        names = sorted(n for n in os.listdir(directory) if n.startswith(prefix)
                       and n.endswith(".log"))
    except OSError:
        return [], []
    rows: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    files = []
    for name in names:  # <prefix>-<epoch, 20 digits>-<pid>: sorted by epoch
        path = directory / name
        files.append(path)
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for row in _records(data, thread_id):
            rows[(row[1], row[2], row[3])] = row
    return list(rows.values()), files


def take_over(saver: Any, identity: Hashable, thread_id: str,
              restore_rows: Callable[[Any, list[tuple[Any, ...]]], None]) -> EffectLog | None:
    """A run took ``thread_id``'s lock: copy what killed holders left into the journal,
    remove their files, and open this run's own log.

    Args:
        saver: The thread's saver (a SQLite or PostgreSQL one; others keep no log).
        identity: The database's identity (the lock's backend key).
        thread_id: The thread.
        restore_rows: Inserts the rows the journal lacks
            (:func:`agentpatterns.storage.journal_restore.restore_rows`).

    Returns:
        This run's log, or ``None`` when none can be kept (no folder can be made).
    """
    directory = log_dir(identity)
    rows, files = left_behind(directory, thread_id)
    if rows:
        restore_rows(saver, rows)
    for path in files:
        _remove(path)
    return _opened(directory, thread_id)


def _opened(directory: Path, thread_id: str) -> EffectLog | None:
    try:
        return EffectLog(directory, thread_id)
    except OSError as exc:
        if directory not in _warned:  # said once per folder and process, not per run
            _warned.add(directory)
            warnings.warn(
                f"agentpatterns keeps no write-ahead effect log: {directory} cannot be made "
                f"({exc.strerror or exc}); runs still journal every call, but a kill during a "
                f"record's commit makes that call again on resume. Set {STATE_ENV} to a "
                "writable folder", RuntimeWarning, stacklevel=2)
        return None


_warned: set[Path] = set()


async def atake_over(saver: Any, identity: Hashable, thread_id: str,
                     arestore_rows: Callable[[Any, list[tuple[Any, ...]]], Awaitable[None]]
                     ) -> EffectLog | None:
    """:func:`take_over` for an async saver (``arestore_rows``:
    :func:`agentpatterns.storage.journal_restore.arestore_rows`)."""
    directory = log_dir(identity)
    rows, files = left_behind(directory, thread_id)
    if rows:
        await arestore_rows(saver, rows)
    for path in files:
        _remove(path)
    return _opened(directory, thread_id)


def discard(identity: Hashable, thread_id: str) -> None:
    """Remove every effect log of ``thread_id`` (its thread was deleted)."""
    for path in left_behind(log_dir(identity), thread_id)[1]:
        _remove(path)
