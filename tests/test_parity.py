"""Both runtimes take the same route: every built-in example on LangGraph and on the SDK.

The offline model is deterministic and answers from the messages it is shown, so equal
paths, outputs, model calls *and token usage* mean the OpenAI Agents SDK runtime showed the
model exactly the messages the LangGraph runtime did.
"""

from __future__ import annotations

import pytest

from agentpatterns import Agent, parallel, reflection, supervisor
from agentpatterns.examples import EXAMPLES, example
from agentpatterns.testing import assert_same_route


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n != "human_approval"])
def test_builtin_example_same_route(name: str) -> None:
    builder, request = EXAMPLES[name]
    lg, sdk = assert_same_route(builder(), request, strict=True)
    assert sdk.runtime == "openai-agents" and lg.runtime == "langgraph"
    assert sdk.path and not sdk.interrupted
    assert sdk.model == lg.model


EXPECTED_PATHS = {
    "triage": ["Triage Agent", "Booking Agent"],
    "sequential": ["Researcher", "Writer", "Editor"],
    "hierarchical": ["Orchestrator", "SQL Expert"],
    "supervisor": ["Supervisor", "Worker 1", "Supervisor", "Worker 2", "Supervisor"],
    "reflection": ["Generator", "Critic"] * 3,
    "dynamic": ["Analyzer", "Tax Law Specialist", "Accounting Specialist"],
    "memory": ["Expert"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PATHS))
def test_sdk_path_is_the_documented_route(name: str) -> None:
    _, sdk = assert_same_route(example(name), EXAMPLES[name][1])
    assert sdk.path == EXPECTED_PATHS[name]


def test_parallel_same_branches_and_synthesis() -> None:
    _, sdk = assert_same_route(example("parallel"), EXAMPLES["parallel"][1], strict=True)
    assert set(sdk.path[:-1]) == {"Researcher 1", "Researcher 2", "Researcher 3"}
    assert sdk.path[-1] == "Synthesizer" and sdk.last_agent == "Synthesizer"
    assert sdk.final_output.startswith("[Synthesizer] synthesis based on: Synthesize: ")


@pytest.mark.parametrize("decision, path, output", [
    (True, ["Planner", "Executor"], "[Executor] execution report based on: [Planner] plan "
                                    "based on: Migrate the customer database to PostgreSQL"),
    (False, ["Planner"], "Plan rejected"),
    ({"approved": True, "plan": "Copy the tables, then switch over"}, ["Planner", "Executor"],
     "[Executor] execution report based on: Copy the tables, then switch over"),
])
def test_human_approval_decided_the_same(decision: object, path: list[str], output: str) -> None:
    builder, request = EXAMPLES["human_approval"]
    _, sdk = assert_same_route(builder(), request, decision=decision, strict=True)
    assert sdk.path == path and sdk.final_output == output and not sdk.interrupted


def test_human_approval_feedback_revises_on_both() -> None:
    builder, request = EXAMPLES["human_approval"]
    _, sdk = assert_same_route(builder(), request, decision={"feedback": "add a rollback"},
                                strict=True)
    assert sdk.interrupted and sdk.path == ["Planner", "Planner"]
    assert "feedback add a rollback" in sdk.interruption["plan"]


def test_human_approval_waits_with_the_same_plan() -> None:
    builder, request = EXAMPLES["human_approval"]
    lg, sdk = assert_same_route(builder(), request)
    assert sdk.interrupted and sdk.final_output is None
    assert sdk.interruption["plan"] == lg.interruption["plan"]
    assert sdk.interruption["revisions_left"] == lg.interruption["revisions_left"]


def test_reflection_without_stop_rule_and_supervisor_bound() -> None:
    gen = Agent(name="Generator", instructions="Generate content")
    critic = Agent(name="Critic", instructions="Review content and provide feedback")
    _, sdk = assert_same_route(reflection(gen, critic, iterations=2), "a limerick", strict=True)
    assert sdk.values["drafts"][-1] == sdk.final_output and len(sdk.values["drafts"]) == 2
    w1 = Agent(name="Worker 1", instructions="Process data")
    w2 = Agent(name="Worker 2", instructions="Analyze results")
    boss = Agent(name="Supervisor", instructions="Assign tasks, aggregate results")
    _, sdk = assert_same_route(supervisor(boss, [w1, w2], max_rounds=1),
                               "Process the sales data and analyze the results", strict=True)
    assert sdk.path == ["Supervisor", "Worker 1", "Supervisor"]
    assert sdk.events[-1]["type"] == "max_rounds"


def test_a_disagreement_reads_as_a_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentpatterns.adapters import openai_agents

    real = openai_agents.run_sdk_sync

    def wrong(*args: object, **kwargs: object) -> object:
        import dataclasses

        result = real(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(result, path=["Triage Agent", "Support Agent"],
                                   final_output="[Support Agent] something else")

    monkeypatch.setattr(openai_agents, "run_sdk_sync", wrong)
    with pytest.raises(AssertionError) as info:
        assert_same_route(example("triage"), EXAMPLES["triage"][1])
    message = str(info.value)
    assert "path:" in message and "'Support Agent'" in message and "'Booking Agent'" in message
    assert "final_output:" in message and "first difference at character 1" in message


def test_parallel_order_does_not_matter_but_outputs_do() -> None:
    rs = [Agent(name=f"R{i}", instructions=f"Research topic {t}") for i, t in [(1, "A"), (2, "B")]]
    syn = Agent(name="Synthesizer", instructions="Combine research")
    assert_same_route(parallel(rs, syn), "tides", strict=True)


# ------------------------------------------------------------------ a misbehaving model


def _desk(*, fallback: bool) -> object:
    from agentpatterns import triage

    booking = Agent(name="Booking Agent", handoff_description="Handles bookings",
                    instructions="Help users book")
    support = Agent(name="Support Agent", handoff_description="Handles support",
                    instructions="Help users with issues")
    router = Agent(name="Triage Agent", instructions="Route users",
                   handoffs=[booking, support])
    helpdesk = Agent(name="Helpdesk", instructions="Answer anything else")
    return triage(router, fallback=helpdesk if fallback else None)


def _both(target: object, request: str, script: list[object]) -> list[object]:
    from agentpatterns import Runner
    from agentpatterns.adapters.openai_agents import run_sdk_sync
    from agentpatterns.testing import ScriptedModel

    out = []
    for runner in (Runner.run_sync, run_sdk_sync):
        model = ScriptedModel(list(script))
        result = runner(target, request, model=model)
        out.append((result, [[(type(m).__name__, str(m.content)) for m in r["messages"]]
                             for r in model.requests]))
    return out


@pytest.mark.parametrize("fallback", [True, False])
@pytest.mark.parametrize("case", ["unknown_name", "model_error"])
def test_a_misbehaving_model_is_handled_alike(case: str, fallback: bool) -> None:
    from agentpatterns.testing import fail, handoff, text

    # a failing call is retried once: a fallback takes over only after the second failure
    first = ([handoff("Billing Agent")] if case == "unknown_name"
             else [fail("reset"), fail("still down")] if fallback else [fail("reset")])
    rest = [text("Helpdesk here.")] if fallback else [handoff("Support Agent"), text("Fixed.")]
    (lg, lg_seen), (sdk, sdk_seen) = _both(_desk(fallback=fallback), "my wifi", first + rest)
    assert lg.path == sdk.path and lg.final_output == sdk.final_output
    assert lg.events == sdk.events and lg.events  # the same incidents, worded alike
    assert lg.handoffs == sdk.handoffs and lg.calls == sdk.calls
    assert lg_seen == sdk_seen  # every model call was shown the same messages


def test_budget_stops_alike() -> None:
    from agentpatterns import BudgetExceeded, Runner
    from agentpatterns.adapters.openai_agents import run_sdk_sync

    stops = []
    for runner in (Runner.run_sync, run_sdk_sync):
        with pytest.raises(BudgetExceeded) as caught:
            runner(example("triage"), "I need to book a table", thread_id="pb",
                   max_model_calls=1)
        e = caught.value
        stops.append((e.budget, e.limit, e.used, e.agent, e.thread_id, e.result.calls))
    assert stops[0] == stops[1]
