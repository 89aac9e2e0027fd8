"""Topology: networkx views, static analysis, drawings (Mermaid, SVG, PNG), run overlays, CLI."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver

from agentpatterns import (
    Agent,
    Edge,
    InputError,
    Pattern,
    PatternError,
    Runner,
    from_agent,
    function_tool,
    parallel,
    reflection,
    supervisor,
    triage,
)
from agentpatterns.adapters import render
from agentpatterns.adapters.networkx import (
    Analysis,
    Drawing,
    analyze,
    draw,
    run_path,
    show,
    to_networkx,
    turn_calls,
    view_differences,
)
from agentpatterns.cli import main
from agentpatterns.examples import COMPOSITIONS, EXAMPLES, example
from agentpatterns.graphs.dynamic import dynamic
from agentpatterns.graphs.human_approval import human_approval
from agentpatterns.graphs.pattern import END_ID, START_ID
from agentpatterns.nodes.runtime import DEFAULT_MAX_TURNS

NAMES = list(EXAMPLES)
ENGINES = [
    "python",
    pytest.param(
        "dot",
        marks=pytest.mark.skipif(not render.has_dot(), reason="Graphviz dot is not installed"),
    ),
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# --------------------------------------------------------------------------- exact edge sets

EDGES: dict[str, set[tuple[str, str, str]]] = {
    "triage": {
        (START_ID, "Triage Agent", "route"),
        ("Triage Agent", "Booking Agent", "handoff"),
        ("Triage Agent", "Support Agent", "handoff"),
        ("Triage Agent", END_ID, "route"),
        ("Booking Agent", END_ID, "route"),
        ("Support Agent", END_ID, "route"),
    },
    "sequential": {
        (START_ID, "Researcher", "route"),
        ("Researcher", "Writer", "handoff"),
        ("Writer", "Editor", "handoff"),
        ("Researcher", END_ID, "route"),
        ("Writer", END_ID, "route"),
        ("Editor", END_ID, "route"),
    },
    "hierarchical": {
        (START_ID, "Orchestrator", "route"),
        ("Orchestrator", "SQL Expert", "tool"),
        ("Orchestrator", "Python Expert", "tool"),
        ("Orchestrator", END_ID, "route"),
    },
    "supervisor": {
        (START_ID, "Supervisor", "route"),
        ("Supervisor", "Worker 1", "route"),
        ("Supervisor", "Worker 2", "route"),
        ("Worker 1", "Supervisor", "loop"),
        ("Worker 2", "Supervisor", "loop"),
        ("Supervisor", END_ID, "route"),
    },
    "reflection": {
        (START_ID, "Generator", "route"),
        ("Generator", "Critic", "sequence"),
        ("Critic", "Generator", "loop"),
        ("Critic", END_ID, "route"),
    },
    "parallel": {
        (START_ID, "Researcher 1", "fanout"),
        (START_ID, "Researcher 2", "fanout"),
        (START_ID, "Researcher 3", "fanout"),
        ("Researcher 1", "join", "join"),
        ("Researcher 2", "join", "join"),
        ("Researcher 3", "join", "join"),
        ("join", "Synthesizer", "sequence"),
        ("Synthesizer", END_ID, "route"),
    },
    "dynamic": {
        (START_ID, "Analyzer", "route"),
        ("Analyzer", "specialists", "fanout"),
        ("Analyzer", END_ID, "route"),
        ("specialists", "combine", "join"),
        ("combine", END_ID, "route"),
    },
    "memory": {
        (START_ID, "Expert", "route"),
        ("Expert", END_ID, "route"),
    },
    "human_approval": {
        (START_ID, "Planner", "route"),
        ("Planner", "approval", "interrupt"),
        ("approval", "Executor", "route"),
        ("approval", "Planner", "loop"),
        ("approval", END_ID, "route"),
        ("Executor", END_ID, "route"),
    },
}

# nodes that are not agents (start and end aside)
STRUCTURAL: dict[str, dict[str, str]] = {
    "parallel": {"join": "join"},
    "dynamic": {"specialists": "dynamic", "combine": "join"},
    "human_approval": {"approval": "interrupt"},
}


def _agents(name: str) -> list[str]:
    return [a.name for a in example(name).agents]


@pytest.mark.parametrize("name", NAMES)
def test_pattern_view_has_exact_node_and_edge_kinds(name: str) -> None:
    g = to_networkx(example(name))
    assert isinstance(g, nx.DiGraph) and g.graph["view"] == "pattern"
    assert {(u, v, k) for u, v, k in g.edges(data="kind")} == EDGES[name]
    expected = {
        START_ID: "start",
        END_ID: "end",
        **dict.fromkeys(_agents(name), "agent"),
        **STRUCTURAL.get(name, {}),
    }
    assert dict(g.nodes(data="kind")) == expected
    assert all(g.nodes[n]["label"] for n in g)


def test_loop_edges_carry_their_bound_and_label() -> None:
    g = to_networkx(
        reflection(
            Agent(name="G", instructions="g"), Agent(name="C", instructions="c"), iterations=4
        )
    )
    assert g.edges["C", "G"]["bound"] == 4
    assert "4" in g.edges["C", "G"]["label"]
    g = to_networkx(example("human_approval"))
    assert g.edges["approval", "Planner"]["bound"] == 3
    assert g.edges["approval", "Executor"]["label"] == "approved"


def test_two_declarations_of_one_pair_are_merged_keeping_both_kinds() -> None:
    fallback = Agent(name="Fallback", instructions="anything")
    router = Agent(name="Router", instructions="route", handoffs=[fallback])
    g = to_networkx(triage(router, fallback=fallback))
    edge = g.edges["Router", "Fallback"]
    assert edge["kinds"] == ("handoff", "route") and edge["kind"] == "handoff"
    assert edge["label"] == "fallback"


# --------------------------------------------------------------------------- views agree


@function_tool
def get_weather(city: str) -> str:
    """Weather for a city.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


def _tooled_network() -> Pattern:
    """A handoff network with function tools, nested agents-as-tools and a fallback."""
    inner = Agent(name="Inner", instructions="inner work", tools=[get_weather])
    middle = Agent(
        name="Middle",
        instructions="middle work",
        tools=[inner.as_tool(tool_name="inner", tool_description="inner")],
    )
    fallback = Agent(name="Fallback", instructions="anything")
    spec = Agent(
        name="Spec",
        instructions="spec",
        handoff_description="weather specialist",
        tools=[get_weather],
    )
    router = Agent(
        name="Router",
        instructions="route",
        handoffs=[spec, fallback],
        tools=[middle.as_tool(tool_name="middle", tool_description="middle")],
    )
    return triage(router, fallback=fallback)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_view_agrees_with_pattern_view(name: str) -> None:
    p = example(name)
    compiled = p.compile()
    assert view_differences(p, compiled) == []
    c, g = to_networkx(compiled), to_networkx(p)
    assert c.graph["view"] == "compiled"
    assert set(c.nodes) == set(g.nodes)
    assert set(c.edges) == set(g.edges)
    assert dict(c.nodes(data="kind")) == dict(g.nodes(data="kind"))
    # compiled kinds are coarser: conditional -> route, plain edge -> sequence, inner -> tool
    assert {k for _, _, k in c.edges(data="kind")} <= {"route", "sequence", "tool"}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_a_compositions_compiled_view_is_drawn_and_agrees(name: str) -> None:
    # release_gate's nested approval once declared END twice (a Command destination and its
    # guarded step's branch): LangGraph's get_graph() then raised TypeError while sorting
    p = COMPOSITIONS[name][0]()
    compiled = p.compile()
    assert view_differences(p, compiled) == []
    assert render.render_svg(to_networkx(compiled), engine="python").startswith(b"<?xml")


def test_compiled_view_folds_in_function_tools_and_nested_agent_tools() -> None:
    p = _tooled_network()
    compiled = p.compile()
    langgraph_nodes = set(compiled.get_graph().nodes)
    assert "Middle" not in langgraph_nodes and "Inner" not in langgraph_nodes
    c = to_networkx(compiled)
    assert {(u, v) for u, v, k in c.edges(data="kind") if k == "tool"} == {
        ("Router", "Middle"),
        ("Middle", "Inner"),
        ("Inner", "Inner:get_weather"),
        ("Spec", "Spec:get_weather"),
    }
    assert c.nodes["Inner:get_weather"]["kind"] == "tool"
    assert c.nodes["Middle"]["kind"] == "agent"
    assert view_differences(p, compiled) == []


def test_view_differences_reports_a_real_mismatch() -> None:
    diff = view_differences(example("triage"), example("sequential").compile())
    assert "node 'Triage Agent' only in the pattern view" in diff
    assert "edge 'Researcher' -> 'Writer' only in the compiled view" in diff


# --------------------------------------------------------------------------- analysis


@pytest.mark.parametrize(
    ("name", "calls"),
    [
        ("triage", 2),
        ("sequential", 3),
        ("hierarchical", DEFAULT_MAX_TURNS * 3),
        ("supervisor", 9),
        ("reflection", 6),
        ("parallel", 4),
        ("dynamic", 6),
        ("memory", 1),
        ("human_approval", 5),
    ],
)
def test_call_bound_of_each_example(name: str, calls: int) -> None:
    a = example(name).check()
    assert isinstance(a, Analysis) and a.ok
    assert a.max_model_calls == calls
    assert (a.unreachable, a.dead_ends, a.warnings) == ((), (), ())


@pytest.mark.parametrize("iterations", [1, 2, 3, 5])
def test_reflection_bound_is_two_per_iteration_and_is_reached(iterations: int) -> None:
    p = reflection(
        Agent(name="Generator", instructions="Generate content"),
        Agent(name="Critic", instructions="Review content and provide feedback"),
        iterations=iterations,
    )
    a = analyze(p)
    assert a.max_model_calls == 2 * iterations
    assert [(c.nodes, c.bound) for c in a.cycles] == [(("Generator", "Critic"), iterations)]
    # without stop_when the loop runs out its bound: the bound is tight
    assert Runner.run_sync(p, "a haiku").model_calls == 2 * iterations


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_parallel_bound_is_branches_plus_one_and_is_reached(k: int) -> None:
    p = parallel(
        [Agent(name=f"R{i}", instructions=f"Research topic {i}") for i in range(k)],
        Agent(name="Synthesizer", instructions="Combine research"),
    )
    assert analyze(p).max_model_calls == k + 1
    assert analyze(p).cycles == ()
    assert Runner.run_sync(p, "tides").model_calls == k + 1


@pytest.mark.parametrize(("workers", "rounds"), [(1, 1), (2, 4), (3, 2)])
def test_supervisor_bound_is_rounds_plus_one_boss_calls_and_rounds_worker_calls(
    workers: int, rounds: int
) -> None:
    p = supervisor(
        Agent(name="Boss", instructions="Assign tasks"),
        [Agent(name=f"W{i}", instructions="work") for i in range(workers)],
        max_rounds=rounds,
    )
    a = analyze(p)
    assert a.max_model_calls == (rounds + 1) + rounds
    assert a.calls_by_node["Boss"] == rounds + 1
    assert len(a.cycles) == workers and {c.bound for c in a.cycles} == {rounds}
    # a boss that keeps assigning reaches the bound exactly
    result = Runner.run_sync(p, "process the data", model=_Scripted())
    assert result.model_calls == a.max_model_calls


def test_dynamic_and_human_approval_bounds() -> None:
    make = EXAMPLES["dynamic"][0]
    analyzer = Agent(name="Analyzer", instructions="Determine required expertise")
    for cap in (1, 3, 7):
        p = dynamic(analyzer, lambda d: Agent(name=f"{d} S", instructions=d), max_specialists=cap)
        assert analyze(p).max_model_calls == 1 + cap
    assert analyze(make()).calls_by_node == {"Analyzer": 1, "specialists": 5}
    planner = Agent(name="Planner", instructions="Create detailed plan")
    executor = Agent(name="Executor", instructions="Execute plan precisely")
    for revisions in (0, 1, 3):
        p = human_approval(planner, executor, max_revisions=revisions)
        assert analyze(p).max_model_calls == (revisions + 1) + 1
    assert analyze(human_approval(planner, executor, max_revisions=0)).cycles == ()


def test_agent_with_tools_counts_its_turn_limit_and_its_agents_as_tools() -> None:
    plain = Agent(name="Plain", instructions="p")
    assert turn_calls(plain) == 1
    tooled = Agent(name="T", instructions="t", tools=[get_weather])
    assert turn_calls(tooled) == DEFAULT_MAX_TURNS
    outer = Agent(
        name="O",
        instructions="o",
        tools=[
            plain.as_tool(tool_name="a", tool_description="a"),
            tooled.as_tool(tool_name="b", tool_description="b"),
        ],
    )
    assert turn_calls(outer) == DEFAULT_MAX_TURNS * (1 + 1 + DEFAULT_MAX_TURNS)
    # the same rule read off the compiled graph (tool edges folded in from metadata)
    p = _tooled_network()
    assert analyze(p.compile()).max_model_calls == analyze(p).max_model_calls


def test_hierarchical_bound_is_reached_by_a_model_that_calls_every_tool() -> None:
    from agentpatterns.errors import RunError

    model = _Scripted()
    with pytest.raises(RunError, match="made 10 model calls"):
        Runner.run_sync(example("hierarchical"), "anything", model=model)
    assert model.calls == example("hierarchical").check().max_model_calls


@pytest.mark.parametrize("name", NAMES)
def test_offline_runs_stay_within_the_bound(name: str) -> None:
    builder, request = EXAMPLES[name]
    p = builder()
    result = Runner.run_sync(p, request, thread_id=f"bound-{name}")
    calls = result.model_calls
    if result.interrupted:
        result = Runner.resume_sync(p, thread_id=f"bound-{name}", decision=True)
        calls = result.model_calls
    assert 0 < calls <= p.check().max_model_calls


def test_unbounded_handoff_cycle_is_reported() -> None:
    a = Agent(name="A", instructions="a")
    b = Agent(name="B", instructions="b")
    p = Pattern(
        kind="handoffs",
        agents=(a, b),
        entry="A",
        edges=(
            Edge(source=START_ID, target="A", kind="route"),
            Edge(source="A", target="B", kind="handoff"),
            Edge(source="B", target="A", kind="handoff"),
            Edge(source="B", target=END_ID, kind="route"),
        ),
    )
    result = analyze(p)
    assert [(c.nodes, c.bound) for c in result.cycles] == [(("A", "B"), None)]
    assert result.max_model_calls is None and not result.ok
    assert len(result.warnings) == 1
    assert "A -> B -> A" in result.warnings[0] and "unbounded" in result.warnings[0]
    assert "A -> B -> A (unbounded)" in str(result)


def test_tool_only_agent_with_handoffs_is_warned_about() -> None:
    target = Agent(name="Target", instructions="t")
    helper = Agent(name="Helper", instructions="h", handoffs=[target])
    boss = Agent(
        name="Boss",
        instructions="b",
        tools=[helper.as_tool(tool_name="helper", tool_description="h")],
    )
    warnings = analyze(from_agent(boss)).warnings
    assert any("'Helper' runs only as a tool" in w and "'Target'" in w for w in warnings)


# --------------------------------------------------------------------------- build errors


def test_dangling_handoff_target_names_it_and_the_fix() -> None:
    billing = Agent(name="Billing", instructions="bills")
    desk = Agent(name="Front Desk", instructions="route", handoffs=[billing])
    with pytest.raises(PatternError) as err:
        Pattern(
            kind="handoffs",
            agents=(desk,),
            entry="Front Desk",
            edges=(
                Edge(source=START_ID, target="Front Desk", kind="route"),
                Edge(source="Front Desk", target=END_ID, kind="route"),
            ),
        )
    assert str(err.value) == (
        "handoff target 'Billing' of 'Front Desk' is not an agent of "
        "this pattern; add it or remove the handoff"
    )


def test_edge_to_an_unknown_node_names_it_and_the_fix() -> None:
    desk = Agent(name="Front Desk", instructions="route")
    with pytest.raises(
        PatternError,
        match=r"names 'Billing', which is not a node of pattern "
        r"'handoffs'; add the agent or fix the edge",
    ):
        Pattern(
            kind="handoffs",
            agents=(desk,),
            entry="Front Desk",
            edges=(
                Edge(source=START_ID, target="Front Desk", kind="route"),
                Edge(source="Front Desk", target="Billing", kind="handoff"),
                Edge(source="Front Desk", target=END_ID, kind="route"),
            ),
        )


def test_unreachable_agent_names_it_and_the_fix() -> None:
    a, orphan = Agent(name="A", instructions="a"), Agent(name="Orphan", instructions="o")
    with pytest.raises(PatternError) as err:
        Pattern(
            kind="handoffs",
            agents=(a, orphan),
            entry="A",
            edges=(
                Edge(source=START_ID, target="A", kind="route"),
                Edge(source="A", target=END_ID, kind="route"),
                Edge(source="Orphan", target=END_ID, kind="route"),
            ),
        )
    assert str(err.value) == (
        "agent 'Orphan' is unreachable from the entry 'A' in pattern "
        "'handoffs'; hand off to it from a reachable agent or remove it"
    )


def test_unbounded_loop_edge_names_it_and_the_fix() -> None:
    g, c = Agent(name="G", instructions="g"), Agent(name="C", instructions="c")
    with pytest.raises(PatternError) as err:
        Pattern(
            kind="reflection",
            agents=(g, c),
            entry="G",
            edges=(
                Edge(source=START_ID, target="G", kind="route"),
                Edge(source="G", target="C", kind="sequence"),
                Edge(source="C", target="G", kind="loop"),
                Edge(source="C", target=END_ID, kind="route"),
            ),
        )
    assert str(err.value) == (
        "loop 'C' -> 'G' has no bound; give it a positive bound (e.g. "
        "iterations=3) so a run cannot cycle forever"
    )
    with pytest.raises(PatternError, match=r"iterations=0.*int >= 1"):
        reflection(g, c, iterations=0)


# --------------------------------------------------------------------------- Mermaid

MERMAID = {
    "triage": """---
title: "triage"
---
flowchart TD
    __start__(("start")):::kind_start
    Booking_Agent("Booking Agent"):::kind_agent
    Support_Agent("Support Agent"):::kind_agent
    Triage_Agent("Triage Agent"):::kind_agent
    __end__((("end"))):::kind_end
    __start__ ==>|"entry"| Triage_Agent
    Booking_Agent ==>|"no handoff"| __end__
    Support_Agent ==>|"no handoff"| __end__
    Triage_Agent --> Booking_Agent
    Triage_Agent --> Support_Agent
    Triage_Agent ==>|"no handoff"| __end__
    classDef kind_start fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_end fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_agent fill:#dbeafe,stroke:#1d4ed8,color:#0f172a
    linkStyle 3,4 stroke:#2563eb,stroke-width:1.5px
    linkStyle 0,1,2,5 stroke:#111827,stroke-width:2.4px
""",
    "reflection": """---
title: "reflection"
---
flowchart TD
    __start__(("start")):::kind_start
    Critic("Critic"):::kind_agent
    Generator("Generator"):::kind_agent
    __end__((("end"))):::kind_end
    __start__ ==>|"entry"| Generator
    Critic ==>|"improve (≤ 3 drafts)"| Generator
    Critic ==>|"done or stop_when"| __end__
    Generator -->|"review"| Critic
    classDef kind_start fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_end fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_agent fill:#dbeafe,stroke:#1d4ed8,color:#0f172a
    linkStyle 0,2 stroke:#111827,stroke-width:2.4px
    linkStyle 3 stroke:#6b7280,stroke-width:1.5px
    linkStyle 1 stroke:#c026d3,stroke-width:3px
""",
    "human_approval": """---
title: "human_approval"
---
flowchart TD
    __start__(("start")):::kind_start
    Executor("Executor"):::kind_agent
    Planner("Planner"):::kind_agent
    approval{{"human approval"}}:::kind_interrupt
    __end__((("end"))):::kind_end
    __start__ ==>|"entry"| Planner
    Executor ==>|"done"| __end__
    Planner -.->|"plan"| approval
    approval ==>|"approved"| Executor
    approval ==>|"feedback (≤ 3)"| Planner
    approval ==>|"rejected"| __end__
    classDef kind_start fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_end fill:#1f2937,stroke:#1f2937,color:#ffffff
    classDef kind_agent fill:#dbeafe,stroke:#1d4ed8,color:#0f172a
    classDef kind_interrupt fill:#fee2e2,stroke:#b91c1c,color:#0f172a
    linkStyle 0,1,3,5 stroke:#111827,stroke-width:2.4px
    linkStyle 4 stroke:#c026d3,stroke-width:3px
    linkStyle 2 stroke:#dc2626,stroke-width:1.8px,stroke-dasharray:1 4
""",
}


@pytest.mark.parametrize("name", sorted(MERMAID))
def test_mermaid_snapshot(name: str) -> None:
    p = example(name)
    assert p.to_mermaid() == MERMAID[name]
    assert draw(p, format="mmd").decode() == MERMAID[name]
    assert example(name).to_mermaid() == p.to_mermaid()  # deterministic across builds


# --------------------------------------------------------------------------- SVG and PNG


def _visited(svg: bytes | str) -> set[str]:
    """The nodes a drawing marks as visited (both engines mark them the same way)."""
    text = svg.decode() if isinstance(svg, bytes) else svg
    found = re.findall(r'<g id="[^"]*" class="node ([^"]*)"[^>]*>\s*<title>([^<]*)</title>', text)
    return {unescape(title) for classes, title in found if "visited" in classes.split()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", NAMES)
def test_svg_is_well_formed_and_names_every_agent(name: str, engine: str) -> None:
    svg = example(name).draw("svg", engine=engine)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = " ".join(unescape(t) for t in root.itertext())
    for agent in _agents(name):
        assert agent in text
    assert _visited(svg) == set()


@pytest.mark.parametrize("engine", ENGINES)
def test_png_has_the_png_signature(engine: str) -> None:
    png = example("supervisor").draw("png", engine=engine)
    assert png.startswith(PNG_MAGIC) and len(png) > 1000


def test_pattern_and_compiled_graph_display_themselves_offline() -> None:
    p = example("reflection")
    bundle = p._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and "Generator" in bundle["image/svg+xml"]
    shown = show(p.compile())
    assert isinstance(shown, Drawing)
    assert set(shown._repr_mimebundle_()) == {"image/svg+xml", "text/plain"}
    assert "Critic" in shown.svg and shown._repr_svg_() == shown.svg


# --------------------------------------------------------------------------- run overlay


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("request_text", "specialist"),
    [
        ("I need to book a table for two tonight", "Booking Agent"),
        ("I need support: the app keeps crashing", "Support Agent"),
    ],
)
def test_overlay_marks_exactly_the_agents_of_the_run(
    engine: str, request_text: str, specialist: str
) -> None:
    p = example("triage")
    saver = InMemorySaver()
    result = Runner.run_sync(p, request_text, thread_id="t-overlay", checkpointer=saver)
    assert result.path == ["Triage Agent", specialist]
    assert run_path(p, thread_id="t-overlay", checkpointer=saver) == result.path
    svg = draw(p, thread_id="t-overlay", checkpointer=saver, engine=engine)
    # the agents, and the start and the end the finished run went through
    assert _visited(svg) == {"__start__", "Triage Agent", specialist, "__end__"}
    png = draw(p, format="png", thread_id="t-overlay", checkpointer=saver, engine=engine)
    assert png.startswith(PNG_MAGIC)
    mermaid = draw(p, format="mmd", thread_id="t-overlay", checkpointer=saver).decode()
    ids = {"Booking Agent": "Booking_Agent", "Support Agent": "Support_Agent"}
    visited = sorted([ids[specialist], "Triage_Agent"])
    assert f"class __start__,{','.join(visited)},__end__ visited" in mermaid


def test_overlay_of_a_compiled_graph_uses_its_own_checkpointer(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    p = example("reflection")
    Runner.run_sync(p, "a poem", thread_id="t-r", checkpointer=db)
    graph = p.compile(checkpointer=db)
    assert run_path(graph, thread_id="t-r") == ["Generator", "Critic"] * 3
    assert _visited(show(graph, thread_id="t-r", engine="python").svg) == {
        "__start__", "Generator", "Critic", "__end__"}


def test_overlay_errors_name_the_thread_and_the_fix(tmp_path: Path) -> None:
    p = example("triage")
    saver = InMemorySaver()
    with pytest.raises(InputError, match=r"thread 'missing' has no checkpoint"):
        draw(p, thread_id="missing", checkpointer=saver)
    Runner.run_sync(p, "I need to book a table", thread_id="t-x", checkpointer=saver)
    with pytest.raises(InputError, match=r"'Triage Agent'.*not in pattern 'reflection'"):
        draw(example("reflection"), thread_id="t-x", checkpointer=saver)
    missing_db = tmp_path / "nowhere.db"
    with pytest.raises(InputError, match="no database file"):
        draw(p, thread_id="t-x", checkpointer=f"sqlite:///{missing_db}")
    assert not missing_db.exists()  # reading never creates an empty database


# --------------------------------------------------------------------------- files


def test_draw_writes_the_file_it_returns(tmp_path: Path) -> None:
    p = example("parallel")
    for suffix in ("svg", "png", "mmd"):
        target = tmp_path / f"parallel.{suffix}"
        written = draw(p, path=target, engine="python")
        assert written == target and target.stat().st_size > 0  # the path, not the bytes
        fmt = "mmd" if suffix == "mmd" else suffix
        assert target.read_bytes() == draw(p, format=fmt, engine="python")
    assert sorted(os.listdir(tmp_path)) == ["parallel.mmd", "parallel.png", "parallel.svg"]
    assert (tmp_path / "parallel.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    ("path", "fmt", "message"),
    [
        ("out.txt", None, "must end in .svg, .png or .mmd"),
        ("out", None, "must end in .svg, .png or .mmd"),
        ("out.png", "svg", "format='svg' but"),
        ("out.svg", "jpeg", "unknown drawing format 'jpeg'"),
        ("missing/out.svg", None, "does not exist"),
    ],
)
def test_draw_refuses_bad_paths_and_writes_nothing(
    tmp_path: Path, path: str, fmt: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        draw(example("memory"), path=tmp_path / path, format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_half_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "topology.svg"
    target.write_text("old drawing")

    def broken(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space left"):
        draw(example("triage"), path=target, engine="python")
    assert target.read_text() == "old drawing"
    assert [f.name for f in tmp_path.iterdir()] == ["topology.svg"]


def test_a_failed_render_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "topology.svg"
    target.write_text("old drawing")
    monkeypatch.setattr(render, "has_dot", lambda: False)
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(render.RenderError):
        draw(example("triage"), path=target, engine="dot")
    assert target.read_text() == "old drawing"


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize("name", NAMES)
def test_cli_draws_every_builtin_to_svg_and_mermaid(
    name: str, tmp_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["draw", name, "-o", f"{name}.svg", "--engine", "python"]) == 0
    svg = (tmp_cwd / f"{name}.svg").read_bytes()
    ET.fromstring(svg)
    for agent in _agents(name):
        assert agent in unescape(svg.decode())
    assert main(["draw", name, "-o", f"{name}.mmd"]) == 0
    assert (tmp_cwd / f"{name}.mmd").read_text() == example(name).to_mermaid()
    out = capsys.readouterr().out
    assert f"wrote {name}.svg" in out and f"wrote {name}.mmd" in out


def test_cli_draw_png_and_run_overlay(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_cwd / 'runs.db'}"
    Runner.run_sync(example("triage"), "I need to book a table", thread_id="cli-t", checkpointer=db)
    assert main(["draw", "triage", "-o", "run.png", "--thread", "cli-t", "--db", db]) == 0
    assert (tmp_cwd / "run.png").read_bytes().startswith(PNG_MAGIC)
    assert (
        main(
            [
                "draw",
                "triage",
                "-o",
                "run.svg",
                "--thread",
                "cli-t",
                "--db",
                db,
                "--engine",
                "python",
            ]
        )
        == 0
    )
    assert _visited((tmp_cwd / "run.svg").read_bytes()) == {
        "__start__", "Triage Agent", "Booking Agent", "__end__"}
    assert "run of thread cli-t" in capsys.readouterr().out


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("agentpatterns: error: "), err
    assert "Traceback" not in err
    return err


def test_cli_draw_bad_extension_is_one_line_and_exit_2(
    tmp_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["draw", "triage", "-o", "triage.jpg"]) == 2
    assert "must end in .svg, .png or .mmd" in _one_line_error(capsys)
    assert list(tmp_cwd.iterdir()) == []


@pytest.mark.parametrize("where", ["no/such/dir/x.svg", "file.svg/x.svg", "/proc/x.svg"])
def test_cli_draw_unwritable_path_is_one_line_and_exit_2(
    where: str, tmp_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if where.startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    (tmp_cwd / "file.svg").write_text("a file, not a folder")
    assert main(["draw", "triage", "-o", where]) == 2
    assert "cannot write" in _one_line_error(capsys)


def test_cli_draw_unknown_thread_is_one_line_and_exit_2(
    tmp_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["draw", "triage", "-o", "x.svg", "--thread", "nope"]) == 2
    assert "no database file" in _one_line_error(capsys)
    assert not (tmp_cwd / "x.svg").exists() and not (tmp_cwd / ".agentpatterns").exists()


# --------------------------------------------------------------------------- a scripted model


class _Scripted(BaseChatModel):
    """Takes every chance to go round again: assigns work, calls every tool offered."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted-test"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.calls += 1
        names = [t["function"]["name"] for t in kwargs.get("tools") or ()]
        assign = [n for n in names if n.startswith("assign_to_")]
        if assign:
            calls = [
                {
                    "name": assign[self.calls % len(assign)],
                    "args": {"task": "more"},
                    "id": f"c{self.calls}",
                    "type": "tool_call",
                }
            ]
        else:
            calls = [
                {
                    "name": n,
                    "args": {"input": "go"},
                    "id": f"c{self.calls}-{i}",
                    "type": "tool_call",
                }
                for i, n in enumerate(names)
            ]
        reply = AIMessage(content="" if calls else f"answer {self.calls}", tool_calls=calls)
        return ChatResult(generations=[ChatGeneration(message=reply)])


def test_module_docstring_example_runs() -> None:
    import doctest

    import agentpatterns.adapters.networkx as module

    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
