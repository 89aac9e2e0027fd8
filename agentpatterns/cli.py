"""The ``agentpatterns`` command line: list, run, resume (and more, see ``--help``).

User mistakes print one clear line and exit with a non-zero code; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_ERROR = 1


class CliError(Exception):
    """A user-facing error: printed as one line, exit code ``EXIT_USAGE``."""


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def load_target(spec: str) -> tuple[Any, str]:
    """A built-in example name or ``module:attribute`` -> (Pattern or Agent, display name)."""
    from agentpatterns.examples import EXAMPLES, example

    if spec in EXAMPLES:
        return example(spec), spec
    if ":" not in spec:
        raise CliError(f"unknown pattern {spec!r}: use a built-in name ({', '.join(EXAMPLES)}) "
                       "or module:attribute naming your Pattern or Agent")
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
    if not isinstance(target, (Pattern, Agent)):
        raise CliError(f"{spec} is a {type(target).__name__}, not a Pattern or an Agent")
    return target, spec


def _db(args: argparse.Namespace) -> str:
    from agentpatterns.storage import default_db_url

    return args.db or os.environ.get("AGENTPATTERNS_DB") or default_db_url()


def _print_update(console: Any, node: str, update: Any, seen: list[str]) -> None:
    if not isinstance(update, dict):
        return
    for agent in update.get("path") or []:
        if isinstance(agent, str) and agent != "__agentpatterns_reset__":
            seen.append(agent)
            console.print(f"  [bold cyan]{len(seen):>2}.[/] {agent}")
    for h in update.get("handoffs") or []:
        if isinstance(h, dict):
            console.print(f"      [magenta]handoff[/] {h['from']} → {h['to']}"
                          f"  [dim]({h.get('reason', '')[:70]})[/]")
    for a in update.get("assignments") or []:
        if isinstance(a, dict):
            console.print(f"      [magenta]assign[/] → {a['worker']}: [dim]{a['task'][:70]}[/]")
    for e in update.get("events") or []:
        if isinstance(e, dict):
            console.print(f"      [yellow]event[/] {e.get('type')}: "
                          f"{ {k: v for k, v in e.items() if k != 'type'} }")


def _show_result(console: Any, result: Any, db: str) -> None:
    from agentpatterns.adapters._summary import usage_table

    if result.interrupted:
        info = result.interruption or {}
        console.print("\n[bold yellow]Waiting for a human decision[/]")
        if isinstance(info, dict) and "plan" in info:
            console.print(f"[bold]Plan:[/] {info['plan']}")
        console.print(f"Resume with: agentpatterns resume --thread {result.thread_id} "
                      "--approve | --reject [--feedback TEXT]"
                      + (f" --db {db}" if "--db" in sys.argv else ""))
    else:
        console.print("\n[bold green]Final output[/] "
                      f"[dim](from {result.last_agent or '-'})[/]:")
        out = result.final_output
        console.print(out.model_dump_json(indent=2) if hasattr(out, "model_dump_json") else
                      str(out), markup=False)
    console.print(usage_table(result))
    console.print(f"[dim]model:[/] {result.model}")
    console.print(f"[dim]thread:[/] {result.thread_id}   [dim]db:[/] {db}")


def _stream_run(target: Any, command_input: Any, *, thread_id: str, db: str, model: Any,
                configurable: dict[str, Any], resume: bool, decision: Any = None) -> Any:
    """Run (or resume) printing each step as it happens; returns the RunResult."""
    from agentpatterns import runner as r
    from agentpatterns.storage import open_checkpointer, open_store

    console = _console()
    pattern = r.as_pattern(target)
    config = r._config(thread_id, model, None, configurable)
    with open_checkpointer(db) as saver, open_store(db) as store:
        graph = r._compiled(pattern, saver, store)
        if resume:
            payload = r._resume_command(graph.get_state(config), thread_id, decision)
        else:
            payload = r._start_input(command_input)
        seen: list[str] = []
        for chunk in graph.stream(payload, config, stream_mode="updates"):
            for node, update in chunk.items():
                if node != "__interrupt__":
                    _print_update(console, node, update, seen)
        result = r._result(pattern, graph.get_state(config), thread_id, model)
    _show_result(console, result, db)
    return result


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from agentpatterns.examples import EXAMPLES

    table = Table(title="Built-in patterns (the seed's examples)")
    table.add_column("name", style="bold cyan")
    table.add_column("agents")
    table.add_column("try")
    for name, (builder, sample) in EXAMPLES.items():
        pattern = builder()
        table.add_row(name, ", ".join(a.name for a in pattern.agents),
                      f'agentpatterns run {name} "{sample}"')
    console = _console()
    console.print(table)
    console.print("[dim]Models: offline by default (deterministic rules, not an LLM); set "
                  "OPENAI_API_KEY or --model openai:gpt-4.1-mini for a real one.[/]")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    target, name = load_target(args.pattern)
    if not args.input or not args.input.strip():
        raise CliError('the input is empty; pass the request in quotes: agentpatterns run '
                       f'{args.pattern} "your request"')
    thread_id = args.thread or uuid.uuid4().hex[:12]
    db = _db(args)
    configurable = {"agentpatterns_pattern": name}
    if args.user:
        configurable["user_id"] = args.user
    console = _console()
    console.print(f"[bold]{name}[/] · thread [cyan]{thread_id}[/]")
    _stream_run(target, args.input, thread_id=thread_id, db=db, model=args.model,
                configurable=configurable, resume=False)
    return 0


def _pattern_of_thread(db: str, thread_id: str) -> str | None:
    from agentpatterns.storage import open_checkpointer

    with open_checkpointer(db) as saver:
        tup = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    if tup is None:
        raise CliError(f"thread {thread_id!r} is not in {db}; list threads with "
                       "`agentpatterns threads`")
    meta = tup.metadata or {}
    value = meta.get("agentpatterns_pattern")
    return str(value) if value else None


def cmd_resume(args: argparse.Namespace) -> int:
    db = _db(args)
    spec = args.pattern or _pattern_of_thread(db, args.thread)
    if spec is None:
        raise CliError(f"thread {args.thread!r} does not record its pattern; pass --pattern")
    target, name = load_target(spec)
    decision: Any
    if args.approve or args.reject:
        decision = {"approved": bool(args.approve)}
        if args.feedback:
            decision["feedback"] = args.feedback
        if args.plan:
            decision["plan"] = args.plan
    elif args.feedback or args.plan:
        decision = {k: v for k, v in (("feedback", args.feedback), ("plan", args.plan)) if v}
    else:
        from agentpatterns.runner import _MISSING

        decision = _MISSING
    _console().print(f"[bold]{name}[/] · resuming thread [cyan]{args.thread}[/]")
    configurable = {"agentpatterns_pattern": name}
    _stream_run(target, None, thread_id=args.thread, db=db, model=args.model,
                configurable=configurable, resume=True, decision=decision)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run every built-in pattern on its sample request, offline, into one SQLite file."""
    from agentpatterns.examples import EXAMPLES, example
    from agentpatterns.storage import default_db_url

    console = _console()
    db = args.db or default_db_url().replace("runs.db", "demo.db")
    console.print("[bold]agentpatterns demo[/] - the seed's nine patterns as LangGraph graphs, "
                  "on the offline model (deterministic rules, not an LLM; no key, no network)")
    run_id = uuid.uuid4().hex[:6]
    for name, (_, sample) in EXAMPLES.items():
        console.rule(f"[bold cyan]{name}")
        pattern = example(name)
        console.print(f'[dim]request:[/] "{sample}"')
        thread = f"demo-{name}-{run_id}"
        configurable = {"agentpatterns_pattern": name}
        if name == "memory":
            configurable["user_id"] = f"demo-user-{run_id}"
        result = _stream_run(pattern, sample, thread_id=thread, db=db, model=args.model,
                             configurable=configurable, resume=False)
        if name == "memory":
            question = "What is my favourite colour?"
            console.print(f'\n[dim]same session, next request:[/] "{question}"')
            _stream_run(pattern, question, thread_id=thread, db=db, model=args.model,
                        configurable=configurable, resume=False)
        if result.interrupted:
            console.print("\n[dim]a person approves (agentpatterns resume --thread "
                          f"{thread} --approve):[/]")
            _stream_run(pattern, None, thread_id=thread, db=db, model=args.model,
                        configurable=configurable, resume=True, decision=True)
    console.rule()
    console.print(f"Every run above is checkpointed in {db}; try "
                  f"`agentpatterns history --thread demo-triage-{run_id} --db {db}`.")
    return 0


#: name -> (help, add_arguments, handler); other modules may register more commands
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                          Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str) -> Callable[[Callable[[argparse.ArgumentParser], None]],
                                              Callable[[argparse.ArgumentParser], None]]:
    """Register the arguments of a subcommand; its handler is ``cmd_<name>``."""

    def wrap(fn: Callable[[argparse.ArgumentParser], None]) -> Any:
        COMMANDS[name] = (help, fn, globals()[f"cmd_{name.replace('-', '_')}"])
        return fn

    return wrap


@command("list", "list the built-in example patterns")
def _args_list(p: argparse.ArgumentParser) -> None:
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="checkpointer URL (default: sqlite:///./.agentpatterns/runs.db)")
    p.add_argument("--model", help="model for every agent: offline, openai:<model>")


@command("demo", "run all nine built-in patterns offline, one after another")
def _args_demo(p: argparse.ArgumentParser) -> None:
    _common(p)


@command("run", "run a pattern on a request, printing the route as it happens")
def _args_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", help="built-in name (see `list`) or module:attribute")
    p.add_argument("input", nargs="?", default="", help="the request, in quotes")
    p.add_argument("--thread", help="thread id (default: a new one)")
    p.add_argument("--user", help="user id for long-term memory (memory pattern)")
    _common(p)


@command("resume", "continue a thread: decide on a pending approval, or finish a cut-off run")
def _args_resume(p: argparse.ArgumentParser) -> None:
    p.add_argument("--thread", required=True, help="the thread to resume")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--approve", action="store_true", help="approve the pending plan")
    group.add_argument("--reject", action="store_true", help="reject the pending plan")
    p.add_argument("--feedback", help="send the plan back to the planner with this feedback")
    p.add_argument("--plan", help="approve this edited plan instead")
    p.add_argument("--pattern", help="pattern (default: the one recorded with the thread)")
    _common(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="agentpatterns",
        description="Multi-agent patterns as explicit, checkpointed LangGraph graphs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentpatterns`` console script."""
    from agentpatterns.errors import AgentPatternsError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    handler = COMMANDS[args.command][2]
    try:
        return handler(args)
    except (CliError, AgentPatternsError, KeyError, ImportError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"agentpatterns: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("agentpatterns: interrupted; resume with `agentpatterns resume --thread ...`",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
