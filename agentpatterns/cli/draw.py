"""`draw`: a pattern (optionally with a run's path) to SVG, PNG or Mermaid, offline."""

from __future__ import annotations

import argparse

from agentpatterns.cli.base import (
    CliError,
    _db,
    command,
    load_target,
)


def cmd_draw(args: argparse.Namespace) -> int:
    """Draw a pattern to an SVG, PNG or Mermaid file, optionally with a run's path on it."""
    from pathlib import Path

    from agentpatterns.adapters.networkx import FORMATS, draw
    from agentpatterns.errors import AgentPatternsError

    out = args.output
    if Path(out).suffix.lower() not in FORMATS:
        raise CliError(f"cannot draw to {out!r}: the file name must end in .svg, .png or .mmd")
    if args.checkpoint and not args.thread:
        raise CliError("--checkpoint needs --thread (the thread the checkpoint belongs to)")
    target, name = load_target(args.pattern)
    db = _db(args) if args.thread else None
    try:
        written = draw(target, path=out, thread_id=args.thread, checkpointer=db,
                    checkpoint_id=args.checkpoint, engine=args.engine)
    except OSError as exc:
        if isinstance(exc, AgentPatternsError):  # StorageError: already one clear line
            raise
        raise CliError(f"cannot write {out!r}: {exc.strerror or exc}") from None
    run = f", run of thread {args.thread}" if args.thread else ""
    print(f"wrote {out} ({name}{run}, {written.stat().st_size} bytes)")
    return 0


@command("draw", "draw a pattern to FILE.svg, FILE.png or FILE.mmd (Mermaid), offline")
def _args_draw(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", help="built-in name (see `list`) or module:attribute")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="where to write; .svg, .png or .mmd picks the format")
    p.add_argument("--thread", help="overlay this thread's run: its agents, in order")
    p.add_argument("--checkpoint", help="with --thread: the run as of this checkpoint id")
    p.add_argument("--db", help="checkpointer URL of --thread "
                                "(default: sqlite:///./.agentpatterns/runs.db)")
    p.add_argument("--engine", choices=("auto", "dot", "python"), default="auto",
                   help="Graphviz dot, the built-in python layout, or dot when installed")
