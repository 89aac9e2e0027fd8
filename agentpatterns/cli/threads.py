"""The durable-run subcommands: ``threads``, ``history`` and ``fork``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentpatterns.cli.base import (
    CliError,
    _absent,
    _console,
    _db,
    _db_arg,
    _pattern_of_thread,
    _shown,
    command,
)


def _wide_console() -> Any:
    console = _console()
    if not console.is_terminal:  # piped or captured: no screen to fit, keep ids whole
        console.width = max(console.width, 160)
    return console


def cmd_threads(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from rich.table import Table

    from agentpatterns.run.threads import RUNNING, WAITING, list_threads, local_time
    from agentpatterns.storage import open_checkpointer

    db = _db(args)
    infos = []
    if not _absent(db):
        with open_checkpointer(db, read_only=True) as saver:
            infos = list_threads(saver, on_unreadable=_warn_unreadable)
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return 0
    console = _wide_console()
    if not infos:
        console.print(f"no threads in {_shown(db)}; start one with "
                      "`agentpatterns run PATTERN \"request\"`", markup=False)
        return 0
    colour = {"done": "green", WAITING: "yellow", "cut off": "red", RUNNING: "cyan"}
    table = Table(title=f"Threads in {_shown(db)}")
    for column in ("thread", "pattern", "status", "last step", "agents"):
        table.add_column(column, no_wrap=column in ("thread", "last step"))
    for info in infos:
        status = info.status + (f" ({info.holder})" if info.holder else "")
        table.add_row(info.thread_id, info.pattern or "-",
                      f"[{colour.get(info.status, 'white')}]{status}[/]",
                      local_time(info.updated), " → ".join(info.agents) or "-")
    console.print(table)
    return 0


def _warn_unreadable(thread_id: str, exc: Exception) -> None:
    from agentpatterns.errors import StorageError
    from agentpatterns.redaction import redact

    if isinstance(exc, StorageError):  # says which checkpoint and why
        print(redact(f"agentpatterns: warning: thread {thread_id!r} skipped: "
                     + " ".join(str(exc).split())), file=sys.stderr)
        return
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
    print(redact(f"agentpatterns: warning: thread {thread_id!r} skipped: its latest checkpoint "
                 f"cannot be read ({detail})"), file=sys.stderr)


def cmd_history(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict, replace

    from rich.table import Table

    from agentpatterns.run.threads import local_time, thread_history
    from agentpatterns.storage import open_checkpointer

    db = _db(args)
    if _absent(db):
        _pattern_of_thread(db, args.thread)  # says the file does not exist
    with open_checkpointer(db, read_only=True) as saver:
        steps = thread_history(saver, args.thread)
    if not steps:
        raise CliError(f"thread {args.thread!r} is not in {_shown(db)}; list threads with "
                       "`agentpatterns threads`")
    from agentpatterns.redaction import redact

    # a request or plan holding a key is shown without it (the database keeps the user's text)
    steps = [replace(s, note=redact(s.note)) for s in steps]
    if args.json:
        print(json.dumps([asdict(s) for s in steps], indent=2))
        return 0
    table = Table(title=f"Thread {args.thread} ({len(steps)} checkpoints, oldest first)")
    for column in ("step", "node", "agents", "handoff", "time", "checkpoint", "note"):
        table.add_column(column, no_wrap=column in ("step", "time", "checkpoint"))
    for s in steps:
        table.add_row(str(s.step), ", ".join(s.nodes) or ("input" if s.source == "input" else
                                                          "-"),
                      ", ".join(s.agents) or "-",
                      ", ".join(f"{a} → {b}" for a, b in s.handoffs) or "-",
                      local_time(s.created_at), s.checkpoint_id, s.note)
    console = _wide_console()
    console.print(table, markup=False)
    console.print(f"[dim]fork at a checkpoint: agentpatterns fork --thread {args.thread} "
                  "--checkpoint ID[/]")
    return 0


def cmd_fork(args: argparse.Namespace) -> int:
    from agentpatterns.run.threads import fork_at
    from agentpatterns.storage import open_checkpointer

    db = _db(args)
    if not args.checkpoint.strip():
        raise CliError("--checkpoint is empty; pass one of the ids `agentpatterns history "
                       f"--thread {args.thread}` lists (a unique prefix is enough)")
    _pattern_of_thread(db, args.thread)  # the thread exists (and the file: not created here)
    with open_checkpointer(db) as saver:
        new, checkpoint = fork_at(saver, args.thread, args.checkpoint, args.new_thread)
    db_flag = f" --db {_shown(db)}" if args.db else ""
    print(f"forked thread {args.thread} at checkpoint {checkpoint} into a new thread;")
    print(f"continue it with: agentpatterns resume --thread {new}{db_flag}")
    print(new)
    return 0


@command("threads", "list the threads in the database: pattern, status, last step, agents")
def _args_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _db_arg(p)


@command("history", "show every checkpoint of a thread: step, node, agents, handoffs, time, id")
def _args_history(p: argparse.ArgumentParser) -> None:
    p.add_argument("--thread", required=True, help="the thread")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _db_arg(p)


@command("fork", "copy a thread as of one of its checkpoints into a new thread (time travel)")
def _args_fork(p: argparse.ArgumentParser) -> None:
    p.add_argument("--thread", required=True, help="the thread to fork")
    p.add_argument("--checkpoint", required=True,
                   help="checkpoint id (or a unique prefix) from `agentpatterns history`")
    p.add_argument("--new-thread", help="id of the new thread (default: THREAD-fork-XXXXXX)")
    _db_arg(p)
