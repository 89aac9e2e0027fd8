"""The seed's best practices as features: guardrails, budgets, fallbacks, scripted tests,
live events - on LangGraph and through the OpenAI Agents SDK adapter.

SDK-side gaps would be marked ``xfail(strict=True)`` with the reason (they flip to
failures, i.e. to "remove the mark", the day the adapter closes them); none is left.
"""

from __future__ import annotations

import asyncio
import doctest
import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END

from agentpatterns import (
    Agent,
    BudgetExceeded,
    GuardrailFunctionOutput,
    InputError,
    InputGuardrailTripwireTriggered,
    ModelBehaviorError,
    ModelCallError,
    OutputGuardrailTripwireTriggered,
    Pattern,
    PatternError,
    ResumeError,
    RunError,
    Runner,
    function_tool,
    hierarchical,
    input_guardrail,
    output_guardrail,
    parallel,
    sequential,
    triage,
)
from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_streamed, run_sdk_sync
from agentpatterns.cli import main
from agentpatterns.events import (
    AgentStarted,
    GuardrailTripped,
    Handoff,
    Interrupted,
    RunFinished,
    TokenDelta,
    ToolCalled,
    ToolResult,
)
from agentpatterns.examples import example
from agentpatterns.graphs.pattern import END_ID, START_ID, Edge
from agentpatterns.testing import (
    ScriptedModel,
    assert_route,
    fail,
    handoff,
    malformed_tool_call,
    text,
    tool_call,
)

RUNTIMES = ["langgraph", "openai-agents"]


def run(runtime: str, target: Any, request: str, **kwargs: Any) -> Any:
    """``Runner.run_sync`` or ``run_sdk_sync``."""
    if runtime == "langgraph":
        return Runner.run_sync(target, request, **kwargs)
    return run_sdk_sync(target, request, **kwargs)


async def stream(runtime: str, target: Any, request: str, **kwargs: Any) -> list[Any]:
    """Every event of ``Runner.run_streamed`` or ``run_sdk_streamed``."""
    events = Runner.run_streamed if runtime == "langgraph" else run_sdk_streamed
    return [e async for e in events(target, request, **kwargs)]


def desk(*, fallback: bool = False, router_kw: Any = None, booking_kw: Any = None) -> Pattern:
    """A fresh triage desk: Triage Agent -> Booking Agent | Support Agent (+ Helpdesk)."""
    booking = Agent(name="Booking Agent",
                    handoff_description="Handles all booking and reservation requests",
                    instructions="Help users book appointments and reservations",
                    **(booking_kw or {}))
    support = Agent(name="Support Agent",
                    handoff_description="Handles customer support and troubleshooting",
                    instructions="Help users with technical issues and questions")
    router = Agent(name="Triage Agent", instructions="Route users to the right specialist",
                   handoffs=[booking, support], **(router_kw or {}))
    helpdesk = Agent(name="Helpdesk", instructions="Answer anything else")
    return triage(router, fallback=helpdesk if fallback else None)


@input_guardrail
def no_homework(context: Any, agent: Any, value: str) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info={"homework": "homework" in value},
                                   tripwire_triggered="homework" in value)


@output_guardrail(name="no_secrets")
async def no_secrets(context: Any, agent: Any, value: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info={"chars": len(str(value))},
                                   tripwire_triggered="secret" in str(value))


# ------------------------------------------------------------------------------ guardrails


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_input_guardrail_trips_before_any_model_call(runtime):
    p = desk(router_kw={"input_guardrails": [no_homework]})
    model = ScriptedModel([])  # any model call would fail: the script is empty
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        run(runtime, p, "please do my homework", model=model)
    exc = caught.value
    assert (exc.agent, exc.guardrail, exc.info) == ("Triage Agent", "no_homework",
                                                    {"homework": True})
    assert str(exc) == ("input guardrail 'no_homework' of agent 'Triage Agent' tripped: "
                        "{'homework': True}")
    assert model.requests == []
    assert exc.result.calls == {} and exc.result.final_output is None
    assert exc.result.values["stopped"]["guardrail"] == "no_homework"
    assert run(runtime, p, "I need to book a table").path == ["Triage Agent", "Booking Agent"]


def test_a_tripped_run_is_saved_with_its_reason_then_raises(checkpointer_url):
    p = desk(router_kw={"input_guardrails": [no_homework]})
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        Runner.run_sync(p, "do my homework", thread_id="g1", checkpointer=checkpointer_url)
    saved = p.compile(checkpointer=checkpointer_url).get_state(
        {"configurable": {"thread_id": "g1"}})
    stopped = {"reason": "guardrail", "kind": "input", "agent": "Triage Agent",
               "guardrail": "no_homework", "info": {"homework": True}}
    assert saved.values["stopped"] == stopped and saved.next == ()
    assert caught.value.result.values["stopped"] == stopped
    assert caught.value.result.calls == {} and caught.value.result.final_output is None
    assert {"type": "guardrail", **{k: v for k, v in stopped.items() if k != "reason"}} in (
        saved.values["events"])
    with pytest.raises(ResumeError, match="already finished"):
        Runner.resume_sync(p, thread_id="g1", checkpointer=checkpointer_url)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_output_guardrail_trips_on_the_final_answer(runtime):
    p = desk(booking_kw={"output_guardrails": [no_secrets]})
    model = ScriptedModel([handoff("Booking Agent"), text("Your table is the secret one.")])
    with pytest.raises(OutputGuardrailTripwireTriggered) as caught:
        run(runtime, p, "book a table", model=model)
    exc = caught.value
    assert (exc.agent, exc.guardrail, exc.info) == ("Booking Agent", "no_secrets", {"chars": 29})
    result = exc.result
    assert result.path == ["Triage Agent", "Booking Agent"]
    assert result.calls == {"Triage Agent": 1, "Booking Agent": 1}  # the cost is kept
    assert (result.final_output, result.last_agent) == (None, "Booking Agent")
    assert result.values["stopped"] == {"reason": "guardrail", "kind": "output",
                                        "agent": "Booking Agent", "guardrail": "no_secrets",
                                        "info": {"chars": 29}}
    assert result.events[-1]["type"] == "guardrail"
    if runtime == "langgraph":
        # the rejected answer never reaches the thread's conversation
        assert all("secret" not in str(m.content) for m in result.values["messages"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_guardrails_run_where_the_sdk_runs_them(runtime):
    seen: list[tuple[str, str, str, Any]] = []

    def spy(kind: str) -> Any:
        async def check(context: Any, agent: Any, value: Any) -> GuardrailFunctionOutput:
            seen.append((kind, agent.name, context.runtime, value))
            return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

        return check

    p = desk(router_kw={"input_guardrails": [spy("input")], "output_guardrails": [spy("output")]},
             booking_kw={"input_guardrails": [spy("input")], "output_guardrails": [spy("output")]})
    result = run(runtime, p, "I need to book a table")
    # the router's input is checked; the booking agent takes over the conversation by a
    # handoff (no input check) and gives the final answer (output check); the router
    # handed off, so it had no final answer to check
    assert seen == [("input", "Triage Agent", runtime, "I need to book a table"),
                    ("output", "Booking Agent", runtime, result.final_output)]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_input_guardrails_check_new_input_not_a_continued_conversation(runtime):
    seen: list[str] = []

    @input_guardrail
    def spy(context: Any, agent: Any, value: str) -> GuardrailFunctionOutput:
        seen.append(f"{agent.name}: {value}")
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    # a sequence step takes over the conversation: only the first step starts on the request
    steps = sequential([Agent(name="Researcher", instructions="Research", input_guardrails=[spy]),
                        Agent(name="Writer", instructions="Write", input_guardrails=[spy])])
    assert run(runtime, steps, "tides").path == ["Researcher", "Writer"]
    assert seen == ["Researcher: tides"]
    # each new request on a thread is new input, whatever the thread already holds
    seen.clear()
    p = desk(router_kw={"input_guardrails": [spy]})
    for request in ("I need to book a table", "troubleshoot my wifi"):
        run(runtime, p, request, thread_id=f"again-{runtime}", checkpointer="memory://again")
    assert seen == ["Triage Agent: I need to book a table", "Triage Agent: troubleshoot my wifi"]


def test_guardrails_of_a_step_stop_what_follows_on_langgraph():
    researcher = Agent(name="Researcher", instructions="Research the topic",
                       output_guardrails=[no_secrets])
    writer = Agent(name="Writer", instructions="Write based on research")
    with pytest.raises(OutputGuardrailTripwireTriggered) as caught:
        Runner.run_sync(sequential([researcher, writer]), "the secret history of tides")
    assert caught.value.result.path == ["Researcher"]  # the writer never ran

    branches = [Agent(name="R1", instructions="Research A"),
                Agent(name="R2", instructions="Research B", input_guardrails=[no_homework])]
    synth = Agent(name="Synthesizer", instructions="Combine research")
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        Runner.run_sync(parallel(branches, synth), "homework on tides")
    assert "Synthesizer" not in caught.value.result.path


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_agent_used_as_a_tool_checks_its_task_and_can_stop_the_run(runtime):
    sql = Agent(name="SQL Expert", instructions="Write SQL queries",
                input_guardrails=[no_homework])
    boss = Agent(name="Orchestrator", instructions="Coordinate", tools=[
        sql.as_tool(tool_name="sql_expert", tool_description="Use for database queries")])
    assert run(runtime, hierarchical(boss), "Write SQL database queries").path == [
        "Orchestrator", "SQL Expert"]
    with pytest.raises(InputGuardrailTripwireTriggered, match="'SQL Expert'") as caught:
        run(runtime, hierarchical(boss), "database queries for my homework")
    assert caught.value.result.path == ["Orchestrator", "SQL Expert"]
    assert caught.value.result.calls == {"Orchestrator": 1}


def test_guardrail_edges_show_in_the_topology_and_validation_still_holds():
    p = desk(booking_kw={"output_guardrails": [no_secrets]})
    assert Edge(source="Booking Agent", target=END_ID, kind="route", label="guardrail") in (
        p.edges)
    assert not [e for e in p.edges if e.source == "Triage Agent" and e.label == "guardrail"]
    guarded = Agent(name="Researcher", instructions="Research", output_guardrails=[no_secrets])
    steps = sequential([guarded, Agent(name="Writer", instructions="Write")])
    drawn = {(e.source, e.target) for e in steps.compile().get_graph().edges}
    assert {("Researcher", "Writer"), ("Researcher", END)} <= drawn
    # a stop is no way to finish: an agent whose only way out is a guardrail is a dead end
    lonely = Agent(name="Lonely", instructions="x", input_guardrails=[no_homework])
    entry = Agent(name="Entry", instructions="x")
    with pytest.raises(PatternError, match="agent 'Lonely' is a dead end"):
        Pattern(kind="handoffs", agents=(entry, lonely), entry="Entry",
                edges=(Edge(source=START_ID, target="Entry", kind="route"),
                       Edge(source="Entry", target="Lonely", kind="route"),
                       Edge(source="Entry", target=END_ID, kind="route")))


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_streamed_run_reports_the_trip_then_raises(runtime):
    p = desk(router_kw={"input_guardrails": [no_homework]})
    seen: list[Any] = []
    with pytest.raises(InputGuardrailTripwireTriggered):
        async for event in (Runner.run_streamed if runtime == "langgraph"
                            else run_sdk_streamed)(p, "homework please"):
            seen.append(event)
    assert seen[-1] == GuardrailTripped(agent="Triage Agent", guardrail="no_homework",
                                        kind="input", info={"homework": True})


def test_guardrail_mistakes_are_named():
    with pytest.raises(TypeError, match="output guardrail 'no_secrets'.*output_guardrails="):
        Agent(name="A", input_guardrails=[no_secrets])
    with pytest.raises(TypeError, match="not a guardrail"):
        Agent(name="A", output_guardrails=["nope"])
    sloppy = Agent(name="Sloppy", instructions="x", input_guardrails=[lambda c, a, v: True])
    with pytest.raises(RunError, match="guardrail '<lambda>' of agent 'Sloppy' returned True"):
        Runner.run_sync(sloppy, "hi")


# ------------------------------------------------------------------------------ budgets


def test_budget_stops_cleanly_and_resumes_with_a_larger_one(checkpointer_url):
    p = example("triage")
    with pytest.raises(BudgetExceeded) as caught:
        Runner.run_sync(p, "I need to book a table", thread_id="b1",
                        checkpointer=checkpointer_url, max_model_calls=1)
    exc = caught.value
    assert (exc.budget, exc.limit, exc.used, exc.agent) == ("max_model_calls", 1, 1,
                                                            "Booking Agent")
    assert "Runner.resume(..., thread_id='b1', max_model_calls=N)" in str(exc)
    assert "agentpatterns resume --thread b1 --max-calls N" in str(exc)
    assert exc.result.calls == {"Triage Agent": 1}  # saved at the last completed step
    saved = p.compile(checkpointer=checkpointer_url).get_state(
        {"configurable": {"thread_id": "b1"}})
    assert saved.next == ("Booking Agent",)
    with pytest.raises(BudgetExceeded):  # the whole run counts: still no room
        Runner.resume_sync(p, thread_id="b1", checkpointer=checkpointer_url, max_model_calls=1)
    result = Runner.resume_sync(p, thread_id="b1", checkpointer=checkpointer_url,
                                max_model_calls=2)
    assert result.path == ["Triage Agent", "Booking Agent"]
    assert result.calls == {"Triage Agent": 1, "Booking Agent": 1}  # each agent acted once
    assert result.final_output == "[Booking Agent] answer based on: I need to book a table"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_budget_holds_exactly_across_concurrent_branches(mode):
    names = ["R1", "R2", "R3"]
    # one step per agent: a branch that ran twice would find its script empty
    model = ScriptedModel({**{n: [text(f"{n} notes")] for n in names},
                           "Synthesizer": [text("combined")]})
    p = parallel([Agent(name=n, instructions="Research") for n in names],
                 Agent(name="Synthesizer", instructions="Combine research"))
    where = {"thread_id": "pb", "checkpointer": f"memory://budget-{mode}", "model": model}
    with pytest.raises(BudgetExceeded) as caught:
        if mode == "sync":
            Runner.run_sync(p, "tides", max_model_calls=2, **where)
        else:
            await Runner.run(p, "tides", max_model_calls=2, **where)
    assert len(model.requests) == 2  # the branches share one ceiling
    # the two paid branches are saved (not cancelled); only the third is left to run
    assert sum(caught.value.result.calls.values()) == 2
    result = await Runner.resume(p, max_model_calls=4, **where)
    assert result.final_output == "combined"
    assert result.calls == {"R1": 1, "R2": 1, "R3": 1, "Synthesizer": 1}
    assert model.remaining == 0 and len(model.requests) == 4  # nothing ran twice


def test_token_budget_and_bad_budgets():
    p = example("triage")
    with pytest.raises(BudgetExceeded, match="max_tokens=5 is reached before Booking Agent"):
        Runner.run_sync(p, "I need to book a table", max_tokens=5)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="max_model_calls="):
            Runner.run_sync(p, "hi", max_model_calls=bad)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_result_carries_calls_and_usage_per_agent(runtime):
    result = run(runtime, example("triage"), "I need to book a table")
    assert result.calls == {"Triage Agent": 1, "Booking Agent": 1}
    assert set(result.usage) == {"Triage Agent", "Booking Agent"}
    assert all(u["total"] > 0 for u in result.usage.values())


def test_budget_stops_an_sdk_run_and_resumes_it_with_a_larger_one(checkpointer_url):
    p = example("triage")
    where = {"thread_id": "sb1", "checkpointer": checkpointer_url}
    with pytest.raises(BudgetExceeded) as caught:
        run_sdk_sync(p, "I need to book a table", max_model_calls=1, **where)
    exc = caught.value
    assert (exc.budget, exc.limit, exc.used, exc.agent, exc.thread_id) == (
        "max_model_calls", 1, 1, "Booking Agent", "sb1")
    assert "resume_sdk(..., thread_id='sb1', max_model_calls=N)" in str(exc)
    assert exc.result.calls == {"Triage Agent": 1} and exc.result.path == ["Triage Agent"]
    assert exc.result.runtime == "openai-agents" and exc.result.final_output is None
    with pytest.raises(BudgetExceeded):  # the whole run counts: still no room
        resume_sdk_sync(p, max_model_calls=1, **where)
    with pytest.raises(ResumeError, match="not waiting for a decision"):
        resume_sdk_sync(p, decision=True, max_model_calls=2, **where)
    result = resume_sdk_sync(p, max_model_calls=2, **where)
    assert result.path == ["Triage Agent", "Booking Agent"]
    assert result.calls == {"Triage Agent": 1, "Booking Agent": 1}  # each agent acted once
    assert result.final_output == "[Booking Agent] answer based on: I need to book a table"
    assert [(h["from"], h["to"]) for h in result.handoffs] == [("Triage Agent", "Booking Agent")]
    with pytest.raises(ResumeError, match="already finished"):
        resume_sdk_sync(p, max_model_calls=3, **where)


@pytest.mark.parametrize("thread", ["sb2", None])  # a thread is a session; else items are kept
def test_a_budget_cut_sdk_resume_makes_no_model_call_twice(thread):
    model = ScriptedModel({"Clerk": [tool_call("lookup", order_id="42"),
                                     text("Order 42 has shipped.")]})
    clerk = Agent(name="Clerk", instructions="Look up orders", tools=[lookup])
    with pytest.raises(BudgetExceeded) as caught:
        run_sdk_sync(clerk, "where is order 42", model=model, thread_id=thread,
                     max_model_calls=1)
    assert caught.value.result.path == ["Clerk"] and len(model.requests) == 1
    result = resume_sdk_sync(clerk, thread_id=caught.value.thread_id, model=model,
                             max_model_calls=2)
    assert result.path == ["Clerk"] and result.calls == {"Clerk": 2}
    assert result.final_output == "Order 42 has shipped." and model.remaining == 0
    assert model.requests[1]["messages"][-1].content == "order 42 shipped"


def test_sdk_budgets_like_langgraph_and_where_they_cannot_resume():
    with pytest.raises(BudgetExceeded, match="max_tokens=5 is reached before Booking Agent"):
        run_sdk_sync(example("triage"), "I need to book a table", max_tokens=5)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="max_model_calls="):
            run_sdk_sync(example("triage"), "hi", max_model_calls=bad)
    # a driver's loop lives in Python, not in an SDK RunState: stopped, but not resumable
    with pytest.raises(BudgetExceeded, match="cannot be continued") as caught:
        run_sdk_sync(example("reflection"), "a poem about tides", thread_id="sb3",
                     max_model_calls=3)
    assert caught.value.result.calls == {"Generator": 2, "Critic": 1}
    with pytest.raises(ResumeError, match="no SDK run waiting"):
        resume_sdk_sync(example("reflection"), thread_id="sb3", max_model_calls=9)
    names = ["R1", "R2", "R3"]
    model = ScriptedModel({**{n: [text(f"{n} notes")] for n in names},
                           "Synthesizer": [text("combined")]})
    p = parallel([Agent(name=n, instructions="Research") for n in names],
                 Agent(name="Synthesizer", instructions="Combine research"))
    with pytest.raises(BudgetExceeded) as caught:  # the branches share one ceiling
        run_sdk_sync(p, "tides", model=model, max_model_calls=2)
    assert len(model.requests) == 2 and sum(caught.value.result.calls.values()) == 2


def test_cli_budget_stop_then_resume(tmp_cwd, capsys):
    assert main(["run", "triage", "I need to book a table", "--thread", "cb",
                 "--max-calls", "1"]) == 2
    captured = capsys.readouterr()
    assert "Stopped by its budget" in captured.out and "Triage Agent" in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "agentpatterns resume --thread cb --max-calls N" in err[0]
    assert main(["resume", "--thread", "cb", "--max-calls", "2"]) == 0
    out = capsys.readouterr().out
    assert "[Booking Agent] answer based on: I need to book a table" in out
    assert re.search(r"total\s+│\s+2\b", out)


# ------------------------------------------------------------------------------ fallbacks


def test_a_hallucinated_handoff_reaches_the_fallback_on_langgraph():
    model = ScriptedModel([handoff("Billing Agent"), text("Helpdesk: I can help with that.")])
    result = Runner.run_sync(desk(fallback=True), "refund my invoice", model=model)
    assert_route(result, ["Triage Agent", "Helpdesk"])
    assert result.events == [{"type": "fallback", "agent": "Triage Agent",
                              "reason": "unknown_name", "asked_for": "transfer_to_billing_agent",
                              "to": "Helpdesk"}]
    assert result.handoffs[0]["reason"] == ("fallback after unknown name "
                                            "(asked for transfer_to_billing_agent)")


def test_a_hallucinated_handoff_reaches_the_fallback_on_the_sdk():
    model = ScriptedModel([handoff("Billing Agent"), text("Helpdesk: I can help with that.")])
    result = run_sdk_sync(desk(fallback=True), "refund my invoice", model=model)
    assert_route(result, ["Triage Agent", "Helpdesk"])
    assert result.events == [{"type": "fallback", "agent": "Triage Agent",
                              "reason": "unknown_name", "asked_for": "transfer_to_billing_agent",
                              "to": "Helpdesk"}]
    assert result.handoffs[0]["reason"] == ("fallback after unknown name "
                                            "(asked for transfer_to_billing_agent)")
    # the fallback sees the failed call answered, as on LangGraph
    assert model.requests[1]["messages"][-1].content == (
        "There is no 'transfer_to_billing_agent'; handing to Helpdesk.")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_without_a_fallback_a_hallucinated_name_is_corrected_once_then_fails(runtime):
    ok = ScriptedModel([handoff("Billing Agent"), handoff("Support Agent"), text("fixed")])
    result = run(runtime, desk(), "my wifi", model=ok)
    assert_route(result, ["Triage Agent", "Support Agent"])
    assert [e["type"] for e in result.events] == ["unknown_retry"]
    assert ok.requests[1]["messages"][-1].content == (
        "Error: there is no tool or handoff named 'transfer_to_billing_agent'. "
        "Available: transfer_to_booking_agent, transfer_to_support_agent.")
    twice = ScriptedModel([handoff("Billing Agent"), handoff("Billing Agent")])
    with pytest.raises(ModelBehaviorError, match="'Triage Agent'.*transfer_to_billing_agent"):
        run(runtime, desk(), "my wifi", model=twice)


@function_tool
def lookup(order_id: str) -> str:
    """Look up an order by its id."""
    return f"order {order_id} shipped"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_tool_json_is_retried_with_a_correction(runtime):
    clerk = Agent(name="Clerk", instructions="Look up orders", tools=[lookup])
    model = ScriptedModel([malformed_tool_call("lookup", '{"order_id": '),
                           tool_call("lookup", order_id="42"), text("Order 42 has shipped.")])
    result = run(runtime, clerk, "where is order 42", model=model)
    assert result.final_output == "Order 42 has shipped."
    assert result.calls == {"Clerk": 3}
    correction = model.requests[1]["messages"][-1].content
    assert correction.startswith("Error: ") and "JSON" in correction
    assert model.requests[2]["messages"][-1].content == "order 42 shipped"
    if runtime == "langgraph":
        assert [e["type"] for e in result.events] == ["arguments_retry"]


def test_malformed_json_twice_goes_to_the_fallback_or_fails_naming_it():
    router = Agent(name="Front Desk", instructions="Route", tools=[lookup],
                   handoffs=[Agent(name="Orders", instructions="Answer order questions")])
    helpdesk = Agent(name="Helpdesk", instructions="Anything else")
    bad = [malformed_tool_call("lookup"), malformed_tool_call("lookup")]
    result = Runner.run_sync(triage(router, fallback=helpdesk), "order 7?",
                             model=ScriptedModel([*bad, text("Helpdesk here.")]))
    assert_route(result, ["Front Desk", "Helpdesk"])
    assert [e["type"] for e in result.events] == ["arguments_retry", "arguments", "fallback"]
    with pytest.raises(ModelBehaviorError, match="'Front Desk'.*malformed arguments"):
        Runner.run_sync(triage(router), "order 7?", model=ScriptedModel(bad))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_failing_model_is_retried_once_then_falls_back_or_fails(runtime):
    retried = run(runtime, desk(), "wifi", model=ScriptedModel(
        [fail("connection reset"), handoff("Support Agent"), text("Restart it.")]))
    assert_route(retried, ["Triage Agent", "Support Agent"])
    assert retried.events == [{"type": "model_error_retry", "agent": "Triage Agent",
                               "error": "ConnectionError: connection reset"}]
    assert retried.calls == {"Triage Agent": 1, "Support Agent": 1}  # failures are no calls
    fell = run(runtime, desk(fallback=True), "wifi", model=ScriptedModel(
        [fail("down"), fail("still down"), text("Helpdesk here.")]))
    assert_route(fell, ["Triage Agent", "Helpdesk"])
    assert [e["type"] for e in fell.events] == ["model_error_retry", "model_error", "fallback"]
    assert fell.handoffs[0]["reason"] == "fallback after model error"
    with pytest.raises(ModelCallError, match="'Triage Agent' failed twice") as caught:
        run(runtime, desk(), "wifi", model=ScriptedModel([fail("down"), fail("still down")]))
    assert isinstance(caught.value.__cause__, ConnectionError)


def test_fallback_edges_are_visible_in_the_topology():
    p = desk(fallback=True)
    fallbacks = sorted(e.source for e in p.edges if e.target == "Helpdesk" and e.kind == "route")
    assert fallbacks == ["Booking Agent", "Support Agent", "Triage Agent"]
    assert all(e.label == "fallback" for e in p.edges if e.target == "Helpdesk")
    drawn = {(e.source, e.target) for e in p.compile().get_graph().edges}
    assert {(a, "Helpdesk") for a in fallbacks} <= drawn


# ------------------------------------------------------------------------------ testing


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_user_style_routing_test_with_the_scripted_model(runtime):
    model = ScriptedModel({"Triage Agent": [handoff("Booking Agent")],
                           "Booking Agent": [text("Booked: a table for two at 8pm.")]})
    result = run(runtime, desk(), "I need to book a table", model=model)
    assert_route(result, ["Triage Agent", "Booking Agent"])
    assert result.final_output == "Booked: a table for two at 8pm."
    assert [r["agent"] for r in model.requests] == ["Triage Agent", "Booking Agent"]
    assert model.requests[0]["tools"] == ["transfer_to_booking_agent",
                                          "transfer_to_support_agent"]
    assert model.remaining == 0


def test_assert_route_failure_reads_well():
    result = Runner.run_sync(desk(), "wifi", model=ScriptedModel(
        [handoff("Support Agent"), text("Restart it.")]))
    with pytest.raises(AssertionError) as caught:
        assert_route(result, ["Triage Agent", "Booking Agent"])
    message = str(caught.value)
    assert "expected: Triage Agent → Booking Agent" in message
    assert "actual:   Triage Agent → Support Agent" in message
    assert "first difference at step 2: expected 'Booking Agent', got 'Support Agent'" in message
    assert "handoff Triage Agent → Support Agent" in message
    assert "final output (Support Agent): 'Restart it.'" in message


def test_a_script_that_runs_out_says_who_asked():
    with pytest.raises(RunError, match="no step left for agent 'Booking Agent'"):
        Runner.run_sync(desk(), "book", model=ScriptedModel({"Triage Agent": [
            handoff("Booking Agent")]}))
    with pytest.raises(TypeError, match="is not a step"):
        ScriptedModel([42])


def _readme_block(heading: str) -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_testing_example_runs_as_written():
    namespace: dict[str, Any] = {}
    exec(compile(_readme_block("Testing your agents"), "README.md", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        test()


@pytest.mark.parametrize("module", ["agentpatterns.nodes.guardrails", "agentpatterns.testing",
                                    "agentpatterns.adapters.openai_agents.guardrails",
                                    "agentpatterns.run.runner"])
def test_docstring_examples_of_the_new_parts(module):
    failures, tried = doctest.testmod(importlib.import_module(module),
                                      optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


# ------------------------------------------------------------------------------ events


def _shape(events: list[Any]) -> list[tuple[str, str]]:
    """(type, agent) per event, consecutive token deltas of one agent as one."""
    out: list[tuple[str, str]] = []
    for e in events:
        key = (e.type, e.agent)
        if not (out and key == out[-1] and e.type == "token_delta"):
            out.append(key)
    return out


async def test_a_triage_run_streams_the_same_events_on_both_runtimes():
    lg = await stream("langgraph", example("triage"), "I need to book a table")
    sdk = await stream("openai-agents", example("triage"), "I need to book a table")
    expected = [("agent_started", "Triage Agent"), ("handoff", "Triage Agent"),
                ("agent_started", "Booking Agent"), ("token_delta", "Booking Agent"),
                ("run_finished", "Booking Agent")]
    assert _shape(lg) == _shape(sdk) == expected
    for events in (lg, sdk):
        handoffs = [e for e in events if isinstance(e, Handoff)]
        assert [(h.source, h.target) for h in handoffs] == [("Triage Agent", "Booking Agent")]
        tokens = "".join(e.delta for e in events if isinstance(e, TokenDelta))
        assert tokens == events[-1].result.final_output
        assert isinstance(events[-1], RunFinished)


async def test_scripted_runs_stream_alike_too():
    def model() -> ScriptedModel:
        return ScriptedModel([(text("Let me route you."), handoff("Support Agent")),
                              text("Restart the router.")])

    lg = await stream("langgraph", desk(), "wifi", model=model())
    sdk = await stream("openai-agents", desk(), "wifi", model=model())
    assert _shape(lg) == _shape(sdk) == [
        ("agent_started", "Triage Agent"), ("token_delta", "Triage Agent"),
        ("handoff", "Triage Agent"), ("agent_started", "Support Agent"),
        ("token_delta", "Support Agent"), ("run_finished", "Support Agent")]


async def test_tool_events_and_an_interrupt_on_langgraph():
    events = await stream("langgraph", example("hierarchical"), "Write SQL queries to count orders")
    tools = [e for e in events if isinstance(e, ToolCalled | ToolResult)]
    assert [type(e).__name__ for e in tools] == ["ToolCalled", "ToolResult"]
    assert tools[0].tool == "sql_expert" and tools[0].args == {
        "input": "Write SQL queries to count orders"}
    assert tools[1].output.startswith("[SQL Expert] SQL query")
    started = [e.agent for e in events if isinstance(e, AgentStarted)]
    assert started == ["Orchestrator", "SQL Expert"]  # the agent used as a tool too

    p = example("human_approval")
    first = await stream("langgraph", p, "migrate the db", thread_id="ev-h",
                         checkpointer="memory://ev")
    waiting = [e for e in first if isinstance(e, Interrupted)]
    assert len(waiting) == 1 and waiting[0].value["plan"].startswith("[Planner]")
    assert first[-1].result.interrupted
    rest = [e async for e in Runner.resume_streamed(p, thread_id="ev-h", decision=True,
                                                    checkpointer="memory://ev")]
    assert [e.agent for e in rest if isinstance(e, AgentStarted)] == ["Executor"]
    assert rest[-1].result.path == ["Planner", "Executor"]


def test_cli_run_shows_events_live(tmp_cwd, capsys):
    assert main(["run", "hierarchical", "Write SQL queries to count orders"]) == 0
    out = capsys.readouterr().out
    assert "1. Orchestrator" in out and "2. SQL Expert" in out
    assert "tool sql_expert(input='Write SQL queries to count orders')" in out
    assert "← sql_expert: [SQL Expert] SQL query based on" in out
    assert "Final output" in out and "model: offline" in out


def test_streaming_leaves_run_results_unchanged():
    p = example("triage")
    plain = Runner.run_sync(p, "troubleshoot my wifi")
    streamed = asyncio.run(stream("langgraph", p, "troubleshoot my wifi"))[-1].result
    assert (streamed.path, streamed.final_output, streamed.calls) == (
        plain.path, plain.final_output, plain.calls)
