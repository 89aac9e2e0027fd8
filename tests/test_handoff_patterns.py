"""Triage, sequential and from_agent: routes, topology, and every PatternError case."""

from __future__ import annotations

import pytest
from langgraph.graph.state import CompiledStateGraph

from agentpatterns import Agent, PatternError, Runner, from_agent, sequential, triage
from agentpatterns.examples import example


def seed_triage():
    return example("triage")


@pytest.mark.parametrize(
    ("request_text", "specialist"),
    [
        ("I need to book a table", "Booking Agent"),
        ("troubleshoot my wifi", "Support Agent"),
    ],
)
def test_triage_routes_the_seed_requests(request_text, specialist):
    result = Runner.run_sync(seed_triage(), request_text)
    assert result.path == ["Triage Agent", specialist]
    assert result.last_agent == specialist
    assert result.final_output == f"[{specialist}] answer based on: {request_text}"
    assert result.handoffs[0]["from"] == "Triage Agent"
    assert result.handoffs[0]["to"] == specialist
    assert result.calls == {"Triage Agent": 1, specialist: 1}
    assert result.model.startswith("offline")


async def test_triage_async_matches_sync():
    result = await Runner.run(seed_triage(), "troubleshoot my wifi")
    assert result.path == ["Triage Agent", "Support Agent"]


def test_triage_without_match_goes_to_fallback_and_records_it():
    p = seed_triage()
    router = p.agent("Triage Agent")
    helpdesk = Agent(name="Helpdesk", instructions="Answer anything else")
    result = Runner.run_sync(triage(router, fallback=helpdesk), "what is the meaning of life")
    assert result.path == ["Triage Agent", "Helpdesk"]
    assert {"type": "no_route", "agent": "Triage Agent", "to": "Helpdesk"} in result.events


def _chain():
    editor = Agent(name="Editor", instructions="Edit and polish the content")
    writer = Agent(
        name="Writer",
        instructions="Write based on research, then hand off to editor",
        handoffs=[editor],
    )
    researcher = Agent(
        name="Researcher",
        instructions="Research the topic thoroughly, then hand off to writer",
        handoffs=[writer],
    )
    return researcher, writer, editor


def test_sequential_via_from_agent_runs_in_order():
    researcher, _, _ = _chain()
    result = Runner.run_sync(from_agent(researcher), "tides")
    assert result.path == ["Researcher", "Writer", "Editor"]
    assert result.final_output == (
        "[Editor] edited text based on: [Writer] draft 1 based on: "
        "[Researcher] research notes based on: tides"
    )


def test_sequential_builder_with_plain_agents_uses_sequence_edges():
    steps = [
        Agent(name="Researcher", instructions="Research the topic"),
        Agent(name="Writer", instructions="Write based on research"),
        Agent(name="Editor", instructions="Edit and polish"),
    ]
    p = sequential(steps)
    assert [(e.source, e.target) for e in p.edges if e.kind == "sequence"] == [
        ("Researcher", "Writer"),
        ("Writer", "Editor"),
    ]
    assert Runner.run_sync(p, "tides").path == ["Researcher", "Writer", "Editor"]
    assert Runner.run_sync(sequential(_chain()), "x").path == ["Researcher", "Writer", "Editor"]


def test_compiled_graph_is_langgraph_with_handoff_edges():
    graph = seed_triage().compile()
    assert isinstance(graph, CompiledStateGraph)
    drawn = graph.get_graph()
    assert {"Triage Agent", "Booking Agent", "Support Agent"} <= set(drawn.nodes)
    edges = {(e.source, e.target) for e in drawn.edges}
    assert ("Triage Agent", "Booking Agent") in edges
    assert ("Triage Agent", "Support Agent") in edges
    assert ("__start__", "Triage Agent") in edges
    assert ("Booking Agent", "__end__") in edges


def test_an_agent_is_accepted_wherever_a_pattern_is():
    router = seed_triage().agent("Triage Agent")
    assert Runner.run_sync(router, "book a table").path == ["Triage Agent", "Booking Agent"]


# --- PatternError: every case names the culprit and the fix ------------------------------


def test_duplicate_agent_names():
    a1, a2 = Agent(name="Same"), Agent(name="Same")
    with pytest.raises(PatternError, match="two different agents are named 'Same'.*rename"):
        triage(Agent(name="R", handoffs=[a1, a2]))


def test_handoff_to_agent_not_in_pattern():
    from agentpatterns.graphs.pattern import Edge, Pattern

    billing = Agent(name="Billing")
    desk = Agent(name="Front Desk", handoffs=[billing])
    with pytest.raises(
        PatternError,
        match="handoff target 'Billing' of 'Front Desk' is not an "
        "agent of this pattern; add it or remove the handoff",
    ):
        Pattern(
            kind="handoffs",
            agents=(desk,),
            entry="Front Desk",
            edges=(
                Edge(source="__start__", target="Front Desk", kind="route"),
                Edge(source="Front Desk", target="__end__", kind="route"),
            ),
        )


def test_unreachable_agent():
    from agentpatterns.graphs.pattern import Edge, Pattern

    a, lost = Agent(name="A"), Agent(name="Lost")
    with pytest.raises(PatternError, match="'Lost' is unreachable.*hand off to it"):
        Pattern(
            kind="handoffs",
            agents=(a, lost),
            entry="A",
            edges=(
                Edge(source="__start__", target="A", kind="route"),
                Edge(source="A", target="__end__", kind="route"),
                Edge(source="Lost", target="__end__", kind="route"),
            ),
        )


def test_loop_without_bound():
    from agentpatterns.graphs.pattern import Edge, Pattern

    a, b = Agent(name="A"), Agent(name="B")
    with pytest.raises(PatternError, match="loop 'B' -> 'A' has no bound"):
        Pattern(
            kind="handoffs",
            agents=(a, b),
            entry="A",
            edges=(
                Edge(source="__start__", target="A", kind="route"),
                Edge(source="A", target="B", kind="sequence"),
                Edge(source="B", target="A", kind="loop"),
                Edge(source="B", target="__end__", kind="route"),
            ),
        )


def test_dead_end():
    from agentpatterns.graphs.pattern import Edge, Pattern

    a, b = Agent(name="A"), Agent(name="B")
    with pytest.raises(PatternError, match="'B' is a dead end"):
        Pattern(
            kind="handoffs",
            agents=(a, b),
            entry="A",
            edges=(
                Edge(source="__start__", target="A", kind="route"),
                Edge(source="A", target="B", kind="handoff"),
                Edge(source="A", target="__end__", kind="route"),
            ),
        )


def test_triage_without_handoffs_and_empty_sequential():
    with pytest.raises(PatternError, match="no handoffs"):
        triage(Agent(name="R"))
    with pytest.raises(PatternError, match="no agents"):
        sequential([])
    a = Agent(name="A")
    with pytest.raises(PatternError, match="appears twice"):
        sequential([a, a])


def test_empty_input_is_refused():
    from agentpatterns import InputError

    with pytest.raises(InputError, match="empty"):
        Runner.run_sync(seed_triage(), "   ")
