"""The ``agentpatterns`` command line: list, run, resume, demo, threads, history, fork, draw.

The top layer: may import everything below it. User mistakes print one clear line and exit
with a non-zero code; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from agentpatterns.cli.base import COMMANDS, EXIT_USAGE, CliError, Parser, error_line

__all__ = ["main"]


def build_parser() -> Parser:
    """The argument parser with every registered subcommand."""
    # importing a command module registers its subcommands, in this order in --help
    for module in ("run", "threads", "draw"):
        importlib.import_module(f"agentpatterns.cli.{module}")

    parser = Parser(
        prog="agentpatterns",
        description="Multi-agent patterns as explicit, checkpointed LangGraph graphs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _check_text(args: argparse.Namespace) -> None:
    """Refuse arguments that are not text (bytes the terminal could not decode as UTF-8)."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise CliError(f"--{name.replace('_', '-')} {shown!r} is not valid UTF-8 text; "
                               "pass it in UTF-8 (check the terminal's encoding)") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentpatterns`` console script."""
    from agentpatterns.errors import AgentPatternsError

    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    parser.check_unknown(extras, args.command)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    handler = COMMANDS[args.command][2]
    try:
        _check_text(args)
        return handler(args)
    except (CliError, AgentPatternsError, KeyError, ImportError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(error_line(str(message)), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # output piped into `head` and closed early: not an error worth a traceback
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("agentpatterns: interrupted; resume with `agentpatterns resume --thread ...`",
              file=sys.stderr)
        return 130

