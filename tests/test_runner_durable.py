"""Runs that survive the process: SQLite checkpoints read back and continued elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from agentpatterns import Runner
from agentpatterns.examples import example


def _in_subprocess(code: str, cwd) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sqlite_run_is_read_back_and_continued_from_another_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = _in_subprocess(f"""
        import json
        from agentpatterns import Runner
        from agentpatterns.examples import example
        r = Runner.run_sync(example("human_approval"), "migrate the db", thread_id="t1",
                            checkpointer={url!r})
        print(json.dumps({{"interrupted": r.interrupted, "path": r.path}}))
    """, tmp_path)
    assert first == {"interrupted": True, "path": ["Planner"]}
    # this process reads the other one's checkpoints ...
    graph = example("human_approval").compile(checkpointer=url)
    state = graph.get_state({"configurable": {"thread_id": "t1"}})
    assert state.values["plan"] == "[Planner] plan based on: migrate the db"
    assert state.next == ("approval",)
    # ... and a third process continues the run
    done = _in_subprocess(f"""
        import json
        from agentpatterns import Runner
        from agentpatterns.examples import example
        r = Runner.resume_sync(example("human_approval"), thread_id="t1", decision=True,
                               checkpointer={url!r})
        print(json.dumps({{"path": r.path, "out": r.final_output}}))
    """, tmp_path)
    assert done["path"] == ["Planner", "Executor"]
    assert done["out"].startswith("[Executor] execution report")


def test_resume_without_decision_continues_a_cut_off_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    p = example("sequential")
    graph = p.compile(checkpointer=url, interrupt_after=["Writer"])
    graph.invoke(start_payload("tides"), {"configurable": {"thread_id": "cut"}})
    assert graph.get_state({"configurable": {"thread_id": "cut"}}).next == ("Editor",)
    result = Runner.resume_sync(p, thread_id="cut", checkpointer=url)
    assert result.path == ["Researcher", "Writer", "Editor"]
    assert result.calls == {"Researcher": 1, "Writer": 1, "Editor": 1}


def start_payload(text):
    from langchain_core.messages import HumanMessage

    from agentpatterns.state import fresh_run_update

    return fresh_run_update(text, HumanMessage(text))


async def test_async_runner_with_sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    r = await Runner.run(example("triage"), "book a table", thread_id="a1", checkpointer=url)
    again = Runner.run_sync(example("triage"), "troubleshoot my wifi", thread_id="a1",
                            checkpointer=url)
    assert r.path == ["Triage Agent", "Booking Agent"]
    # the second run on the same thread continues the conversation: 2 user messages
    humans = [m for m in again.values["messages"] if m.type == "human"]
    assert [m.content for m in humans] == ["book a table", "troubleshoot my wifi"]
    assert again.path == ["Triage Agent", "Support Agent"]
