"""What the SDK runtime guarantees after a crash (issue 12; docs/durability.md).

``run_sdk`` keeps no checkpoints and no turn journal: a process killed mid-run leaves no
resumable run (``resume_sdk`` says so, naming the thread) and the thread's conversation as the
SDK last saved it - through its last completed turn. These tests pin that down so the
documentation stays true; the LangGraph runtime is the one that replays completed calls.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("agents")

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import os, signal, sys
from agentpatterns import Agent, function_tool, triage
from agentpatterns.adapters.openai_agents import run_sdk_sync
from agentpatterns.testing import ScriptedModel, handoff, text, tool_call

url, log = sys.argv[1:3]

def note(name):
    with open(log, "a") as handle:
        handle.write(name + "\n")

@function_tool
def book_table(item: str) -> str:
    '''Book a table.

    Args:
        item: What to book.
    '''
    note("book_table")
    return "booked"

@function_tool
def send_confirmation(item: str) -> str:
    '''Send the confirmation.

    Args:
        item: To whom.
    '''
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies inside its second tool call

model = ScriptedModel({"Triage Agent": [handoff("Booking Agent")],
                       "Booking Agent": [tool_call("book_table", item="table"),
                                         tool_call("send_confirmation", item="guest"),
                                         text("booked")]})
booking = Agent(name="Booking Agent", instructions="Book", handoff_description="Bookings",
                tools=[book_table, send_confirmation], model=model)
router = Agent(name="Triage Agent", instructions="Route", handoffs=[booking], model=model)
run_sdk_sync(triage(router), "book a table", thread_id="s1", checkpointer=url)
"""


def test_a_killed_sdk_run_is_not_resumable_and_keeps_its_completed_turns(tmp_path: Path
                                                                        ) -> None:
    from agentpatterns import Agent, triage
    from agentpatterns.adapters.openai_agents import CheckpointSession, resume_sdk_sync
    from agentpatterns.errors import ResumeError

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "calls.log"
    proc = subprocess.run([sys.executable, "-c", _CHILD, url, str(log)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert log.read_text().split() == ["book_table"]
    items = asyncio.run(CheckpointSession("s1", url).get_items())
    kinds = [(i.get("role") or i.get("type"), i.get("name") or i.get("output")) for i in items]
    # the user's message, the handoff and the first tool call with its output: the turns the
    # SDK completed before the kill; the second tool call's turn is not there
    assert kinds[0] == ("user", None)
    assert ("function_call", "book_table") in kinds and ("function_call_output", "booked") in kinds
    assert not any(name == "send_confirmation" for _, name in kinds)
    booking = Agent(name="Booking Agent", instructions="Book", handoff_description="Bookings")
    router = Agent(name="Triage Agent", instructions="Route", handoffs=[booking])
    with pytest.raises(ResumeError, match="has no SDK run waiting"):
        resume_sdk_sync(triage(router), thread_id="s1", checkpointer=url)
