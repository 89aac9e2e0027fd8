"""Prompts as written (issue 13 item 11): no "You are {name}." prefix on either runtime."""

from __future__ import annotations

import agents

from agentpatterns import Agent, OfflineModel, Runner
from agentpatterns.adapters.openai_agents import (
    LangChainModel,
    from_sdk_agent,
    run_sdk_sync,
    to_sdk_agent,
)
from agentpatterns.testing import ScriptedModel, handoff, text

NO_TRACING = agents.RunConfig(tracing_disabled=True)


def _systems(model: ScriptedModel) -> list[str]:
    return [str(r["messages"][0].content) if r["messages"][0].type == "system" else ""
            for r in model.requests]


def test_the_system_prompt_is_the_instructions_as_written_on_both_runtimes() -> None:
    billing = agents.Agent(name="Billing", instructions="Answer billing questions.",
                           handoff_description="Invoices and refunds")
    front = agents.Agent(name="Front Desk", instructions="Route to a specialist.",
                         handoffs=[billing])
    script = [handoff("Billing"), text("Your refund is on its way.")]
    plain = ScriptedModel(script)
    for a in (front, billing):
        a.model = LangChainModel(plain)
    sdk = agents.Runner.run_sync(front, "where is my refund", run_config=NO_TRACING)
    for a in (front, billing):
        a.model = None
    pattern = from_sdk_agent(front)
    lg_model, sdk_model = ScriptedModel(script), ScriptedModel(script)
    lg = Runner.run_sync(pattern, "where is my refund", model=lg_model)
    ours = run_sdk_sync(pattern, "where is my refund", model=sdk_model)
    expected = ["Route to a specialist.", "Answer billing questions."]
    assert _systems(plain) == _systems(lg_model) == _systems(sdk_model) == expected
    assert sdk.final_output == lg.final_output == ours.final_output
    assert [sdk.last_agent.name] == [lg.last_agent] == [ours.last_agent] == ["Billing"]
    assert to_sdk_agent(pattern).instructions == "Route to a specialist."


def test_an_agent_without_instructions_sends_no_system_message() -> None:
    model = ScriptedModel([text("hi")])
    Runner.run_sync(Agent(name="Bare"), "hello", model=model)
    assert [m.type for m in model.requests[0]["messages"]] == ["human"]
    assert model.requests[0]["agent"] == "Bare"  # known from the run metadata


def test_scripts_per_agent_and_the_offline_model_know_the_agent_without_a_prefix() -> None:
    booking = Agent(name="Booking Agent", instructions="Help users book",
                    handoff_description="Handles all booking and reservation requests")
    router = Agent(name="Triage Agent", instructions="Route users", handoffs=[booking])
    for run in (Runner.run_sync, run_sdk_sync):
        scripted = ScriptedModel({"Triage Agent": [handoff("Booking Agent")],
                                  "Booking Agent": [text("Booked.")]})
        assert run(router, "book a table", model=scripted).final_output == "Booked."
        offline = run(router, "I need to book a table", model=OfflineModel())
        assert offline.final_output == "[Booking Agent] answer based on: I need to book a table"
