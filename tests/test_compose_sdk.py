"""Compositions on the OpenAI Agents SDK runtime: the same route, account and events as on
LangGraph (``assert_same_route``), for every builder with a nested pattern in every role."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from agentpatterns import (
    Agent,
    BudgetExceeded,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    Pattern,
    Runner,
    dynamic,
    function_tool,
    hierarchical,
    human_approval,
    input_guardrail,
    parallel,
    reflection,
    sequential,
    supervisor,
    triage,
)
from agentpatterns.adapters.openai_agents import run_sdk_streamed, run_sdk_sync
from agentpatterns.examples import COMPOSITIONS
from agentpatterns.testing import assert_same_route
from tests.test_compose import _agent, pipeline, polish, research


def _team(domain: str) -> Pattern:
    return sequential([_agent(f"{domain.title()} Scout", "Research"),
                       _agent(f"{domain.title()} Writer", "Write")],
                      name=f"{domain.title()} Team")


def _three_levels() -> Pattern:
    inner = sequential([_agent("A", "Research the topic"), _agent("B", "Write it")], name="L3")
    middle = sequential([inner, _agent("C", "Edit and polish")], name="L2")
    return sequential([middle, _agent("D", "Summarize")], name="L1")


CASES: dict[str, tuple[Callable[[], Pattern], str]] = {
    "sequential steps": (pipeline, "tides"),
    "parallel branch and synthesizer": (
        lambda: parallel([research(), _agent("Analyst", "Analyze the data")], polish(),
                         name="Big"), "tides"),
    "reflection generator": (
        lambda: reflection(sequential([_agent("Drafter", "Write a draft"),
                                       _agent("Fixer", "Edit and polish")], name="Draft Team"),
                           _agent("Critic", "Review content and provide feedback"),
                           iterations=2), "a poem"),
    "reflection critic": (
        lambda: reflection(_agent("Writer", "Write"),
                           sequential([_agent("Reader", "Review content and provide feedback")],
                                      name="Panel"), iterations=2), "a poem"),
    "supervisor worker": (
        lambda: supervisor(_agent("Supervisor", "Assign tasks, aggregate results"),
                           [research(name="Research Team"),
                            _agent("Worker 2", "Analyze results")]),
        "Research the data and analyze the results"),
    "dynamic factory": (
        lambda: dynamic(_agent("Analyzer", "Determine required expertise"), _team,
                        name="Experts"), "I need advice on tax law and accounting"),
    "handoff target": (
        lambda: triage(_agent("Router", "Route users to the right team", handoffs=[
            research(), _agent("Support", "Help",
                               handoff_description="Handles support questions")])),
        "research the topic in depth from several angles"),
    "pattern as tool": (
        lambda: hierarchical(_agent("Boss", "Coordinate", tools=[research().as_tool(
            tool_name="research", tool_description="Use to research a topic")])),
        "research the topic of tides"),
    "three levels": (_three_levels, "tides"),
    **{f"built-in {k}": v for k, v in COMPOSITIONS.items() if k != "release_gate"},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_route_account_and_steps_on_both_runtimes(case: str) -> None:
    make, request = CASES[case]
    # strict: the same calls, token usage (the models saw the same messages) and handoffs
    lg, sdk = assert_same_route(make(), request, strict=True)
    assert sdk.runtime == "openai-agents" and len(sdk.path) >= 4
    assert sdk.tool_calls == lg.tool_calls or case == "pattern as tool"
    if case.startswith("parallel"):  # concurrent branches: the same steps, in any order
        assert sorted(map(repr, sdk.steps)) == sorted(map(repr, lg.steps))
    else:
        assert sdk.steps == lg.steps


def test_steps_name_the_dynamic_pattern_that_made_each_agent() -> None:
    make, request = CASES["dynamic factory"]
    lg, sdk = Runner.run_sync(make(), request), run_sdk_sync(make(), request)
    assert [(s.agent, s.patterns) for s in sdk.steps] == [
        ("Analyzer", ("Experts",)), ("Tax Law Scout", ("Experts", "Tax Law Team")),
        ("Tax Law Writer", ("Experts", "Tax Law Team")),
        ("Accounting Scout", ("Experts", "Accounting Team")),
        ("Accounting Writer", ("Experts", "Accounting Team"))]
    assert lg.steps == sdk.steps

    # two dynamic patterns in one composition: each agent is attributed to its maker
    def tax(domain: str) -> object:
        return _agent(f"{domain.title()} Adviser", "Advise")

    def legal(domain: str) -> object:
        return _agent(f"{domain.title()} Counsel", "Counsel")

    both = sequential([
        dynamic(_agent("Tax Analyzer", "Determine required expertise"), tax, name="Tax Desk"),
        sequential([dynamic(_agent("Legal Analyzer", "Determine required expertise"), legal,
                            name="Legal Desk")], name="Legal Floor")], name="Office")
    request = "I need advice on tax law and accounting"
    for r in (Runner.run_sync(both, request), run_sdk_sync(both, request)):
        scopes = {s.agent: s.patterns for s in r.steps}
        assert scopes["Tax Law Adviser"] == ("Office", "Tax Desk"), r.runtime
        assert scopes["Accounting Counsel"] == ("Office", "Legal Floor", "Legal Desk"), r.runtime
        assert scopes["Legal Analyzer"] == ("Office", "Legal Floor", "Legal Desk")


def test_a_pattern_tool_call_is_one_tool_call_with_the_patterns_turns_after_it() -> None:
    make, request = CASES["pattern as tool"]
    r = run_sdk_sync(make(), request)
    assert r.path == ["Boss", "Researcher 1", "Researcher 2", "Synthesizer"]
    assert [c["tool"] for c in r.tool_calls] == ["research"]
    assert r.tool_calls[0]["result"].startswith("[Synthesizer] synthesis")
    assert r.calls["Boss"] == 2


def test_budget_covers_the_whole_tree_on_the_sdk() -> None:
    with pytest.raises(BudgetExceeded, match="cannot be continued") as caught:
        run_sdk_sync(pipeline(), "tides", max_model_calls=5)
    assert caught.value.result.model_calls == 5
    assert caught.value.result.path == ["Researcher 1", "Researcher 2", "Synthesizer",
                                        "Writer", "Critic"]
    boss = _agent("Boss", "Coordinate", tools=[research().as_tool(tool_name="research")])
    with pytest.raises(BudgetExceeded) as through_tool:
        run_sdk_sync(hierarchical(boss), "research the topic", max_model_calls=3)
    assert through_tool.value.result.model_calls == 3
    r = run_sdk_sync(pipeline(), "tides", max_tokens=100_000)
    assert r.model_calls == 8


def test_guardrail_inside_a_nested_pattern_stops_the_sdk_run() -> None:
    @input_guardrail
    def no_secrets(context: object, agent: object, text: str) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={}, tripwire_triggered="secret" in text)

    guarded = sequential([_agent("Gatekeeper", "Check", input_guardrails=[no_secrets]),
                          _agent("Worker", "Work")], name="Guarded")
    p = sequential([_agent("Before", "Research the topic"), guarded,
                    _agent("After", "Edit and polish")], name="Outer")
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        run_sdk_sync(p, "tell me the secret")
    assert caught.value.result.values["stopped"]["agent"] == "Gatekeeper"
    assert caught.value.result.path == ["Before", "Gatekeeper"]
    assert_same_route(p, "tell me a story", strict=True)


def test_nested_agents_tool_calls_reach_the_sdk_run() -> None:
    @function_tool
    def lookup(topic: str) -> str:
        """Look up facts about a topic."""
        return f"facts about {topic}"

    inner = sequential([_agent("Fact Finder", "Look up facts about the topic",
                               tools=[lookup])], name="Facts")
    p = sequential([inner, _agent("Writer", "Write it")], name="Outer")
    lg, sdk = assert_same_route(p, "look up facts about tides", strict=True)
    assert [(c["agent"], c["tool"]) for c in sdk.tool_calls] == [("Fact Finder", "lookup")]
    assert sdk.tool_calls[0]["result"] == lg.tool_calls[0]["result"]


def test_streamed_sdk_events_name_the_nested_pattern() -> None:
    async def started(stream: object) -> list[tuple[str, tuple[str, ...]]]:
        return [(e.agent, e.patterns) async for e in stream  # type: ignore[attr-defined]
                if e.type == "agent_started"]

    sdk = asyncio.run(started(run_sdk_streamed(pipeline(), "tides")))
    lg = asyncio.run(started(Runner.run_streamed(pipeline(), "tides")))
    assert sorted(sdk) == sorted(lg)
    assert sdk[-1] == ("Editor", ()) and ("Critic", ("Polish",)) in sdk
    router = _agent("Router", "Route users to the right team", handoffs=[research()])
    seen = asyncio.run(started(run_sdk_streamed(triage(router), "research the topic")))
    assert [a for a, _ in seen] == ["Router", "Researcher 1", "Researcher 2", "Synthesizer"]


def test_a_thread_keeps_the_conversation_of_a_handoff_to_a_pattern() -> None:
    router = _agent("Router", "Route users to the right team", handoffs=[research()])
    p = triage(router)
    r = run_sdk_sync(p, "research the topic in depth", thread_id="sdk-compose-thread")
    items = r.to_input_list()
    assert items[0] == {"role": "user", "content": "research the topic in depth"}
    assert items[-1]["content"] == r.final_output
    again = run_sdk_sync(p, "research the topic in depth", thread_id="sdk-compose-thread")
    assert again.path == r.path


# ------------------------------------------------------------------ nested approval
def _gate(name: str = "Approval") -> Pattern:
    return human_approval(_agent("Planner", "Plan it"), _agent("Executor", "Execute it"),
                          name=name, description="Plan a release and get it approved")


APPROVAL_CASES: dict[str, tuple[Callable[[], Pattern], str]] = {
    "sequential step (built-in release_gate)": COMPOSITIONS["release_gate"],
    "three levels": (lambda: sequential([sequential([_agent("A", "Research"), _gate()],
                                                    name="Mid"), _agent("D", "Summarize")],
                                        name="Top"), "ship it"),
    "parallel branch": (lambda: parallel([_gate(), _agent("Analyst", "Analyze the data")],
                                         _agent("Synth", "Combine research"), name="Par"),
                        "ship it"),
    "supervisor worker": (lambda: supervisor(
        _agent("Supervisor", "Assign tasks, aggregate results"),
        [_gate(), _agent("Worker 2", "Analyze results")]),
        "Plan a release and get it approved, then analyze results"),
    "reflection generator": (lambda: reflection(
        _gate(), _agent("Critic", "Review content and provide feedback"), iterations=1),
        "ship it"),
    "planner and executor patterns": (lambda: human_approval(
        sequential([_agent("Scout", "Research the topic"), _agent("Planner", "Plan it")],
                   name="Planning"), research(), name="Gate"), "migrate the database"),
}


@pytest.mark.parametrize("case", sorted(APPROVAL_CASES))
def test_a_nested_approval_stops_the_whole_sdk_run_and_resumes_like_langgraph(case: str
                                                                             ) -> None:
    make, request = APPROVAL_CASES[case]
    sdk = run_sdk_sync(make(), request, thread_id=f"sdk-gate-{case}")
    assert sdk.interrupted and sdk.interruption["question"] == "Approve this plan?"
    assert sdk.interruption["patterns"][-1] in ("Approval", "Gate")
    for decision in (True, False, {"approved": True, "plan": "do X"}):
        lg, sdk = assert_same_route(make(), request, decision=decision, strict=True)
        assert not sdk.interrupted
    assert sdk.steps == lg.steps or case == "parallel branch"


def test_a_rejected_nested_plan_ends_the_whole_run_and_feedback_asks_again() -> None:
    make, request = COMPOSITIONS["release_gate"]
    lg, sdk = assert_same_route(make(), request, decision=False, strict=True)
    assert sdk.final_output == lg.final_output == "Plan rejected"
    assert "Reporter" not in sdk.path and sdk.values["stopped"]["reason"] == "rejected"
    _, sdk = assert_same_route(make(), request, decision={"feedback": "add a rollback"},
                               strict=True)
    assert sdk.interrupted and "add a rollback" in sdk.interruption["plan"]
    assert sdk.path == ["Release Researcher", "Release Planner", "Release Planner"]
    from agentpatterns.adapters.openai_agents import resume_sdk_sync

    done = resume_sdk_sync(make(), thread_id=sdk.thread_id, decision=True)
    assert done.path[-2:] == ["Release Executor", "Reporter"]
    assert done.calls["Release Planner"] == 2 and done.calls["Release Researcher"] == 1


def test_a_nested_approval_in_a_pattern_tool_resumes_on_the_sdk() -> None:
    from agentpatterns.adapters.openai_agents import resume_sdk_sync

    p = hierarchical(_agent("Boss", "Coordinate", tools=[_gate().as_tool(
        tool_name="approve_plan", tool_description="Use to plan and approve")]))
    waiting = run_sdk_sync(p, "plan and approve the release", thread_id="sdk-gate-tool")
    assert waiting.interrupted and waiting.path == ["Boss", "Planner"]
    assert waiting.interruption["patterns"] == ["hierarchical", "Approval"]
    done = resume_sdk_sync(p, thread_id="sdk-gate-tool", decision=True)
    lg_wait = Runner.run_sync(p, "plan and approve the release", thread_id="lg-gate-tool")
    assert lg_wait.interrupted
    lg = Runner.resume_sync(p, thread_id="lg-gate-tool", decision=True)
    assert done.path == lg.path == ["Boss", "Planner", "Executor"]
    assert done.final_output == lg.final_output and done.calls == lg.calls


def test_a_nested_approval_resumes_from_another_process_without_repeating_calls(
        tmp_path: object) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tests._compose_sdk_helpers import gated

    base = Path(str(tmp_path))
    log, store = base / "calls.log", f"sqlite:///{base / 'runs.db'}"
    waiting = run_sdk_sync(gated(log), "look up facts about the release",
                           thread_id="sdk-gate-proc", store=store)
    assert waiting.interrupted and waiting.path == ["Fact Finder", "Planner"]
    assert waiting.interruption["patterns"] == ["Release", "Approval"]
    out = subprocess.run([sys.executable, "-m", "tests._compose_sdk_helpers", "resume", store,
                          "sdk-gate-proc", str(log)], capture_output=True, text=True,
                         timeout=300, check=True)
    done = json.loads(out.stdout.strip().splitlines()[-1])
    assert done["path"] == ["Fact Finder", "Planner", "Executor", "Reporter"]
    assert done["tool_calls"] == ["lookup"] and not done["interrupted"]
    assert done["calls"] == {"Fact Finder": 2, "Planner": 1, "Executor": 1, "Reporter": 1}
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    starts = [(tag, pid) for event, tag, pid in lines if event == "start"]
    # every model call and the tool call happened once; the resume made only the new ones
    assert sorted(t for t, _ in starts) == ["Executor", "Fact Finder", "Fact Finder",
                                            "Planner", "Reporter"]
    assert [t for e, t, _ in lines if e == "tool"] == ["lookup"]
    assert {t for t, pid in starts if pid == str(done["pid"])} == {"Executor", "Reporter"}


def test_a_nested_memory_pattern_sees_the_users_facts_on_both_runtimes() -> None:
    from agentpatterns import memory

    def office() -> Pattern:
        expert = memory(_agent("Expert", "You are an expert that learns from past "
                                         "conversations"), name="Recall",
                        description="Answers from what it knows about the user")
        return sequential([_agent("Greeter", "Greet the user"), expert], name="Office")

    store = "memory://compose-sdk-facts"
    for user in ("u-lg", "u-sdk"):
        Runner.run_sync(memory(_agent("Expert", "You are an expert that learns from past "
                                                "conversations")),
                        "My favourite colour is teal.", configurable={"user_id": user},
                        store=store)
    lg = Runner.run_sync(office(), "What is my favourite colour?",
                         configurable={"user_id": "u-lg"}, store=store)
    sdk = run_sdk_sync(office(), "What is my favourite colour?",
                       configurable={"user_id": "u-sdk"}, store=store)
    assert lg.path == sdk.path == ["Greeter", "Expert"]
    assert "teal" in lg.final_output and "teal" in sdk.final_output
    assert office().patterns[0].description == "Answers from what it knows about the user"


def test_a_nested_networks_fallback_takes_a_hallucinated_handoff_on_both_runtimes() -> None:
    from agentpatterns.testing import ScriptedModel, handoff

    def desk() -> Pattern:
        helper = _agent("Helper", "Help with anything")
        billing = _agent("Billing", "Answer billing questions",
                         handoff_description="Billing questions")
        router = Agent(name="Router", instructions="Route users", handoffs=[billing],
                       model=ScriptedModel([handoff("Refunds Desk")]))
        return sequential([_agent("Greeter", "Greet the user"),
                           triage(router, fallback=helper, name="Desk")], name="Front")

    lg = Runner.run_sync(desk(), "I want a refund")
    sdk = run_sdk_sync(desk(), "I want a refund")
    assert lg.path == sdk.path == ["Greeter", "Router", "Helper"]
    assert lg.final_output == sdk.final_output and lg.last_agent == sdk.last_agent == "Helper"
    for r in (lg, sdk):
        assert [(e["type"], e.get("asked_for")) for e in r.events if e["type"] == "fallback"
                ] == [("fallback", "transfer_to_refunds_desk")], r.runtime
    assert [h["to"] for h in sdk.handoffs] == [h["to"] for h in lg.handoffs] == ["Helper"]


def test_a_durable_composition_cut_off_by_its_budget_is_continued_by_resume_sdk(
        tmp_path: Any) -> None:
    """On the SDK runtime a crash-durable run (a database checkpointer) of a composition
    stopped by ``max_model_calls`` is continued by ``resume_sdk`` - its completed model calls
    replayed, not made again - and the error says so; without one it says it cannot be."""
    import asyncio

    from agentpatterns import BudgetExceeded, OfflineModel
    from agentpatterns.adapters.openai_agents import resume_sdk, run_sdk_sync
    from agentpatterns.examples import example

    made: list[int] = []

    class Counting(OfflineModel):
        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            made.append(1)
            return super()._generate(messages, *args, **kwargs)

        async def _agenerate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            made.append(1)
            return await super()._agenerate(messages, *args, **kwargs)

    p, model = example("research_pipeline"), Counting()
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(BudgetExceeded) as caught:
        run_sdk_sync(p, "Compare heat pumps", max_model_calls=5, thread_id="b1",
                     checkpointer=db, model=model)
    assert "resume_sdk(" in str(caught.value) and len(made) == 5
    done = asyncio.run(resume_sdk(p, thread_id="b1", checkpointer=db, max_model_calls=20,
                                  model=model))
    assert done.path[-1] == "Editor" and sum(done.calls.values()) == 9
    assert len(made) == 9  # the five made before the stop were not made again
    with pytest.raises(BudgetExceeded) as plain:
        run_sdk_sync(p, "Compare heat pumps", max_model_calls=5, model=model)
    assert "cannot be continued" in str(plain.value)


def test_a_resumed_composition_calls_on_handoff_and_input_filter_once() -> None:
    # the SDK runtime resumes a composition's approval by replaying the run from its start:
    # the handoff's callables are answered from the journal (they were called again), as
    # the LangGraph runtime, whose finished triage step is not run again
    from collections import Counter

    from agentpatterns import handoff
    from agentpatterns.adapters.openai_agents import resume_sdk_sync

    def make(calls: Counter[str]) -> Pattern:
        def on_handoff(_ctx: Any) -> None:
            calls["on_handoff"] += 1

        def kept(data: Any) -> Any:
            calls["input_filter"] += 1
            return data

        booking = _agent("Booking Agent", "Help users book tables",
                         handoff_description="Handles all booking and table requests")
        desk = triage(_agent("Desk", "Route users to the right specialist", handoffs=[
            handoff(booking, on_handoff=on_handoff, input_filter=kept)]), name="Front Desk")
        return sequential([desk, _gate()], name="Top")

    for runtime in ("sdk", "langgraph"):
        calls: Counter[str] = Counter()
        if runtime == "sdk":
            waiting = run_sdk_sync(make(calls), "book a table for two", thread_id="cb-sdk")
            assert waiting.interrupted and calls == {"on_handoff": 1, "input_filter": 1}
            done = resume_sdk_sync(make(calls), thread_id="cb-sdk", decision=True)
        else:
            waiting = Runner.run_sync(make(calls), "book a table for two", thread_id="cb-lg")
            assert waiting.interrupted
            done = Runner.resume_sync(make(calls), thread_id="cb-lg", decision=True)
        assert not done.interrupted and "Executor" in done.path
        assert calls == {"on_handoff": 1, "input_filter": 1}, (runtime, calls)


def test_a_resumed_composition_does_not_call_the_users_hooks_again_for_replayed_calls(
        ) -> None:
    # the SDK runtime replays the run from its start: the hooks of the calls the journal
    # answers are not called again, as on LangGraph (whose finished steps do not run again)
    from collections import Counter

    from agentpatterns.adapters.openai_agents import resume_sdk_sync

    class Hooks:
        def __init__(self) -> None:
            self.calls: Counter[str] = Counter()

        def __getattr__(self, method: str) -> Any:
            if not method.startswith("on_"):
                raise AttributeError(method)

            def hook(*args: Any, **kwargs: Any) -> None:
                agent = kwargs.get("from_agent") or (args[1] if len(args) > 1 else None)
                self.calls[f"{method}:{getattr(agent, 'name', agent)}"] += 1

            return hook

    def make() -> Pattern:
        booking = _agent("Booking Agent", "Help users book tables",
                         handoff_description="Handles all booking and table requests")
        desk = triage(_agent("Desk", "Route users to the right specialist",
                             handoffs=[booking]), name="Front Desk")
        return sequential([desk, _gate()], name="Top")

    added, firsts = {}, {}
    for runtime in ("sdk", "langgraph"):
        hooks = Hooks()
        if runtime == "sdk":
            run_sdk_sync(make(), "book a table for two", thread_id="hk-sdk", hooks=hooks)
            first = Counter(hooks.calls)
            resume_sdk_sync(make(), thread_id="hk-sdk", decision=True, hooks=hooks)
        else:
            Runner.run_sync(make(), "book a table for two", thread_id="hk-lg", hooks=hooks)
            first = Counter(hooks.calls)
            Runner.resume_sync(make(), thread_id="hk-lg", decision=True, hooks=hooks)
        added[runtime] = dict(hooks.calls - first)
        firsts[runtime] = dict(first)
    # (the SDK runtime's own stand-ins - its approval gate agent - are not shown either)
    assert firsts["sdk"] == firsts["langgraph"], firsts
    assert added["sdk"] == added["langgraph"] == {
        "on_agent_start:Executor": 1, "on_llm_start:Executor": 1, "on_llm_end:Executor": 1,
        "on_agent_end:Executor": 1}, added
