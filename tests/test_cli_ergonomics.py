"""The command line as a newcomer meets it: ``python -m``, typos, positional thread ids, a
model with no key, and output in a terminal, a pipe and a notebook's ``!command``."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from agentpatterns.cli import main

CLI = [sys.executable, "-m", "agentpatterns"]
HIDE_CURSOR = "\x1b[?25l"  # what rich's spinner writes first


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTPATTERNS_MODEL",
                        "JPY_PARENT_PID", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    env.update(extra)
    return env


def _in_pty(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout/stderr; returns (code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_python_dash_m_agentpatterns_runs(tmp_cwd: Path) -> None:
    out = subprocess.run([*CLI, "run", "triage", "book a table"], capture_output=True,
                         text=True, cwd=tmp_cwd, env=_env(), timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "2. Booking Agent" in out.stdout


@pytest.mark.slow
def test_spinner_only_in_a_real_terminal(tmp_cwd: Path) -> None:
    argv = [*CLI, "run", "triage", "book a table"]
    code, tty = _in_pty(argv, tmp_cwd, _env(TERM="xterm-256color"))
    assert code == 0 and "Booking Agent" in tty
    assert HIDE_CURSOR in tty  # the positive control: a terminal gets the spinner
    # a notebook's `!agentpatterns ...` runs in a pseudo-terminal too, with the kernel's
    # environment (JPY_PARENT_PID, FORCE_COLOR, TERM=xterm-color): no cursor codes
    code, bang = _in_pty(argv, tmp_cwd, _env(TERM="xterm-color", FORCE_COLOR="1",
                                             JPY_PARENT_PID="1"))
    assert code == 0 and "Booking Agent" in bang
    assert HIDE_CURSOR not in bang and "\x1b[2K" not in bang
    piped = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_cwd, env=_env(),
                           timeout=120, check=False)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout


@pytest.mark.parametrize(("argv", "hint"), [
    (["run", "triage", "hi", "--thread-id", "t1"], "--thread-id (did you mean '--thread'?)"),
    (["resume", "h3", "--aprove"], "--aprove (did you mean '--approve'?)"),
    (["rn", "triage", "hi"], "(did you mean 'run'?)"),
    (["draw", "triage", "-o", "x.svg", "--engine", "pyhton"], "(did you mean 'python'?)"),
])
def test_a_mistyped_flag_or_command_gets_a_suggestion(argv: list[str], hint: str,
                                                      tmp_cwd: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert hint in capsys.readouterr().err


def test_a_mistyped_pattern_name_gets_a_suggestion(tmp_cwd: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "triag", "hi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown pattern 'triag' (did you mean 'triage'?)" in err[0]


def test_resume_takes_the_thread_positionally(tmp_cwd: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "human_approval", "migrate the db", "--thread", "h3"]) == 0
    assert main(["resume", "h3", "--approve"]) == 0
    assert "[Executor] execution report" in capsys.readouterr().out
    assert main(["resume"]) == 2
    assert "agentpatterns resume THREAD (or --thread THREAD)" in capsys.readouterr().err
    assert main(["resume", "h3", "--thread", "h4"]) == 2
    assert "two threads given" in capsys.readouterr().err


def test_a_model_without_a_key_fails_before_a_thread_exists(
        tmp_cwd: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTPATTERNS_MODEL"):
        monkeypatch.delenv(var, raising=False)
    assert main(["run", "triage", "book a table", "--model", "gpt-4.1-mini",
                 "--thread", "nokey"]) == 2
    captured = capsys.readouterr()
    assert "needs OPENAI_API_KEY" in captured.err and "nokey" not in captured.out
    assert main(["threads"]) == 0
    assert "nokey" not in capsys.readouterr().out  # no "cut off" thread left behind
