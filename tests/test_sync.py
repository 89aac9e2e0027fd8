"""Every blocking ``*_sync`` entry point works inside a running event loop (notebooks, apps).

These tests are ``async``: pytest-asyncio runs them on an event loop, so the loop is running
when the blocking call is made - exactly the situation of a Jupyter cell.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from agentpatterns import Agent, Runner, function_tool
from agentpatterns._sync import block_on
from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_sync
from agentpatterns.examples import example
from agentpatterns.testing import ScriptedModel, text, tool_call


async def test_run_sdk_sync_inside_a_running_loop() -> None:
    asyncio.get_running_loop()  # the situation of a notebook cell
    result = run_sdk_sync(example("triage"), "I need to book a table")
    assert result.path == ["Triage Agent", "Booking Agent"]


async def test_resume_sdk_sync_inside_a_running_loop() -> None:
    waiting = run_sdk_sync(example("human_approval"), "Migrate the db", thread_id="sync-h1")
    assert waiting.interrupted
    done = resume_sdk_sync(example("human_approval"), thread_id="sync-h1", decision=True)
    assert done.path == ["Planner", "Executor"] and not done.interrupted


async def test_runner_sync_runs_async_tools_inside_a_running_loop() -> None:
    @function_tool
    async def lookup(order_id: str) -> str:
        """Look up an order."""
        await asyncio.sleep(0)
        return f"order {order_id} shipped"

    agent = Agent(name="Desk", instructions="Help", tools=[lookup])
    model = ScriptedModel([tool_call("lookup", order_id="A1"), text("It shipped.")])
    result = Runner.run_sync(agent, "where is A1", model=model)
    assert result.final_output == "It shipped."
    assert "order A1 shipped" in str(result.values["messages"][-2].content)
    # and the same pattern with run_sync and resume_sync of an approval
    assert Runner.run_sync(example("human_approval"), "Migrate", thread_id="sync-h2").interrupted
    assert Runner.resume_sync(example("human_approval"), thread_id="sync-h2",
                              decision=False).final_output == "Plan rejected"


async def test_block_on_keeps_context_and_raises_the_coroutines_error() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")

    async def read() -> tuple[str, str]:
        return var.get(), threading.current_thread().name

    value, thread = block_on(read())
    assert value == "caller" and thread != threading.current_thread().name

    async def boom() -> None:
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        block_on(boom())


def test_block_on_without_a_loop_is_asyncio_run() -> None:
    async def where() -> str:
        return threading.current_thread().name

    assert block_on(where()) == threading.current_thread().name


def test_progress_is_shown_on_request_and_off_by_default_outside_notebooks(
        capsys: pytest.CaptureFixture[str]) -> None:
    from agentpatterns.run.progress import in_notebook

    assert not in_notebook()
    quiet = Runner.run_sync(example("hierarchical"), "Research the market and write SQL")
    assert capsys.readouterr().out == ""
    shown = Runner.run_sync(example("hierarchical"), "Research the market and write SQL",
                            progress=True)
    out = capsys.readouterr().out
    assert "1. Orchestrator" in out and "tool sql_expert(" in out and "2. SQL Expert" in out
    assert shown.path == quiet.path and shown.final_output == quiet.final_output
    r = Runner.run_sync(example("human_approval"), "Migrate", thread_id="sync-p1",
                        progress=False)
    Runner.resume_sync(example("human_approval"), thread_id=r.thread_id, decision=True,
                       progress=True)
    assert "Executor" in capsys.readouterr().out


def test_an_error_from_block_on_carries_no_unrelated_event_loop_error() -> None:
    # the real-model tier's parallel run on the SDK runtime stopped with a BranchError whose
    # traceback began "RuntimeError: no running event loop ... During handling of the above
    # exception, another exception occurred": block_on's own probe, not the run's failure
    import traceback

    async def boom() -> None:
        raise KeyError("inside")

    with pytest.raises(KeyError) as info:
        block_on(boom())
    assert info.value.__context__ is None
    assert "no running event loop" not in "".join(traceback.format_exception(info.value))


def test_a_failed_parallel_branch_stops_with_its_own_error_on_the_sdk_runtime(
        openai_server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import traceback

    from agentpatterns.errors import BranchError
    from tests._openai_server import ErrorReply

    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)  # type: ignore[attr-defined]
    openai_server.script([ErrorReply(400, "context too long")] * 3)  # type: ignore[attr-defined]
    with pytest.raises(BranchError, match="parallel branch 'Researcher 1' failed") as info:
        run_sdk_sync(example("parallel"), "Compare databases")
    assert "no running event loop" not in "".join(traceback.format_exception(info.value))
