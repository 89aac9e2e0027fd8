"""``RunResult`` as a reader meets it: a short repr, a notebook display, the tool calls."""

from __future__ import annotations

from typing import Any

import pytest

from agentpatterns import Agent, Runner, function_tool
from agentpatterns.adapters.openai_agents import run_sdk_sync
from agentpatterns.examples import example
from agentpatterns.testing import ScriptedModel, text, tool_call


@function_tool
def track_order(order_id: str) -> str:
    """Track an order's delivery status."""
    return f"{order_id}: shipped"


def _desk() -> Agent:
    return Agent(name="Desk", instructions="Help customers with orders", tools=[track_order])


def _calls(result: Any) -> list[tuple[str, str, dict[str, Any], str]]:
    return [(c["agent"], c["tool"], c["args"], c["result"]) for c in result.tool_calls]


@pytest.mark.parametrize("runtime", ["langgraph", "openai-agents"])
def test_tool_calls_list_every_call_on_both_runtimes(runtime: str) -> None:
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    result = run(_desk(), "Please track my order A1001")
    assert result.runtime == runtime
    assert _calls(result) == [("Desk", "track_order", {"order_id": "A1001"}, "A1001: shipped")]
    assert all(c["call_id"] for c in result.tool_calls)


def test_tool_messages_carry_the_tool_name() -> None:
    from langchain_core.messages import ToolMessage

    result = Runner.run_sync(_desk(), "Please track my order A1001")
    tools = [m for m in result.values["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tools] == ["track_order"]


def test_agents_used_as_tools_are_tool_calls_alike_on_both_runtimes() -> None:
    pattern = example("hierarchical")
    sample = "Research the market and write the SQL and Python for the report"
    ours, sdk = Runner.run_sync(pattern, sample), run_sdk_sync(pattern, sample)
    assert ours.tool_calls and _calls(ours) == _calls(sdk)
    assert {c["agent"] for c in ours.tool_calls} == {pattern.entry}


def test_a_new_run_on_the_thread_lists_only_its_own_tool_calls() -> None:
    Runner.run_sync(_desk(), "Please track my order A1001", thread_id="tc-1")
    again = Runner.run_sync(_desk(), "And order B2002?", thread_id="tc-1")
    assert [c["args"] for c in again.tool_calls] == [{"order_id": "B2002"}]


def test_repr_is_one_short_line() -> None:
    result = Runner.run_sync(_desk(), "Please track my order A1001 " + "and more " * 80)
    text = repr(result)
    assert "\n" not in text and len(text) < 260, text
    assert text.startswith("RunResult(final_output=") and "path=[Desk]" in text
    assert "tool_calls=1" in text and "model_calls=2" in text
    waiting = Runner.run_sync(example("human_approval"), "Migrate the db")
    assert "interrupted='Approve this plan?'" in repr(waiting)


def test_html_display_shows_route_output_agents_and_tools() -> None:
    model = ScriptedModel([tool_call("track_order", order_id="A1001"), text("<b>Shipped</b>")])
    result = Runner.run_sync(_desk(), "Please track my order A1001", model=model)
    page = result._repr_html_()
    assert "route" in page and "Desk" in page and "final output" in page
    assert "Per agent" in page and "Tool calls (1)" in page and "track_order" in page
    assert "A1001: shipped" in page
    assert "&lt;b&gt;Shipped&lt;/b&gt;" in page and "<b>Shipped" not in page  # escaped
    waiting = Runner.run_sync(example("human_approval"), "Migrate the db")
    page = waiting._repr_html_()
    assert "waiting for a decision" in page and "[Planner] plan based on: Migrate the db" in page
    rejected = Runner.resume_sync(example("human_approval"), thread_id=waiting.thread_id,
                                  decision=False)
    assert "stopped" in rejected._repr_html_() and "rejected" in rejected._repr_html_()
