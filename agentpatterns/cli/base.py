"""What every ``agentpatterns`` subcommand shares: errors, target loading, the registry."""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

__all__ = ["COMMANDS", "CliError", "Parser", "command", "did_you_mean", "error_line",
           "load_target"]

EXIT_USAGE = 2
EXIT_ERROR = 1


class CliError(Exception):
    """A user-facing error: printed as one line, exit code ``EXIT_USAGE``."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``options`` (``""`` if none is close)."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class Parser(argparse.ArgumentParser):
    """``argparse`` that suggests the closest flag, command or choice for a mistyped one."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``message`` (with a suggestion) and exit with code 2."""
        match = _CHOICE.search(message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(2))
            message += did_you_mean(match.group(1), choices)
        super().error(message)

    def check_unknown(self, extras: Sequence[str], command: str | None) -> None:
        """Refuse ``extras`` (what ``parse_known_args`` left over) naming the closest flags.

        Args:
            extras: The arguments no option took.
            command: The subcommand that was parsed (its flags are the candidates).
        """
        if not extras:
            return
        parser: argparse.ArgumentParser = self
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and command in action.choices:
                parser = action.choices[command]
        flags = [o for a in parser._actions for o in a.option_strings]
        hints = [f"{x}{did_you_mean(x.split('=', 1)[0], flags)}" for x in extras
                 if x.startswith("-")]
        parser.error("unrecognized arguments: " + (", ".join(hints) if hints
                                                   else " ".join(extras)))


def error_line(message: str) -> str:
    """The one line an error is printed as: whitespace folded, secrets redacted."""
    from agentpatterns.redaction import redact

    return "agentpatterns: error: " + redact(" ".join(message.split()))


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def load_target(spec: str) -> tuple[Any, str]:
    """A built-in example name or ``module:attribute`` -> (Pattern or Agent, display name)."""
    from agentpatterns.examples import COMPOSITIONS, EXAMPLES, example

    if spec in EXAMPLES or spec in COMPOSITIONS:
        return example(spec), spec
    if ":" not in spec:
        names = [*EXAMPLES, *COMPOSITIONS]
        raise CliError(f"unknown pattern {spec!r}{did_you_mean(spec, names)}: use a built-in "
                       f"name ({', '.join(names)}) or module:attribute naming your Pattern or "
                       "Agent")
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CliError(f"{spec!r} is not module:attribute (e.g. myagents:triage_pattern)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CliError(f"cannot import module {module_name!r} from {spec!r}: {exc}") from None
    except Exception as exc:  # the user's module raised while importing
        raise CliError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    except SystemExit as exc:  # sys.exit() at import time: not a way to give a pattern
        raise CliError(f"importing {module_name!r} called sys.exit({exc.code!r}); a module "
                       "named by PATTERN must define the Pattern or Agent, not exit") from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise CliError(f"module {module_name!r} has no attribute {attr!r}; check the name "
                           "after the colon")
        target = getattr(target, part)
    from agentpatterns.graphs.pattern import Pattern
    from agentpatterns.nodes.agent import Agent

    if callable(target) and not isinstance(target, (Pattern, Agent)):
        try:
            target = target()
        except Exception as exc:
            raise CliError(f"calling {spec} failed: {type(exc).__name__}: {exc}") from None
        except SystemExit as exc:
            raise CliError(f"calling {spec} raised SystemExit({exc.code!r}) instead of "
                           "returning a Pattern or an Agent; return one from the factory"
                           ) from None
    if not isinstance(target, (Pattern, Agent)):
        raise CliError(f"{spec} is a {type(target).__name__}, not a Pattern or an Agent")
    return target, spec


def _db(args: argparse.Namespace) -> str:
    from agentpatterns.storage import default_db_url

    return args.db or os.environ.get("AGENTPATTERNS_DB") or default_db_url()


#: name -> (help, add_arguments, handler); other modules may register more commands
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                          Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str) -> Callable[[Callable[[argparse.ArgumentParser], None]],
                                              Callable[[argparse.ArgumentParser], None]]:
    """Register the arguments of a subcommand; its handler is ``cmd_<name>``."""

    def wrap(fn: Callable[[argparse.ArgumentParser], None]) -> Any:
        # the handler lives beside the argument function: ``cmd_<name>`` in its module
        COMMANDS[name] = (help, fn, fn.__globals__[f"cmd_{name.replace('-', '_')}"])
        return fn

    return wrap


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="checkpointer URL (default: sqlite:///./.agentpatterns/runs.db)")
    p.add_argument("--model", help="model for every agent: offline, openai:<model>")


def _budget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-calls", type=int, metavar="N",
                   help="stop before the run's model calls would exceed N (resume with more)")
    p.add_argument("--max-tokens", type=int, metavar="N",
                   help="stop once the run has used N tokens (checked before each call)")


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="checkpointer URL: sqlite:///file.db, postgresql://..., memory "
                                "(default: $AGENTPATTERNS_DB or sqlite:///./.agentpatterns/runs.db)")


def _shown(db: str) -> str:
    from agentpatterns.storage.spec import _redact

    return _redact(db)


def _absent(db: str) -> bool:
    """A SQLite URL whose file does not exist: commands that only read must not create it."""
    from agentpatterns.storage.spec import _parse
    from agentpatterns.storage.sqlite import _exists, _sqlite_path

    spec = _parse(db, "checkpointer")
    return spec.backend == "sqlite" and not _exists(_sqlite_path(spec.target))


def _pattern_of_thread(db: str, thread_id: str) -> str | None:
    from agentpatterns.storage import open_checkpointer

    if _absent(db):
        raise CliError(f"thread {thread_id!r} is not in {_shown(db)}: that file does not exist "
                       "(check --db or $AGENTPATTERNS_DB)")
    with open_checkpointer(db, read_only=True) as saver:
        tup = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    if tup is None:
        raise CliError(f"thread {thread_id!r} is not in {_shown(db)}; list threads with "
                       "`agentpatterns threads`")
    meta = tup.metadata or {}
    value = meta.get("agentpatterns_pattern")
    return str(value) if value else None
