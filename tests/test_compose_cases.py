"""Compositions as new users build them, beyond the one-role-at-a-time cases of
tests/test_compose.py: same-named patterns, patterns as tools of any builder's agents,
parallel sections deep in a tree, on both runtimes."""

from __future__ import annotations

import pytest

from agentpatterns import PatternError, Runner, sequential
from tests.test_compose import _agent


# ------------------------------------------------------------------ names
def test_nested_pattern_names_are_unique_across_the_whole_tree() -> None:
    # cousins named alike were merged into one cluster by to_networkx/to_mermaid
    def cousin(agent: str, parent: str) -> object:
        return sequential([sequential([_agent(agent, "Research")], name="X")], name=parent)

    with pytest.raises(PatternError, match=r"two nested patterns are named 'X' in pattern "
                                           r"'Top' \(in 'P' and in 'Q'\)"):
        sequential([cousin("a", "P"), cousin("b", "Q")], name="Top")
    # a default name clashing says so, instead of only "contains itself"
    with pytest.raises(PatternError, match="'sequential' is the default name of a sequential"):
        sequential([sequential([_agent("a", "Research"), _agent("b", "Write")]),
                    _agent("c", "Edit")])
    ok = sequential([sequential([_agent("a", "Research"), _agent("b", "Write")], name="Draft"),
                     _agent("c", "Edit")])
    assert Runner.run_sync(ok, "tides").path == ["a", "b", "c"]


# ------------------------------------------------------------------ parity, parallel deep
def _four_levels() -> object:
    from agentpatterns import parallel, reflection

    l4 = sequential([_agent("A", "Research the topic"), _agent("B", "Write it")], name="L4")
    l3 = reflection(l4, _agent("C", "Review content and provide feedback"), iterations=2,
                    name="L3")
    l2 = parallel([l3, _agent("D", "Analyze the data")], _agent("E", "Combine research"),
                  name="L2")
    return sequential([l2, _agent("F", "Summarize")], name="L1")


def test_four_levels_with_a_parallel_inside_agree_on_both_runtimes() -> None:
    from agentpatterns.testing import assert_same_route

    lg, sdk = assert_same_route(_four_levels(), "tides", strict=True)
    # each branch in its own order; the parallel section ends with its synthesizer
    for r in (lg, sdk):
        branch = [s.agent for s in r.steps if s.patterns[:3] == ("L1", "L2", "L3")]
        assert branch == ["A", "B", "C", "A", "B", "C"], r.runtime
        assert r.path[-2:] == ["E", "F"] and sorted(r.path) == sorted(
            ["A", "B", "C", "A", "B", "C", "D", "E", "F"])
        assert r.steps[r.path.index("A")].patterns == ("L1", "L2", "L3", "L4")
    assert _four_levels().check().max_model_calls == lg.model_calls == 9


def test_parity_still_sees_a_branch_that_went_another_way() -> None:
    from agentpatterns.testing import _canonical

    scopes = {("L1", "L2"): "E"}
    ran = [("D", ("L1", "L2")), ("A", ("L1", "L2", "L3")), ("C", ("L1", "L2", "L3")),
           ("E", ("L1", "L2")), ("F", ("L1",))]
    other = [("A", ("L1", "L2", "L3")), ("D", ("L1", "L2")), ("C", ("L1", "L2", "L3")),
             ("E", ("L1", "L2")), ("F", ("L1",))]
    assert _canonical(ran, scopes) == _canonical(other, scopes)
    swapped = [("C", ("L1", "L2", "L3")), ("A", ("L1", "L2", "L3")), ("D", ("L1", "L2")),
               ("E", ("L1", "L2")), ("F", ("L1",))]
    assert _canonical(ran, scopes) != _canonical(swapped, scopes)  # a branch's own order


# ------------------------------------------------------------------ patterns as tools, any builder
def _tooled(name: str, instructions: str) -> object:
    from tests.test_compose import research

    return _agent(name, instructions, tools=[research(prefix=f"{name} ").as_tool(
        tool_name="research", tool_description="Use to research a topic")])


def _with_tool_user(role: str) -> object:
    from agentpatterns import dynamic, human_approval, memory, parallel, reflection, supervisor

    if role == "supervisor worker":
        return supervisor(_agent("Boss", "Assign tasks, aggregate results"),
                          [_tooled("Worker 1", "Research"), _agent("Worker 2", "Analyze")])
    if role == "parallel branch":
        return parallel([_tooled("Scout", "Research"), _agent("Analyst", "Analyze the data")],
                        _agent("Synth", "Combine research"), name="Par")
    if role == "reflection generator":
        return reflection(_tooled("Writer", "Write the article"),
                          _agent("Critic", "Review content and provide feedback"),
                          iterations=1)
    if role == "approval executor":
        return human_approval(_agent("Planner", "Plan it"), _tooled("Executor", "Research"))
    if role == "memory agent":
        return memory(_tooled("Expert", "Research"))
    assert role == "dynamic analyzer"
    return dynamic(_tooled("Analyzer", "Research"), lambda d: _agent(f"{d} Expert", "Advise"))


TOOL_ROLES = ["supervisor worker", "parallel branch", "reflection generator",
              "approval executor", "memory agent", "dynamic analyzer"]


@pytest.mark.parametrize("role", TOOL_ROLES)
def test_a_pattern_used_as_a_tool_by_any_builders_agent_is_nested(role: str) -> None:
    from agentpatterns.adapters.networkx import to_networkx
    from agentpatterns.testing import assert_same_route

    p = _with_tool_user(role)
    (nested,) = [c for c in p.patterns if c.kind == "parallel" and c.name == "Research"]
    assert nested.name == "Research"
    assert to_networkx(p).graph["clusters"]["Research"]["parent"] == p.name
    request = "research the topic of tides"
    lg, _ = assert_same_route(p, request, strict=True,
                              **({"decision": True} if role == "approval executor" else {}))
    inside = [s for s in lg.steps if s.agent.endswith("Synthesizer")]
    # (the offline model's analyzer names domains, it calls no tool)
    assert inside or role == "dynamic analyzer"
    assert all(s.patterns == (p.name, "Research") for s in inside), lg.steps
    # its names count for the composition's unique-name rule too
    with pytest.raises(PatternError, match="named 'Research'"):
        sequential([p, sequential([_agent("Other", "x")], name="Research")], name="Top")


# ------------------------------------------------------------------ waiting inside a pattern tool
def _in_process(verb: str, runtime: str, store: str, thread: str, log: object,
                depth: int) -> dict[str, object]:
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "tests._compose_tool_gate", verb, runtime,
                          store, thread, str(log), str(depth)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
def test_an_approval_inside_a_pattern_tool_waits_shows_its_turns_and_resumes_elsewhere(
        tmp_path: object, runtime: str, depth: int) -> None:
    """The waiting result lists the caller's turn and the tool pattern's finished turns
    (LangGraph showed none), and the resume in another process makes no model call twice
    (LangGraph re-made the tool pattern's finished calls)."""
    from pathlib import Path

    from tests._compose_tool_gate import tool_gate

    base = Path(str(tmp_path))
    log = base / "calls.log"
    store = f"sqlite:///{base / 'runs.db'}"
    scouts = [f"Scout {n}" for n in range(depth - 1, 0, -1)]
    waiting = _in_process("run", runtime, store, "t", log, depth)
    assert waiting["interrupted"]
    assert waiting["path"] == ["First", "Boss", *scouts, "Planner"], waiting
    assert waiting["calls"] == {"First": 1, "Boss": 1, **dict.fromkeys(scouts, 1), "Planner": 1}
    inner = ["Top", "Desk", *[f"Level {n}" for n in range(depth - 1, 0, -1)]]
    assert waiting["where"] == [*inner, "Approval"]
    assert waiting["steps"][-1] == ["Planner", [*inner, "Approval"]]
    done = _in_process("resume", runtime, store, "t", log, depth)
    assert done["path"] == ["First", "Boss", *scouts, "Planner", "Executor", "Last"], done
    assert done["calls"] == {"First": 1, "Boss": 2, **dict.fromkeys(scouts, 1), "Planner": 1,
                             "Executor": 1, "Last": 1}
    made = [line.split("\t")[1:] for line in log.read_text().splitlines()
            if line.startswith("start")]
    assert sorted(t for t, _ in made) == sorted(["First", "Boss", "Boss", *scouts, "Planner",
                                                 "Executor", "Last"])
    assert {t for t, pid in made if pid == str(done["pid"])} == {"Boss", "Executor", "Last"}
    assert tool_gate(log, depth).check().ok


def test_a_turn_waiting_on_a_tool_approval_is_in_the_waiting_path_on_both_runtimes() -> None:
    from agentpatterns import Agent, function_tool
    from agentpatterns.adapters.openai_agents import run_sdk_sync
    from agentpatterns.testing import ScriptedModel, text, tool_call

    @function_tool(needs_approval=True)
    def refund(order: str) -> str:
        """Refund an order."""
        return f"refunded {order}"

    p = sequential([_agent("Greeter", "Greet"),
                    Agent(name="Clerk", instructions="Refund orders", tools=[refund])],
                   name="Desk")
    for run in (Runner.run_sync, run_sdk_sync):
        model = ScriptedModel([text("hi"), tool_call("refund", order="42"), text("done")])
        waiting = run(p, "refund order 42", model=model, thread_id=f"wait-{run.__name__}")
        assert waiting.interrupted and waiting.path == ["Greeter", "Clerk"], run.__name__
        assert waiting.calls == {"Greeter": 1, "Clerk": 1}, run.__name__


# ------------------------------------------------------------------ budget across the tree
def _tool_user() -> object:
    from agentpatterns import hierarchical
    from tests.test_compose import research

    return hierarchical(_agent("Boss", "Coordinate", tools=[research().as_tool(
        tool_name="research", tool_description="Use to research a topic")]))


@pytest.mark.parametrize("make, ask, total", [
    (_four_levels, "tides", 9), (_tool_user, "research the topic of tides", 5)],
    ids=["four levels", "pattern as a tool"])
def test_max_model_calls_stops_exactly_at_the_bound_inside_nested_patterns(
        make: object, ask: str, total: int) -> None:
    from agentpatterns import BudgetExceeded
    from agentpatterns.adapters.openai_agents import run_sdk_sync

    for n in range(1, total):
        for run in (Runner.run_sync, run_sdk_sync):
            with pytest.raises(BudgetExceeded) as cut:
                run(make(), ask, max_model_calls=n)  # type: ignore[operator]
            # the cut-off result shows every call made, the half-done turn's too
            assert cut.value.result.model_calls == n, (run.__name__, n)
            assert len(cut.value.result.path) == n, (run.__name__, n, cut.value.result.path)
    for run in (Runner.run_sync, run_sdk_sync):
        assert run(make(), ask,  # type: ignore[operator]
                   max_model_calls=total).model_calls == total


# ------------------------------------------------------------------ check() vs what a run reaches
def test_check_bounds_dynamic_specialists_by_what_the_factory_builds() -> None:
    from agentpatterns import Agent, dynamic, supervisor
    from tests.test_compose_sdk import _team

    experts = dynamic(_agent("Analyzer", "Determine required expertise"), _team,
                      name="Experts", description="Finds experts on tax law and accounting")
    # each specialist is a 2-agent team: 1 + 5 x 2 (check() said 6, a run made 11)
    assert experts.check().max_model_calls == 11
    r = Runner.run_sync(experts, "I need advice on tax law, accounting, marketing, legal "
                                 "and finance")
    assert r.model_calls == 11 and len(r.values["specialists"]) == 5
    boss = supervisor(_agent("Boss", "Assign tasks, aggregate results"),
                      [experts, _agent("Worker 2", "Analyze results")])
    reached = Runner.run_sync(boss, "I need advice on tax law and accounting, then analyze")
    assert reached.model_calls <= boss.check().max_model_calls == 5 + 4 * 11

    def known(domain: str) -> Agent:
        return {"tax": _agent("Tax Adviser", "Advise")}[domain]

    unknown = dynamic(_agent("Analyzer", "Determine required expertise"), known)
    a = unknown.check()
    assert a.max_model_calls is None
    assert any("make_specialist('specialist') raised KeyError" in w for w in a.warnings)


# ------------------------------------------------------------------ streamed events
@pytest.mark.parametrize("make, ask", [(_four_levels, "tides"),
                                       (_tool_user, "research the topic of tides")],
                         ids=["four levels", "pattern as a tool"])
def test_streamed_events_name_the_nested_pattern_path_on_both_runtimes(make: object,
                                                                       ask: str) -> None:
    import asyncio

    from agentpatterns.adapters.openai_agents import run_sdk_streamed

    async def started(stream: object) -> list[tuple[str, tuple[str, ...]]]:
        return [(e.agent, e.patterns) async for e in stream  # type: ignore[attr-defined]
                if e.type == "agent_started"]

    lg = asyncio.run(started(Runner.run_streamed(make(), ask)))  # type: ignore[operator]
    sdk = asyncio.run(started(run_sdk_streamed(make(), ask)))  # type: ignore[operator]
    steps = Runner.run_sync(make(), ask).steps  # type: ignore[operator]
    # what each turn's step says, below the top pattern (a tool pattern named, not its caller)
    assert sorted(lg) == sorted(sdk) == sorted((s.agent, s.patterns[1:]) for s in steps)


@pytest.mark.parametrize("nested", [False, True], ids=["dynamic at the top", "dynamic nested"])
def test_an_approval_in_a_pattern_a_dynamic_factory_made_says_where_it_waits(
        nested: bool) -> None:
    from agentpatterns import Agent, dynamic, human_approval

    def team(domain: str) -> object:
        d = domain.title()
        gate = human_approval(_agent(f"{d} Planner", "Plan"), _agent(f"{d} Executor", "Execute"),
                              name=f"{d} Gate")
        return sequential([_agent(f"{d} Scout", "Research"), gate], name=f"{d} Team")

    experts = dynamic(Agent(name="Analyzer", instructions="Determine required expertise"),
                      team, name="Experts")
    p = sequential([_agent("Greeter", "Greet"), experts], name="Top") if nested else experts
    thread = f"made-gate-{nested}"
    waiting = Runner.run_sync(p, "I need advice on tax law", thread_id=thread)
    assert waiting.interrupted and waiting.interruption["pattern"] == "Tax Law Gate"
    where = ["Experts", "Tax Law Team", "Tax Law Gate"]
    assert waiting.interruption["patterns"] == (["Top", *where] if nested else where)
    done = Runner.resume_sync(p, thread_id=thread, decision=True)
    assert done.path[-3:] == ["Tax Law Scout", "Tax Law Planner", "Tax Law Executor"]
