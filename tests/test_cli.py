"""The command line end to end: list, run, resume, demo, and user mistakes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentpatterns.cli import main
from agentpatterns.examples import EXAMPLES


def test_list_shows_every_builtin(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in EXAMPLES:
        assert name in out


def test_run_prints_route_output_model_and_thread(tmp_cwd, capsys):
    assert main(["run", "triage", "troubleshoot my wifi", "--thread", "t-cli"]) == 0
    out = capsys.readouterr().out
    assert "1. Triage Agent" in out and "2. Support Agent" in out
    assert "handoff Triage Agent → Support Agent" in out
    assert "[Support Agent] answer based on: troubleshoot my wifi" in out
    assert "model: offline (deterministic rules, not an LLM)" in out
    assert "thread: t-cli" in out
    assert (tmp_cwd / ".agentpatterns" / "runs.db").exists()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_builtin_runs_from_the_cli(name, tmp_cwd, capsys):
    assert main(["run", name, EXAMPLES[name][1]]) == 0
    out = capsys.readouterr().out
    assert "1. " in out
    assert ("Final output" in out) or ("Waiting for a human decision" in out)


def test_resume_approve_from_a_different_process(tmp_cwd):
    cli = [sys.executable, "-m", "agentpatterns.cli"]
    first = subprocess.run([*cli, "run", "human_approval", "migrate the db", "--thread", "h1"],
                           capture_output=True, text=True, cwd=tmp_cwd, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "Waiting for a human decision" in first.stdout
    second = subprocess.run([*cli, "resume", "--thread", "h1", "--approve"],
                            capture_output=True, text=True, cwd=tmp_cwd, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    assert "[Executor] execution report" in second.stdout
    again = subprocess.run([*cli, "resume", "--thread", "h1", "--approve"],
                           capture_output=True, text=True, cwd=tmp_cwd, timeout=120, check=False)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "agentpatterns: error: thread 'h1' already finished; start a new run instead"]


def test_reject_with_feedback_replans(tmp_cwd, capsys):
    main(["run", "human_approval", "migrate the db", "--thread", "h2"])
    assert main(["resume", "--thread", "h2", "--feedback", "add a backup step"]) == 0
    assert "Waiting for a human decision" in capsys.readouterr().out
    assert main(["resume", "--thread", "h2", "--reject"]) == 0
    assert "Plan rejected" in capsys.readouterr().out


def test_user_pattern_by_module_attribute(tmp_cwd, capsys):
    (tmp_cwd / "myagents.py").write_text(
        "from agentpatterns import Agent\n"
        "billing = Agent(name='Billing', handoff_description='invoices and refunds')\n"
        "desk = Agent(name='Front Desk', instructions='Route', handoffs=[billing])\n")
    assert main(["run", "myagents:desk", "I want a refund on my invoice"]) == 0
    assert "2. Billing" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "myagents_missing:x", "hi"], "cannot import module 'myagents_missing'"),
    (["run", "os:nothing_here", "hi"], "has no attribute 'nothing_here'"),
    (["run", "os:sep", "hi"], "is a str, not a Pattern or an Agent"),
    (["run", "nosuch", "hi"], "unknown pattern 'nosuch'"),
    (["run", "triage", ""], "the input is empty"),
    (["run", "triage", "   "], "the input is empty"),
    (["resume", "--thread", "ghost", "--approve"], "thread 'ghost' is not in"),
])
def test_user_mistakes_give_one_line_and_exit_2(argv, message, tmp_cwd, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_console_script_has_no_traceback_for_bad_input(tmp_cwd):
    out = subprocess.run([sys.executable, "-m", "agentpatterns.cli", "run", "nope:x", "hi"],
                         capture_output=True, text=True, cwd=tmp_cwd, timeout=60, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_demo_runs_all_nine(tmp_cwd, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for name in EXAMPLES:
        assert name in out
    assert "From our earlier conversation: My favourite colour is teal." in out
    assert "[Executor] execution report" in out
    # the same nine, again through agents.Runner, agree with the LangGraph runs
    assert out.count("same route and output") == len(EXAMPLES)
