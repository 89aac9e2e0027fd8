"""The seven other patterns: topology, offline behaviour, bad inputs."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentpatterns import (
    Agent,
    BranchError,
    InputError,
    OfflineModel,
    PatternError,
    ResumeError,
    RunError,
    Runner,
    dynamic,
    hierarchical,
    parallel,
    reflection,
    supervisor,
)
from agentpatterns.examples import EXAMPLES, create_specialist, example


def edges(p, kind):
    return sorted((e.source, e.target) for e in p.edges if e.kind == kind)


# --- hierarchical -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "specialist", "what"),
    [
        ("Write SQL queries to count orders per customer", "SQL Expert", "SQL query"),
        ("Write Python code to parse a CSV", "Python Expert", "Python code"),
    ],
)
def test_hierarchical_calls_the_fitting_specialist_as_a_tool(text, specialist, what):
    p = example("hierarchical")
    assert edges(p, "tool") == [("Orchestrator", "Python Expert"), ("Orchestrator", "SQL Expert")]
    result = Runner.run_sync(p, text)
    assert result.path == ["Orchestrator", specialist]
    assert result.final_output == (
        f"[Orchestrator] answer based on: [{specialist}] {what} based on: {text}"
    )
    assert result.calls == {"Orchestrator": 2, specialist: 1}


def test_hierarchical_needs_agent_tools():
    with pytest.raises(PatternError, match="no agents as tools"):
        hierarchical(Agent(name="O"))


# --- supervisor ---------------------------------------------------------------------------


def test_supervisor_assigns_both_workers_and_aggregates():
    p = example("supervisor")
    assert edges(p, "loop") == [("Worker 1", "Supervisor"), ("Worker 2", "Supervisor")]
    result = Runner.run_sync(p, "Process the sales data and analyze the results")
    assert result.path == ["Supervisor", "Worker 1", "Supervisor", "Worker 2", "Supervisor"]
    assert [a["worker"] for a in result.values["assignments"]] == ["Worker 1", "Worker 2"]
    assert [r["worker"] for r in result.values["reports"]] == ["Worker 1", "Worker 2"]
    assert result.final_output.startswith("[Supervisor] summary based on: [Worker 1]")
    assert "[Worker 2] analysis" in result.final_output


def test_supervisor_is_bounded_by_max_rounds():
    w1 = Agent(name="Worker 1", instructions="Process data")
    w2 = Agent(name="Worker 2", instructions="Analyze results")
    boss = Agent(name="Supervisor", instructions="Aggregate results")
    result = Runner.run_sync(
        supervisor(boss, [w1, w2], max_rounds=1), "Process the data and analyze the results"
    )
    assert result.path == ["Supervisor", "Worker 1", "Supervisor"]
    assert result.events[-1]["type"] == "max_rounds"


def test_supervisor_bad_inputs():
    boss = Agent(name="Boss")
    with pytest.raises(PatternError, match="at least one worker"):
        supervisor(boss, [])
    with pytest.raises(PatternError, match="max_rounds"):
        supervisor(boss, [Agent(name="W")], max_rounds=0)


# --- reflection ---------------------------------------------------------------------------


def test_reflection_is_a_bounded_cycle_keeping_every_draft():
    gen = Agent(name="Generator", instructions="Generate content")
    critic = Agent(name="Critic", instructions="Review content and provide feedback")
    p = reflection(gen, critic, iterations=2)
    assert edges(p, "loop") == [("Critic", "Generator")]
    assert [e.bound for e in p.edges if e.kind == "loop"] == [2]
    graph_edges = {(e.source, e.target) for e in p.compile().get_graph().edges}
    assert {("Generator", "Critic"), ("Critic", "Generator")} <= graph_edges
    result = Runner.run_sync(p, "a haiku")
    assert result.path == ["Generator", "Critic", "Generator", "Critic"]
    assert len(result.values["drafts"]) == 2 and len(result.values["critiques"]) == 2
    assert result.final_output == result.values["drafts"][-1]
    assert result.final_output.startswith("[Generator] draft 2 based on: feedback [Critic]")
    assert result.model_calls == 4


def test_reflection_stop_when_ends_early():
    result = Runner.run_sync(
        example("reflection").agents[0]
        and reflection(
            Agent(name="G", instructions="Generate content"),
            Agent(name="C", instructions="Review content"),
            iterations=10,
            stop_when=lambda fb: "APPROVED" in fb,
        ),
        "a poem",
    )
    assert len(result.values["drafts"]) == 3
    assert result.values["critiques"][-1] == "[C] APPROVED: draft 3 is ready."
    assert result.events[-1]["type"] == "stop_when"


def test_reflection_bad_inputs():
    g, c = Agent(name="G"), Agent(name="C")
    with pytest.raises(PatternError, match="iterations=0"):
        reflection(g, c, iterations=0)
    with pytest.raises(PatternError, match="stop_when"):
        reflection(g, c, stop_when="yes")  # type: ignore[arg-type]
    with pytest.raises(PatternError, match="two different agents"):
        reflection(g, g)


# --- parallel -----------------------------------------------------------------------------


def test_parallel_fans_out_joins_and_synthesizes():
    p = example("parallel")
    assert len(edges(p, "fanout")) == 3 and len(edges(p, "join")) == 3
    result = Runner.run_sync(p, "Renewable energy storage")
    assert sorted(result.path[:3]) == ["Researcher 1", "Researcher 2", "Researcher 3"]
    assert result.path[3] == "Synthesizer"
    for i in (1, 2, 3):
        assert f"[Researcher {i}] research notes" in result.final_output
    assert result.final_output.startswith("[Synthesizer] synthesis based on: Synthesize: ")


def test_parallel_branches_overlap_in_time():
    k, latency = 8, 0.2
    agents = [Agent(name=f"R{i}", instructions="Research") for i in range(k)]
    p = parallel(agents, Agent(name="S", instructions="Combine"))
    start = time.perf_counter()
    asyncio.run(Runner.run(p, "x", model=OfflineModel(latency=latency)))
    elapsed = time.perf_counter() - start
    # K branches take about one latency (plus the synthesizer's), not K latencies
    assert elapsed < 4 * latency, elapsed


class Boom(Exception):
    pass


def _failing_agent(name):
    from agentpatterns import function_tool

    @function_tool
    def explode(query: str) -> str:
        """Research by exploding."""
        raise Boom("kaboom")

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    class Broken(GenericFakeChatModel):
        def bind_tools(self, tools, **kw):
            return self

        def _generate(self, *a, **kw):
            raise Boom("model down")

        async def _agenerate(self, *a, **kw):
            raise Boom("model down")

    return Agent(name=name, instructions="Research", model=Broken(messages=iter([])))


def test_parallel_failing_branch_fails_the_run_naming_it():
    p = parallel(
        [Agent(name="Ok", instructions="Research"), _failing_agent("Flaky")],
        Agent(name="S", instructions="Combine"),
    )
    with pytest.raises(BranchError, match="branch 'Flaky' failed.*on_branch_error='continue'"):
        Runner.run_sync(p, "x")


def test_parallel_continue_records_the_failure_and_synthesizes_the_rest():
    p = parallel(
        [Agent(name="Ok", instructions="Research"), _failing_agent("Flaky")],
        Agent(name="S", instructions="Combine"),
        on_branch_error="continue",
    )
    result = Runner.run_sync(p, "x")
    assert result.values["branches"]["Flaky"]["status"] == "error"
    assert "model down" in result.values["branches"]["Flaky"]["error"]
    assert (
        result.final_output == "[S] synthesis based on: Synthesize: [Ok] research notes based on: x"
    )


def test_parallel_bad_inputs():
    with pytest.raises(PatternError, match="at least one branch"):
        parallel([], Agent(name="S"))
    with pytest.raises(PatternError, match="on_branch_error"):
        parallel([Agent(name="A")], Agent(name="S"), on_branch_error="ignore")  # type: ignore


# --- dynamic ------------------------------------------------------------------------------


def test_dynamic_creates_specialists_and_stores_their_specs():
    p = example("dynamic")
    assert [n.kind for n in p.nodes if n.id == "specialists"] == ["dynamic"]
    result = Runner.run_sync(p, "I need advice on tax law and accounting")
    assert result.path == ["Analyzer", "Tax Law Specialist", "Accounting Specialist"]
    assert result.values["domains"] == ["tax law", "accounting"]
    specs = result.values["specialists"]
    assert [s["name"] for s in specs] == ["Tax Law Specialist", "Accounting Specialist"]
    assert specs[0]["instructions"] == "You are an expert in tax law"
    assert "[Tax Law Specialist]" in result.final_output
    assert "[Accounting Specialist]" in result.final_output


def test_dynamic_caps_specialists_and_records_it():
    analyzer = Agent(name="Analyzer", instructions="Determine required expertise")
    result = Runner.run_sync(
        dynamic(analyzer, create_specialist, max_specialists=1),
        "I need advice on tax law and accounting",
    )
    assert result.path == ["Analyzer", "Tax Law Specialist"]
    assert {
        "type": "capped",
        "agent": "Analyzer",
        "max_specialists": 1,
        "dropped": ["accounting"],
    } in result.events


def test_dynamic_bad_inputs():
    analyzer = Agent(name="Analyzer", instructions="Determine required expertise")
    with pytest.raises(PatternError, match="max_specialists=0"):
        dynamic(analyzer, create_specialist, max_specialists=0)

    def raises(domain):
        raise ValueError("no such domain")

    with pytest.raises(RunError, match=r"make_specialist\('tax law'\) raised ValueError"):
        Runner.run_sync(dynamic(analyzer, raises), "advice on tax law and accounting")
    with pytest.raises(RunError, match="name already taken"):
        Runner.run_sync(
            dynamic(analyzer, lambda d: Agent(name="Same")), "advice on tax law and accounting"
        )


def test_dynamic_specs_survive_in_the_checkpoint_for_a_fork(tmp_path):
    url = f"sqlite:///{tmp_path / 'dyn.db'}"
    p = example("dynamic")
    Runner.run_sync(p, "I need advice on tax law and accounting", thread_id="d1", checkpointer=url)
    graph = p.compile(checkpointer=url)
    history = list(graph.get_state_history({"configurable": {"thread_id": "d1"}}))
    # the checkpoint right after the analyzer: specialists created, none run yet
    after_analyzer = next(
        s
        for s in history
        if s.next and s.values.get("specialists") and not s.values.get("branches")
    )
    assert [s["name"] for s in after_analyzer.values["specialists"]] == [
        "Tax Law Specialist",
        "Accounting Specialist",
    ]


# --- memory -------------------------------------------------------------------------------


def test_memory_session_remembers_and_another_session_does_not(tmp_path):
    from agentpatterns import SQLiteSession

    p = example("memory")
    db = tmp_path / "memory.db"
    Runner.run_sync(p, "My favourite colour is teal.", session=SQLiteSession("alice", db))
    again = Runner.run_sync(p, "What is my favourite colour?", session=SQLiteSession("alice", db))
    other = Runner.run_sync(p, "What is my favourite colour?", session=SQLiteSession("bob", db))
    assert "teal" in again.final_output
    assert "teal" not in other.final_output


def test_memory_long_term_facts_cross_sessions_for_the_same_user(tmp_path):
    from agentpatterns import SQLiteSession

    p = example("memory")
    db = tmp_path / "memory.db"
    Runner.run_sync(p, "My favourite colour is teal.", session=SQLiteSession("s1", db, "u1"))
    later = Runner.run_sync(
        p, "What is my favourite colour?", session=SQLiteSession("s2", db, "u1")
    )
    stranger = Runner.run_sync(
        p, "What is my favourite colour?", session=SQLiteSession("s3", db, "u2")
    )
    assert "teal" in later.final_output
    assert "teal" not in stranger.final_output


# --- human approval -----------------------------------------------------------------------


def test_human_approval_interrupts_then_approve_runs_executor():
    p = example("human_approval")
    first = Runner.run_sync(p, "migrate the db", thread_id="ha-approve")
    assert first.interrupted and first.path == ["Planner"]
    assert first.interruption["plan"] == "[Planner] plan based on: migrate the db"
    done = Runner.resume_sync(p, thread_id="ha-approve", decision=True)
    assert not done.interrupted
    assert done.path == ["Planner", "Executor"]
    assert done.final_output == (
        "[Executor] execution report based on: [Planner] plan based on: migrate the db"
    )


def test_human_approval_reject_never_runs_the_executor():
    p = example("human_approval")
    Runner.run_sync(p, "delete everything", thread_id="ha-reject")
    result = Runner.resume_sync(p, thread_id="ha-reject", decision=False)
    assert result.final_output == "Plan rejected"
    assert "Executor" not in result.path and "Executor" not in result.calls


def test_human_approval_feedback_replans_and_edited_plan_runs():
    p = example("human_approval")
    Runner.run_sync(p, "migrate the db", thread_id="ha-fb")
    again = Runner.resume_sync(p, thread_id="ha-fb", decision={"feedback": "add a backup step"})
    assert again.interrupted and again.path == ["Planner", "Planner"]
    done = Runner.resume_sync(
        p, thread_id="ha-fb", decision={"approved": True, "plan": "1. back up 2. migrate"}
    )
    assert done.final_output == "[Executor] execution report based on: 1. back up 2. migrate"


def test_human_approval_bad_resumes_leave_state_untouched():
    p = example("human_approval")
    Runner.run_sync(p, "migrate the db", thread_id="ha-bad")
    graph = p.compile(checkpointer="memory")
    config = {"configurable": {"thread_id": "ha-bad"}}
    before = graph.get_state(config).config["configurable"]["checkpoint_id"]
    with pytest.raises(InputError, match="not understood"):
        Runner.resume_sync(p, thread_id="ha-bad", decision="yes please")
    with pytest.raises(ResumeError, match="waiting for a decision"):
        Runner.resume_sync(p, thread_id="ha-bad")
    assert graph.get_state(config).config["configurable"]["checkpoint_id"] == before
    Runner.resume_sync(p, thread_id="ha-bad", decision=True)
    with pytest.raises(ResumeError, match="already finished"):
        Runner.resume_sync(p, thread_id="ha-bad", decision=True)
    with pytest.raises(ResumeError, match="no run"):
        Runner.resume_sync(p, thread_id="never-ran", decision=True)


def test_every_builtin_runs_offline_on_both_drivers():
    for name, (builder, sample) in EXAMPLES.items():
        sync = Runner.run_sync(builder(), sample)
        asynchronous = asyncio.run(Runner.run(builder(), sample))
        assert sync.path and sync.model.startswith("offline"), name
        assert sorted(sync.path) == sorted(asynchronous.path), name
        assert sync.final_output == asynchronous.final_output, name
