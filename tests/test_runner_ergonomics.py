"""``Runner`` as a notebook user meets it: early model errors, LangGraph idioms, scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentpatterns import RunError, Runner
from agentpatterns.examples import example
from agentpatterns.testing import ScriptedModel, handoff, text


def test_a_model_without_a_key_fails_before_any_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTPATTERNS_MODEL"):
        monkeypatch.delenv(var, raising=False)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(RunError, match="needs OPENAI_API_KEY"):
        Runner.run_sync(example("triage"), "book a table", model="gpt-4.1-mini",
                        thread_id="nokey", checkpointer=db)
    assert not (tmp_path / "runs.db").exists()  # nothing was opened, nothing is cut off


def _at_breakpoint() -> tuple[Any, dict[str, Any]]:
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver

    graph = example("triage").compile(checkpointer=InMemorySaver(),
                                      interrupt_before=["Booking Agent"])
    config: dict[str, Any] = {"configurable": {"thread_id": "bp"}}
    graph.invoke({"messages": [HumanMessage("I need to book a table")],
                  "input": "I need to book a table"}, config)
    assert graph.get_state(config).next == ("Booking Agent",)
    return graph, config


def test_update_state_at_a_breakpoint_then_continue_with_command_goto() -> None:
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command

    graph, config = _at_breakpoint()
    note = HumanMessage("For four people, please.")
    # patterns route with Command(goto=...): the update must say where the run goes on
    graph.update_state(config, Command(update={"messages": [note]}, goto="Booking Agent"))
    assert graph.get_state(config).next == ("Booking Agent",)
    out = graph.invoke(None, config)
    assert out["path"] == ["Triage Agent", "Booking Agent"]
    assert out["final_output"].startswith("[Booking Agent]")
    assert any(m.content == "For four people, please." for m in out["messages"])


def test_plain_update_state_loses_a_command_route_as_in_langgraph() -> None:
    # LangGraph's own behaviour for Command-routed nodes (langchain-ai/langgraph#3003): the
    # update is applied as the last node, whose route was its Command, so nothing is next.
    # If LangGraph changes this, the README's idiom section should be revisited.
    graph, config = _at_breakpoint()
    graph.update_state(config, {"input": "book for four"})
    assert graph.get_state(config).next == ()


def test_the_model_of_a_plain_graph_invoke_is_a_configurable_key() -> None:
    from langchain_core.messages import HumanMessage

    model = ScriptedModel([handoff("Support Agent"), text("Restart the router.")])
    graph = example("triage").compile()
    out = graph.invoke({"messages": [HumanMessage("my wifi is down")], "input": "wifi"},
                       {"configurable": {"thread_id": "cfg", "agentpatterns_model": model}})
    assert out["path"] == ["Triage Agent", "Support Agent"]
    assert out["final_output"] == "Restart the router."


def test_a_scripted_model_can_be_reset_and_run_again() -> None:
    model = ScriptedModel([handoff("Booking Agent"), text("Booked.")])
    first = Runner.run_sync(example("triage"), "book a table", model=model)
    with pytest.raises(RunError, match="no step left"):
        Runner.run_sync(example("triage"), "book a table", model=model)
    again = Runner.run_sync(example("triage"), "book a table", model=model.reset())
    assert first.path == again.path == ["Triage Agent", "Booking Agent"]
    assert again.final_output == "Booked." and len(model.requests) == 2
