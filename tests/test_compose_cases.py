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
