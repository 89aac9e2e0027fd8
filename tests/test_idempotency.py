"""Tools get an idempotency key that is the same when a crash makes them run again (issue 12).

The turn journal replays completed tool calls; the window it leaves (killed after a tool's
effect, before its record committed) re-runs that one call. ``idempotency_key()`` (and
``ToolContext.idempotency_key``) lets the tool make the effect itself idempotent: a test
kills a process in exactly that window and checks the re-run sees the same key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Agent, Runner, ToolContext, function_tool, idempotency_key, sequential
from agentpatterns.testing import ScriptedModel, text, tool_call

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import os, signal, sys
from agentpatterns import Agent, Runner, function_tool, idempotency_key
from tests._crash import LoggedModel

url, log, verb = sys.argv[1:4]

@function_tool
def charge(item: str) -> str:
    '''Charge the card.

    Args:
        item: What for.
    '''
    with open(log, "a") as handle:
        handle.write(f"{idempotency_key()}\t{os.getpid()}\n")
    return "charged"

if os.environ.get("AP_KILL_BEFORE_TOOL_RECORD"):
    import agentpatterns.storage.journal as journal
    real = journal._SqliteJournal.record

    def record(self, key, entry):
        if entry[1] == "tool":  # the effect happened; its record is not committed yet
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, key, entry)

    journal._SqliteJournal.record = record

model = LoggedModel(scripts={"Clerk": [[("charge", {"item": "order 7"})], "done"]},
                    log_path=log + ".calls")
clerk = Agent(name="Clerk", instructions="Charge", tools=[charge], model=model)
if verb == "run":
    result = Runner.run_sync(clerk, "charge me", thread_id="k", checkpointer=url)
else:
    result = Runner.resume_sync(clerk, thread_id="k", checkpointer=url)
print(result.final_output)
"""


def _child(url: str, log: Path, verb: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _CHILD, url, str(log), verb], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=120)


def test_a_tool_re_run_after_a_crash_gets_the_same_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "charges.log"
    killed = _child(url, log, "run", AP_KILL_BEFORE_TOOL_RECORD="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    done = _child(url, log, "resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("done (Clerk, reply 1)")
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    assert len(lines) == 2 and lines[0][1] != lines[1][1]  # two processes ran the charge
    assert lines[0][0] == lines[1][0] and lines[0][0].startswith("ap-")  # with one key


def _charging(seen: list[tuple[str | None, str | None]]) -> tuple[Agent, ScriptedModel]:
    @function_tool
    def charge(ctx: ToolContext[Any], amount: int) -> str:
        """Charge the card.

        Args:
            amount: Cents.
        """
        seen.append((idempotency_key(), ctx.idempotency_key))
        return "charged"

    model = ScriptedModel([(tool_call("charge", amount=1), tool_call("charge", amount=2)),
                           text("done")])
    return Agent(name="Clerk", instructions="Charge", tools=[charge], model=model), model


@pytest.mark.parametrize("checkpointer_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_each_call_has_its_own_key_and_the_context_carries_it(checkpointer_url: str) -> None:
    seen: list[tuple[str | None, str | None]] = []
    clerk, model = _charging(seen)
    Runner.run_sync(sequential([clerk]), "charge", thread_id="c", checkpointer=checkpointer_url)
    model.reset()
    Runner.run_sync(sequential([clerk]), "again", thread_id="c", checkpointer=checkpointer_url)
    keys = [accessor for accessor, _ in seen]
    assert all(accessor == ctx for accessor, ctx in seen)
    assert all(k is not None and k.startswith("ap-") for k in keys)
    assert len(set(keys)) == 4  # two calls in a turn, two runs on the thread: four keys
    assert idempotency_key() is None  # outside a tool call


async def test_async_tools_get_the_key_too(tmp_path: Path) -> None:
    seen: list[tuple[str | None, str | None]] = []
    clerk, _ = _charging(seen)
    await Runner.run(clerk, "charge", thread_id="a", checkpointer=f"sqlite:///{tmp_path}/a.db")
    assert len(seen) == 2 and all(a is not None and a == c for a, c in seen)


def test_without_a_checkpointer_there_is_no_key() -> None:
    # nothing is journaled or resumed, so there is no call to recognise again
    seen: list[tuple[str | None, str | None]] = []
    clerk, _ = _charging(seen)
    graph = sequential([clerk]).compile()
    graph.invoke({"messages": [("user", "charge")]})
    assert seen == [(None, None), (None, None)]
