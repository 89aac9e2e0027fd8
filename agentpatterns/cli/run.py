"""`run`, `resume`, `list` and `demo`: run patterns, printing the route as it happens."""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from contextlib import nullcontext
from typing import Any

from agentpatterns.cli.base import (
    CliError,
    _budget_args,
    _common,
    _console,
    _db,
    _pattern_of_thread,
    _shown,
    command,
    load_target,
)


def _show_result(console: Any, result: Any, db: str) -> None:
    from rich.markup import escape

    from agentpatterns.cli.summary import usage_table
    from agentpatterns.redaction import redact

    if result.interrupted:
        info = result.interruption or {}
        console.print("\n[bold yellow]Waiting for a human decision[/]")
        if isinstance(info, dict) and "plan" in info:
            console.print("[bold]Plan:[/] " + escape(redact(str(info["plan"]))))
        for call in (info.get("approvals") or []) if isinstance(info, dict) else []:
            console.print(f"[bold]Tool call:[/] {escape(str(call.get('agent')))} → "
                          f"{escape(str(call.get('tool')))}"
                          f"({escape(redact(str(call.get('arguments'))))})"
                          f"  [dim]id {escape(str(call.get('call_id')))}[/]")
        console.print(f"Resume with: agentpatterns resume --thread {result.thread_id} "
                      "--approve | --reject [--feedback TEXT]"
                      + (f" --db {db}" if "--db" in sys.argv else ""))
    else:
        console.print("\n[bold green]Final output[/] "
                      f"[dim](from {result.last_agent or '-'})[/]:")
        out = result.final_output
        console.print(redact(out.model_dump_json(indent=2) if hasattr(out, "model_dump_json")
                             else str(out)), markup=False)
    console.print(usage_table(result))
    console.print(f"[dim]model:[/] {result.model}")
    console.print(f"[dim]thread:[/] {result.thread_id}   [dim]db:[/] {_shown(db)}")


def _stream_run(target: Any, command_input: Any, *, thread_id: str, db: str, model: Any,
                configurable: dict[str, Any], resume: bool, decision: Any = None,
                max_calls: int | None = None, max_tokens: int | None = None) -> Any:
    """Run (or resume) printing each step as it happens; returns the RunResult.

    A run stopped by a guardrail or its budget prints what it did so far (and the per-agent
    table), then the error propagates to ``main`` (one line, non-zero exit).
    """
    from agentpatterns.errors import BudgetExceeded, GuardrailTripwireTriggered
    from agentpatterns.run.invoke import printed, sdk_hint, settled
    from agentpatterns.run.plan import MISSING, opened, prepare
    from agentpatterns.run.progress import ProgressPrinter, live_terminal

    console = _console()
    # the Runner's own preparation: a model that cannot work fails before the thread exists
    plan = prepare(target, command_input, resume=resume, thread_id=thread_id,
                   decision=decision, checkpointer=db, store=db, model=model,
                   configurable=configurable, max_model_calls=max_calls, max_tokens=max_tokens)
    with opened(plan) as graph:
        snapshot: Any = settled(plan.pattern, graph, plan.config) if resume else None
        if resume and decision is MISSING and snapshot.interrupts:
            raise CliError(f"thread {thread_id!r} is waiting for approval; pass --approve "
                           "or --reject (with --feedback TEXT to send the plan back)")
        with sdk_hint(plan, graph):  # a thread the SDK runtime ran: resume_sdk, not this
            payload = plan.begin(snapshot)
        try:
            spinner = (console.status("[cyan]starting…[/]", spinner="dots")
                       if live_terminal(console) else nullcontext(None))
            with spinner as status:
                result = printed(plan, graph, payload, ProgressPrinter(console, status))
        except (BudgetExceeded, GuardrailTripwireTriggered) as exc:
            _show_stop(console, exc, db)
            raise
    _show_result(console, result, db)
    return result


def _show_stop(console: Any, exc: Any, db: str) -> None:
    """What a run stopped by its budget or a guardrail did before it stopped."""
    from agentpatterns.cli.summary import usage_table

    result = getattr(exc, "result", None)
    if result is None:
        return
    what = "its budget" if type(exc).__name__ == "BudgetExceeded" else "a guardrail"
    console.print(f"\n[bold red]Stopped by {what}[/] [dim](state saved)[/]")
    console.print(usage_table(result))
    console.print(f"[dim]model:[/] {result.model}")
    console.print(f"[dim]thread:[/] {result.thread_id}   [dim]db:[/] {_shown(db)}")


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from agentpatterns.examples import COMPOSITIONS, EXAMPLES

    table = Table(title="Built-in patterns (the seed's examples, then compositions)")
    table.add_column("name", style="bold cyan")
    table.add_column("agents")
    table.add_column("try")
    for name, (builder, sample) in [*EXAMPLES.items(), *COMPOSITIONS.items()]:
        pattern = builder()
        nested = "".join(f" [dim]+ {p.name} ({p.kind}: "
                         f"{', '.join(a.name for a in p.all_agents())})[/]"
                         for p in pattern.patterns)
        table.add_row(name, ", ".join(a.name for a in pattern.agents) + nested,
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
    from agentpatterns.graphs.handoffs import as_pattern
    from agentpatterns.nodes.models import check_models

    check_models(as_pattern(target).agents, args.model)  # before the thread is announced
    thread_id = args.thread or uuid.uuid4().hex[:12]
    db = _db(args)
    configurable = {"agentpatterns_pattern": name}
    if args.user:
        configurable["user_id"] = args.user
    console = _console()
    console.print(f"[bold]{name}[/] · thread [cyan]{thread_id}[/]")
    _stream_run(target, args.input, thread_id=thread_id, db=db, model=args.model,
                configurable=configurable, resume=False, max_calls=args.max_calls,
                max_tokens=args.max_tokens)
    return 0


def _decision(args: argparse.Namespace) -> Any:
    """The decision the flags ask for; contradictory flags are refused, never reinterpreted."""
    if args.approve and args.feedback:
        raise CliError("--approve with --feedback is contradictory (feedback sends the plan "
                       "back for revision); use --feedback TEXT alone to revise, or --approve "
                       "alone (--plan TEXT to run an edited plan)")
    if args.reject and args.plan:
        raise CliError("--reject with --plan is contradictory (--plan runs the edited plan); "
                       "use --approve --plan TEXT, or --reject alone")
    if args.feedback and args.plan:
        raise CliError("--feedback sends the plan back and --plan runs an edited plan; pass "
                       "one of them")
    for flag, value in (("--feedback", args.feedback), ("--plan", args.plan)):
        if value is not None and not value.strip():
            raise CliError(f"{flag} is empty; give the text, or leave {flag} out")
    if args.approve or args.reject:
        decision: dict[str, Any] = {"approved": bool(args.approve)}
        if args.feedback:
            decision["feedback"] = args.feedback
        if args.plan:
            decision["plan"] = args.plan
        return decision
    if args.feedback:
        return {"feedback": args.feedback}
    if args.plan:
        return {"approved": True, "plan": args.plan}
    from agentpatterns.run.plan import MISSING

    return MISSING


def _resume_target(args: argparse.Namespace, db: str) -> tuple[Any, str]:
    """The pattern to resume with: ``--pattern``, or a built-in recorded by name.

    A ``module:attribute`` recorded in the database is never imported (a database row must
    not choose what code runs); the user names it again with ``--pattern``.
    """
    from agentpatterns.examples import COMPOSITIONS, EXAMPLES, example

    if args.pattern:
        return load_target(args.pattern)
    recorded = _pattern_of_thread(db, args.thread)
    if recorded is None:
        raise CliError(f"thread {args.thread!r} does not record its pattern (it was not started "
                       "by this command line); pass --pattern NAME or module:attribute")
    if recorded in EXAMPLES or recorded in COMPOSITIONS:
        return example(recorded), recorded
    shown = recorded if len(recorded) <= 80 else recorded[:60] + f"... ({len(recorded)} chars)"
    hint = (f"pass --pattern {recorded} if that is your code"
            if re.fullmatch(r"[\w.]+:[\w.]+", recorded) else "pass --pattern NAME or "
            "module:attribute naming the pattern the thread runs")
    raise CliError(f"thread {args.thread!r} was started with {shown!r}, which is not a "
                   "built-in pattern; agentpatterns does not import code a database names: "
                   + hint)


def cmd_resume(args: argparse.Namespace) -> int:
    if args.thread and args.thread_id and args.thread != args.thread_id:
        raise CliError(f"two threads given ({args.thread_id!r} and --thread {args.thread!r}); "
                       "pass one")
    args.thread = args.thread or args.thread_id
    if not args.thread:
        raise CliError("which thread? pass it: agentpatterns resume THREAD (or --thread "
                       "THREAD); `agentpatterns threads` lists them")
    db = _db(args)
    decision = _decision(args)
    target, name = _resume_target(args, db)
    _console().print(f"[bold]{name}[/] · resuming thread [cyan]{args.thread}[/]")
    configurable = {"agentpatterns_pattern": name}
    _stream_run(target, None, thread_id=args.thread, db=db, model=args.model,
                configurable=configurable, resume=True, decision=decision,
                max_calls=args.max_calls, max_tokens=args.max_tokens)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run every built-in pattern on its sample request into one SQLite file, on the offline
    model unless ``--model`` or the environment names a real one. A pattern that fails is
    reported in one line and the demo goes on; the exit code is 1 if any failed."""
    from rich.markup import escape

    from agentpatterns.errors import AgentPatternsError
    from agentpatterns.examples import EXAMPLES, example
    from agentpatterns.nodes.models import describe_model, resolve_model
    from agentpatterns.nodes.offline import OfflineModel
    from agentpatterns.redaction import redact
    from agentpatterns.storage import default_db_url

    console = _console()
    db = args.db or default_db_url().replace("runs.db", "demo.db")
    model = resolve_model(args.model)
    offline = isinstance(model, OfflineModel)
    on = ("on the offline model (deterministic rules, not an LLM; no key, no network)"
          if offline else f"on {describe_model(model)}")
    console.print(f"[bold]agentpatterns demo[/] - the seed's nine patterns as LangGraph graphs, "
                  f"{on}")
    budget = {"max_calls": args.max_calls, "max_tokens": args.max_tokens}
    run_id = uuid.uuid4().hex[:6]
    failed: list[str] = []
    for name, (_, sample) in EXAMPLES.items():
        console.rule(f"[bold cyan]{name}")
        pattern = example(name)
        console.print(f'[dim]request:[/] "{sample}"')
        thread = f"demo-{name}-{run_id}"
        configurable = {"agentpatterns_pattern": name}
        if name == "memory":
            configurable["user_id"] = f"demo-user-{run_id}"
        try:
            result = _stream_run(pattern, sample, thread_id=thread, db=db, model=args.model,
                                 configurable=configurable, resume=False, **budget)
            if name == "memory":
                question = "What is my favourite colour?"
                console.print(f'\n[dim]same session, next request:[/] "{question}"')
                _stream_run(pattern, question, thread_id=thread, db=db, model=args.model,
                            configurable=configurable, resume=False, **budget)
            if result.interrupted:
                console.print("\n[dim]a person approves (agentpatterns resume --thread "
                              f"{thread} --approve):[/]")
                _stream_run(pattern, None, thread_id=thread, db=db, model=args.model,
                            configurable=configurable, resume=True, decision=True, **budget)
        except AgentPatternsError as exc:  # one pattern's failure does not end the demo
            failed.append(name)
            console.print(f"[bold red]{name} failed:[/] "
                          + escape(redact(f"{type(exc).__name__}: {exc}")))
    console.rule("[bold cyan]the same agents on the OpenAI Agents SDK Runner")
    failed += _demo_sdk(console, args.model, compare=offline, max_model_calls=args.max_calls,
                        max_tokens=args.max_tokens)
    console.rule()
    if failed:
        console.print(f"[bold red]{len(failed)} run(s) failed:[/] {', '.join(failed)}")
    console.print(f"Every run above is checkpointed in {db}; try "
                  f"`agentpatterns history --thread demo-triage-{run_id} --db {db}`.")
    return 1 if failed else 0


def _demo_sdk(console: Any, model: Any, *, compare: bool, **budget: Any) -> list[str]:
    """Run every built-in once more through ``agents.Runner``; on the offline model compare
    the routes with LangGraph's (a real model may answer differently each time). Returns
    the names of the patterns that failed."""
    from rich.markup import escape

    from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_sync
    from agentpatterns.errors import AgentPatternsError
    from agentpatterns.examples import EXAMPLES, example
    from agentpatterns.redaction import redact
    from agentpatterns.run.runner import Runner

    failed = []
    for name, (_, sample) in EXAMPLES.items():
        thread = f"demo-sdk-{name}-{uuid.uuid4().hex[:6]}"
        try:
            sdk = run_sdk_sync(example(name), sample, model=model, thread_id=thread, **budget)
            if sdk.interrupted:  # the SDK's own approval mechanism: RunState.approve
                sdk = resume_sdk_sync(example(name), thread_id=thread, decision=True, **budget)
            if not compare:
                console.print(f"  {name:<15} {' → '.join(sdk.path)}")
                continue
            ours = Runner.run_sync(example(name), sample, model=model, thread_id=thread + "-lg")
            if ours.interrupted:
                ours = Runner.resume_sync(example(name), thread_id=thread + "-lg", decision=True)
        except AgentPatternsError as exc:
            failed.append(f"{name} (SDK)")
            console.print(f"  {name:<15} [bold red]failed:[/] "
                          + escape(redact(f"{type(exc).__name__}: {exc}")))
            continue
        same = (sorted(ours.path) == sorted(sdk.path) if name == "parallel"
                else ours.path == sdk.path) and ours.final_output == sdk.final_output
        mark = "[green]same route and output[/]" if same else "[red]DIFFERENT[/]"
        console.print(f"  {name:<15} {' → '.join(sdk.path)}  {mark}")
    return failed


@command("list", "list the built-in example patterns")
def _args_list(p: argparse.ArgumentParser) -> None:
    pass


@command("demo", "run all nine built-in patterns (offline unless --model or the "
                 "environment names a model), one after another")
def _args_demo(p: argparse.ArgumentParser) -> None:
    _budget_args(p)
    _common(p)


@command("run", "run a pattern on a request, printing the route as it happens")
def _args_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", help="built-in name (see `list`) or module:attribute")
    p.add_argument("input", nargs="?", default="", help="the request, in quotes")
    p.add_argument("--thread", help="thread id (default: a new one)")
    p.add_argument("--user", help="user id for long-term memory (memory pattern)")
    _budget_args(p)
    _common(p)


@command("resume", "continue a thread: decide on a pending approval, or finish a cut-off run")
def _args_resume(p: argparse.ArgumentParser) -> None:
    p.add_argument("thread_id", nargs="?", metavar="THREAD", help="the thread to resume")
    p.add_argument("--thread", help="the thread to resume (the same as THREAD)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--approve", action="store_true", help="approve the pending plan")
    group.add_argument("--reject", action="store_true", help="reject the pending plan")
    p.add_argument("--feedback", help="send the plan back to the planner with this feedback")
    p.add_argument("--plan", help="approve this edited plan instead")
    p.add_argument("--pattern", help="the thread's pattern: built-in name or module:attribute "
                                     "(default: the built-in recorded with the thread)")
    _budget_args(p)
    _common(p)
