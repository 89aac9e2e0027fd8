"""Compositions across processes: a nested approval resumed elsewhere; a SIGKILL inside a
nested pattern resumed without re-running its completed steps; the CLI on compositions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agentpatterns import Runner
from agentpatterns.cli import main
from agentpatterns.examples import COMPOSITIONS, example
from tests._durable_helpers import calls

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, cwd: Path) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=180, check=False, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_nested_approval_resumed_from_a_second_process(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    first = _python(
        "import json; from agentpatterns import Runner; from agentpatterns.examples import "
        f"example; r = Runner.run_sync(example('release_gate'), 'Release 2.0', thread_id='g1', "
        f"checkpointer={db!r}); print(json.dumps({{'interrupted': r.interrupted, "
        "'path': r.path, 'where': r.interruption['patterns']}))", tmp_path)
    assert first == {"interrupted": True, "path": ["Release Researcher", "Release Planner"],
                     "where": ["release_gate", "Approval"]}
    second = _python(
        "import json; from agentpatterns import Runner; from agentpatterns.examples import "
        f"example; r = Runner.resume_sync(example('release_gate'), thread_id='g1', "
        f"decision=True, checkpointer={db!r}); print(json.dumps({{'path': r.path, "
        "'calls': r.calls, 'out': r.final_output}))", tmp_path)
    assert second["path"] == ["Release Researcher", "Release Planner", "Release Executor",
                              "Reporter"]
    assert second["calls"] == {"Release Researcher": 1, "Release Planner": 1,
                               "Release Executor": 1, "Reporter": 1}
    assert str(second["out"]).startswith("[Reporter]")


def test_sigkill_inside_a_nested_pattern_resumes_without_rerunning(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    cmd = [sys.executable, "-m", "tests._compose_helpers"]
    first = subprocess.Popen([*cmd, "run", url, "t-kill", str(log)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the Writer's 5 s call, inside Drafting, began
        if calls(log, "start").get(str(first.pid), Counter())["Writer"]:
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    else:
        raise AssertionError("the Writer never started")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert calls(log)[str(first.pid)] == Counter({"Researcher": 1, "Scout": 1})

    second = subprocess.run([*cmd, "resume", url, "t-kill", str(log), "--fast"], cwd=ROOT,
                            capture_output=True, text=True, timeout=180, check=False)
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout.strip().splitlines()[-1])
    # the Scout finished inside the nested pattern before the kill: not run again
    assert calls(log)[str(result["pid"])] == Counter({"Writer": 1, "Publisher": 1})
    assert result["path"] == ["Researcher", "Scout", "Writer", "Publisher"]
    assert result["calls"] == {"Researcher": 1, "Scout": 1, "Writer": 1, "Publisher": 1}


@pytest.mark.parametrize("kill", ["model:Editor:1", "tool:publish", "model:Writer:0"])
def test_sigkill_inside_a_one_step_child_replays_its_turn(tmp_path: Path, kill: str) -> None:
    """A one-agent child runs inside its parent's task, with no checkpoints of its own
    (graphs/_inline.py): killed mid-turn, the resumed run re-runs that step, and its
    completed model and tool calls are replayed from the journal, not made again."""
    from tests._crash import counts, repeats

    log = tmp_path / "calls.log"
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    cmd = [sys.executable, "-m", "tests._compose_helpers", "inline", url, "t-inline", str(log)]
    env = {**os.environ, "AP_KILL": kill, "AP_KILL_MARK": str(log) + ".mark"}
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=180, check=False)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    made, _ = counts(log)
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180,
                            check=False)
    assert second.returncode == 0, second.stderr[-3000:]
    result = json.loads(second.stdout.strip().splitlines()[-1])
    assert result["path"] == ["Researcher", "Writer", "Editor"]
    assert result["final_output"] == "published (Editor, reply 1)"
    assert result["calls"] == {"Researcher": 2, "Writer": 1, "Editor": 2}
    assert repeats(log) == (0, 0), counts(log)  # nothing completed before the kill redone
    models, tools = counts(log)
    assert sum(models.values()) == 5 and set(tools) == {("search", "sources"),
                                                        ("publish", "draft")}
    assert sum(made.values()) < 5  # the kill did land mid-run


def test_cli_list_run_draw_history_on_compositions(tmp_cwd, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMPOSITIONS)
    assert main(["run", "research_pipeline", "tides", "--thread", "rp1"]) == 0
    out = capsys.readouterr().out
    assert "1. Researcher" in out and "7. Writer" in out and "9. Editor" in out
    assert main(["draw", "research_pipeline", "-o", "rp.mmd", "--thread", "rp1"]) == 0
    text = Path("rp.mmd").read_text()
    assert 'subgraph sg_Research["Research"]' in text and "visited" in text
    assert main(["draw", "research_pipeline", "-o", "rp.svg"]) == 0
    assert main(["history", "--thread", "rp1"]) == 0
    assert "Research" in capsys.readouterr().out
    assert main(["run", "release_gate", "ship 2.0", "--thread", "rg1"]) == 0
    assert "Waiting for a human decision" in capsys.readouterr().out
    assert main(["resume", "--thread", "rg1", "--approve"]) == 0
    assert "[Reporter]" in capsys.readouterr().out


def test_builtin_compositions_route_and_bounds() -> None:
    p = example("research_pipeline")
    assert p.check().max_model_calls == 9  # 3 branches + synthesizer + 2 x (writer+critic) + editor
    r = Runner.run_sync(p, "tides")
    assert sorted(r.path[:3]) == ["Researcher 1", "Researcher 2", "Researcher 3"]
    assert r.path[3:] == ["Synthesizer", "Writer", "Critic", "Writer", "Critic", "Editor"]
    assert r.model_calls == 9


def test_drawing_a_run_waiting_inside_a_nested_pattern_lights_its_agents(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    gate = example("release_gate")
    Runner.run_sync(gate, "ship 2.0", thread_id="w1", checkpointer=db)
    text = gate.draw("mmd", thread_id="w1", checkpointer=db).decode()
    classes = {line.split()[-1]: set(line.split()[1].split(","))
               for line in text.splitlines() if line.strip().startswith("class ")}
    # the agents that ran inside the nested patterns are lit, the ones after the approval not
    assert {"Release_Planner", "Release_Researcher"} <= classes["visited"]
    assert {"Release_Executor", "Reporter"} <= classes["dimmed"]
    edges = gate.to_networkx().edges
    assert edges["Approval:__end__", "__end__"]["label"] == "stopped"


def test_a_nested_pattern_saves_inline_and_starts_no_threads_of_its_own() -> None:
    """A child graph's saves run in its loop's thread and its tasks on one shared pool, so
    nesting adds no thread starts (the cost measured in bench/README.md)."""
    import threading

    from langgraph.checkpoint.memory import InMemorySaver

    from agentpatterns import Agent, sequential

    def three(prefix: str) -> list[Agent]:
        return [Agent(name=f"{prefix}{n}", instructions="Research the topic thoroughly")
                for n in ("A", "B", "C")]

    flat = sequential(three("F"))
    nested = sequential([sequential([a], name=f"{a.name} step") for a in three("N")],
                        name="Nested")
    started: list[str] = []
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    saver = InMemorySaver()
    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        for pattern in (flat, nested, flat, nested):
            Runner.run_sync(pattern, "tides", checkpointer=saver)
        started.clear()
        Runner.run_sync(flat, "tides", checkpointer=saver)
        flat_threads = len(started)
        started.clear()
        r = Runner.run_sync(nested, "tides", checkpointer=saver)
        nested_threads = len(started)
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert r.path == ["NA", "NB", "NC"]
    assert nested_threads <= flat_threads  # the three children start none
