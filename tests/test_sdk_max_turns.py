"""``max_turns=`` on LangGraph's ``Runner.run*`` with the SDK's semantics (issue 13): it bounds
the model calls of the whole run - every agent's turns, resumes included; an agent used as a
tool has its own bound - and one call more raises ``MaxTurnsExceeded`` (also an
``agents.MaxTurnsExceeded``), as plain ``agents.Runner.run(max_turns=)`` and ``run_sdk``."""

from __future__ import annotations

from typing import Any

import agents
import pytest

from agentpatterns import Runner
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync
from agentpatterns.errors import InputError, MaxTurnsExceeded
from agentpatterns.testing import ScriptedModel, handoff, text, tool_call
from tests._sdk_parity import plain_run

RAN: list[str] = []


@agents.function_tool
def lookup(order: str) -> str:
    """Look up an order."""
    RAN.append(order)
    return f"order {order}: pending"


def _network() -> agents.Agent[Any]:
    helper = agents.Agent(name="Helper", instructions="Summarise")
    billing = agents.Agent(name="Billing", instructions="Check orders", tools=[
        lookup, helper.as_tool(tool_name="summarise", tool_description="Summarise")])
    return agents.Agent(name="Triage", instructions="Route", handoffs=[billing])


# Triage hands off (call 1); Billing looks up twice (calls 2, 3), asks the helper (call 4,
# whose own model call does not count), then answers (call 5)
SCRIPT = [handoff("Billing"), tool_call("lookup", order="1"), tool_call("lookup", order="2"),
          tool_call("summarise", input="both pending"), text("two pending orders"),
          text("Both orders are pending.")]


def _outcomes(max_turns: int) -> list[Any]:
    """(what happened, tools run) on plain agents.Runner, LangGraph and the SDK runtime."""
    out: list[Any] = []
    entry = _network()
    runs = [lambda: plain_run(entry, "orders?", ScriptedModel(list(SCRIPT)),
                              max_turns=max_turns)]
    pattern = from_sdk_agent(entry)
    runs.append(lambda: Runner.run_sync(pattern, "orders?", model=ScriptedModel(list(SCRIPT)),
                                        max_turns=max_turns))
    runs.append(lambda: run_sdk_sync(pattern, "orders?", model=ScriptedModel(list(SCRIPT)),
                                     max_turns=max_turns))
    for run in runs:
        RAN.clear()
        try:
            out.append(("done", run().final_output, list(RAN)))
        except agents.MaxTurnsExceeded as exc:  # ours is one too
            out.append(("max_turns", str(exc) != "", list(RAN)))
    return out


@pytest.mark.parametrize("max_turns", [1, 2, 3, 4, 5])
def test_max_turns_bounds_the_whole_run_as_the_sdk_does(max_turns: int) -> None:
    plain, langgraph, sdk = _outcomes(max_turns)
    assert langgraph == plain, (max_turns, plain, langgraph)
    assert sdk == plain, (max_turns, plain, sdk)
    # the nested agent's model call is not counted: 5 calls of the run's own turns suffice
    assert plain[0] == ("done" if max_turns >= 5 else "max_turns")


def test_the_error_is_ours_and_the_sdks_and_names_the_bound() -> None:
    pattern = from_sdk_agent(_network())
    with pytest.raises(MaxTurnsExceeded, match="max_turns=2") as caught:
        Runner.run_sync(pattern, "orders?", model=ScriptedModel(list(SCRIPT)), max_turns=2)
    assert isinstance(caught.value, agents.MaxTurnsExceeded)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_a_bad_max_turns_is_refused_before_the_run(bad: Any) -> None:
    with pytest.raises(InputError, match="max_turns="):
        Runner.run_sync(from_sdk_agent(_network()), "orders?",
                        model=ScriptedModel(list(SCRIPT)), max_turns=bad)
