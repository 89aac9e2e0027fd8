"""Live progress (``progress=``) on every entry point that returns a result, both runtimes.

The same lines as the command line (``ProgressPrinter``): one per agent turn, handoff,
assignment and tool call, printed as the run goes; ``None`` shows them in a Jupyter kernel
only (the notebook side is in tests/test_notebooks.py), ``False`` never, ``True`` always.
Showing progress streams the run; the result is the one the quiet run returns.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentpatterns import Runner
from agentpatterns.adapters.openai_agents import resume_sdk, resume_sdk_sync, run_sdk, run_sdk_sync
from agentpatterns.errors import InputError
from agentpatterns.examples import EXAMPLES, example


def _same(a: Any, b: Any, name: str) -> None:
    order = sorted if name == "parallel" else list  # branches finish in any order
    assert order(a.path) == order(b.path)
    assert a.final_output == b.final_output and a.interrupted == b.interrupted
    assert a.calls == b.calls
    assert order(c["tool"] for c in a.tool_calls) == order(c["tool"] for c in b.tool_calls)


def _shown(capsys: pytest.CaptureFixture[str], run: Any, resume: Any, name: str) -> tuple[
        Any, str]:
    """A built-in's run with progress (resumed with an approval if it waits), and the lines."""
    thread = f"{name}-{run.__name__}"
    result = run(example(name), EXAMPLES[name][1], thread_id=thread, progress=True)
    if result.interrupted:
        result = resume(example(name), thread_id=thread, decision=True, progress=True)
    return result, capsys.readouterr().out


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_run_sdk_sync_shows_the_same_lines_as_the_langgraph_runner(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    quiet = run_sdk_sync(example(name), EXAMPLES[name][1], thread_id=f"quiet-{name}")
    assert capsys.readouterr().out == ""  # off outside a notebook by default
    sdk, sdk_lines = _shown(capsys, run_sdk_sync, resume_sdk_sync, name)
    lg, lg_lines = _shown(capsys, Runner.run_sync, Runner.resume_sync, name)
    # turns, handoffs (with the same reasons), assignments, tool calls and results, agents
    # used as tools and the supervisor's turns between its workers: line for line
    order = sorted if name == "parallel" else list  # branches finish in any order
    assert order(sdk_lines.splitlines()) == order(lg_lines.splitlines())
    assert " 1. " in sdk_lines
    for agent in sdk.path:
        assert f". {agent}" in sdk_lines, f"{agent} ran but no line names it:\n{sdk_lines}"
    for call in sdk.tool_calls:
        assert f"tool {call['tool']}(" in sdk_lines
    _same(sdk, lg, name)
    if not quiet.interrupted:
        _same(sdk, quiet, name)  # showing progress streams the run; the result is the same


def test_the_async_entry_points_show_progress_on_request(
        capsys: pytest.CaptureFixture[str]) -> None:
    p, ask = example("hierarchical"), "Research the market and write SQL"
    quiet = asyncio.run(Runner.run(p, ask))
    assert capsys.readouterr().out == ""
    shown = asyncio.run(Runner.run(p, ask, progress=True))
    out = capsys.readouterr().out
    assert "1. Orchestrator" in out and "tool sql_expert(" in out
    _same(shown, quiet, "hierarchical")
    sdk = asyncio.run(run_sdk(p, ask, progress=True))
    assert "1. Orchestrator" in capsys.readouterr().out
    _same(sdk, quiet, "hierarchical")
    gate = example("human_approval")
    waiting = asyncio.run(Runner.run(gate, "Migrate", thread_id="prog-lg", progress=True))
    assert "Planner" in capsys.readouterr().out and waiting.interrupted
    asyncio.run(Runner.resume(gate, thread_id="prog-lg", decision=True, progress=True))
    assert "Executor" in capsys.readouterr().out
    asyncio.run(run_sdk(gate, "Migrate", thread_id="prog-sdk"))
    asyncio.run(resume_sdk(gate, thread_id="prog-sdk", decision=True, progress=True))
    assert "Executor" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["yes", 1, "False"])
def test_a_progress_that_is_not_a_bool_is_refused_before_the_run(value: Any) -> None:
    p = example("triage")
    for call in (lambda: Runner.run_sync(p, "book a table", thread_id="prog-bad",
                                         progress=value),
                 lambda: run_sdk_sync(p, "book a table", progress=value)):
        with pytest.raises(InputError, match=r"progress=.*True .*False .*None"):
            call()
    assert all(t.thread_id != "prog-bad" for t in Runner.threads())
