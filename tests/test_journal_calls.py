"""User callables of a turn run once per turn and are replayed, not called again (issue 12).

A tool's ``is_enabled`` and ``needs_approval`` functions, a ``tool_use_behavior``
function, a handoff's ``on_handoff``, ``is_enabled`` and ``input_filter`` are all one
request (``UserCall``, ``ApprovalCheck``) that the drivers journal like model and tool
calls: when the turn runs again - after an approval inside it (same process), after a
SIGKILL (another process) - their recorded results are used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import (
    Agent,
    Runner,
    ToolsToFinalOutputResult,
    function_tool,
)
from agentpatterns.testing import ScriptedModel, text, tool_call

ROOT = Path(__file__).resolve().parents[1]


def _counted_clerk(counts: Counter[str]) -> tuple[Agent, ScriptedModel]:
    def enabled(_ctx: Any, _agent: Any) -> bool:
        counts["is_enabled"] += 1
        return True

    def approval(_ctx: Any, _params: Any, _call_id: str) -> bool:
        counts["needs_approval"] += 1
        return True

    def behaviour(_ctx: Any, results: Any) -> ToolsToFinalOutputResult:
        counts["tool_use_behavior"] += 1
        return ToolsToFinalOutputResult(is_final_output=False)

    @function_tool
    def look_up(item: str) -> str:
        """Look an order up.

        Args:
            item: What to look up.
        """
        counts["look_up"] += 1
        return "found"

    @function_tool(needs_approval=approval)
    def refund(amount: int) -> str:
        """Refund money.

        Args:
            amount: How much.
        """
        counts["refund"] += 1
        return "refunded"

    model = ScriptedModel([tool_call("look_up", item="order"), tool_call("refund", amount=5),
                           text("done")])
    clerk = Agent(name="Clerk", instructions="Help", model=model, tool_use_behavior=behaviour,
                  tools=[replace(look_up, is_enabled=enabled), refund])
    return clerk, model


@pytest.mark.parametrize("checkpointer_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_callables_before_an_approval_are_replayed_on_resume(checkpointer_url: str) -> None:
    counts: Counter[str] = Counter()
    clerk, model = _counted_clerk(counts)
    waiting = Runner.run_sync(clerk, "refund me", thread_id="u", checkpointer=checkpointer_url)
    assert waiting.interrupted
    assert counts == {"is_enabled": 2, "needs_approval": 1, "tool_use_behavior": 1,
                      "look_up": 1}
    done = Runner.resume_sync(clerk, thread_id="u", decision=True,
                              checkpointer=checkpointer_url)
    assert done.final_output == "done"
    # the re-run turn replayed the two is_enabled answers, the approval question and the
    # first tool_use_behavior decision; only what came after the approval ran
    assert counts == {"is_enabled": 3, "needs_approval": 1, "tool_use_behavior": 2,
                      "look_up": 1, "refund": 1}
    assert len(model.requests) == 3


async def test_async_callables_before_an_approval_are_replayed(tmp_path: Path) -> None:
    counts: Counter[str] = Counter()
    clerk, _ = _counted_clerk(counts)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    await Runner.run(clerk, "refund me", thread_id="a", checkpointer=url)
    await Runner.resume(clerk, thread_id="a", decision=True, checkpointer=url)
    assert counts["is_enabled"] == 3 and counts["needs_approval"] == 1
    assert counts["tool_use_behavior"] == 2


_CHILD = r"""
import os, signal, sys
from agentpatterns import Agent, Runner, handoff, triage
from tests._crash import LoggedModel

url, log, verb = sys.argv[1:4]

def note(name):
    with open(log, "a") as handle:
        handle.write(name + "\n")

def on_handoff(ctx):
    note("on_handoff")

def is_enabled(ctx, agent):
    note("is_enabled")
    return True

def keep_all(data):
    note("input_filter")
    return data

kill_after = os.environ.get("AP_KILL_AFTER_CALL")
if kill_after:
    import agentpatterns.storage.journal as journal
    real = journal._SqliteJournal.record

    def record(self, key, entry):
        real(self, key, entry)
        if entry[1] == "call" and entry[2].startswith(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)  # recorded; the turn never finished

    journal._SqliteJournal.record = record

model = LoggedModel(scripts={"Desk": [[("transfer_to_billing", {})], "routed"],
                             "Billing": ["paid"]}, log_path=log + ".calls")
billing = Agent(name="Billing", instructions="Bill", model=model)
desk = Agent(name="Desk", instructions="Route", model=model,
             handoffs=[handoff(billing, on_handoff=on_handoff, input_filter=keep_all,
                               is_enabled=is_enabled)])
if verb == "run":
    result = Runner.run_sync(triage(desk), "pay", thread_id="h", checkpointer=url)
else:
    result = Runner.resume_sync(triage(desk), thread_id="h", checkpointer=url)
print(result.final_output)
"""


def _child(url: str, log: Path, verb: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _CHILD, url, str(log), verb], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kill_after", ["on_handoff", "input_filter"])
def test_handoff_callables_are_not_called_again_after_a_crash(tmp_path: Path,
                                                              kill_after: str) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "calls.log"
    killed = _child(url, log, "run", AP_KILL_AFTER_CALL=kill_after)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    done = _child(url, log, "resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("paid (Billing, reply 0)")
    assert Counter(log.read_text().split()) == {"is_enabled": 1, "on_handoff": 1,
                                                "input_filter": 1}
