"""Composition: a Pattern stands wherever an Agent stands, compiled as a LangGraph subgraph."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentpatterns import (
    Agent,
    BudgetExceeded,
    GuardrailFunctionOutput,
    InputError,
    InputGuardrailTripwireTriggered,
    PatternError,
    Runner,
    dynamic,
    hierarchical,
    human_approval,
    input_guardrail,
    parallel,
    reflection,
    sequential,
    supervisor,
    triage,
)


def _agent(name: str, instructions: str, **kw: object) -> Agent:
    return Agent(name=name, instructions=instructions, **kw)  # type: ignore[arg-type]


def research(prefix: str = "", name: str = "Research") -> object:
    rs = [_agent(f"{prefix}Researcher {i}", f"Research topic {t}") for i, t in ((1, "A"), (2, "B"))]
    return parallel(rs, _agent(f"{prefix}Synthesizer", "Combine research"), name=name,
                    description="Research a topic in depth from several angles")


def polish(prefix: str = "", name: str = "Polish") -> object:
    return reflection(_agent(f"{prefix}Writer", "Write the article"),
                      _agent(f"{prefix}Critic", "Review content and provide feedback"),
                      iterations=2, name=name)


def pipeline() -> object:
    return sequential([research(), polish(), _agent("Editor", "Edit and polish the content")],
                      name="Pipeline")


PIPELINE_PATH = ["Researcher 1", "Researcher 2", "Synthesizer", "Writer", "Critic", "Writer",
                 "Critic", "Editor"]


# ------------------------------------------------------------------ each builder, each role
def test_sequential_of_patterns_is_one_run_one_account() -> None:
    r = Runner.run_sync(pipeline(), "tides")
    assert r.path == PIPELINE_PATH
    assert r.calls == {"Researcher 1": 1, "Researcher 2": 1, "Synthesizer": 1, "Writer": 2,
                       "Critic": 2, "Editor": 1}
    assert r.last_agent == "Editor"
    # the editor works from the reflection's final output (the last draft), not the critique
    assert r.final_output.startswith("[Editor] edited text based on: [Writer] draft 2")
    assert [(s.agent, s.patterns) for s in r.steps][:4] == [
        ("Researcher 1", ("Pipeline", "Research")), ("Researcher 2", ("Pipeline", "Research")),
        ("Synthesizer", ("Pipeline", "Research")), ("Writer", ("Pipeline", "Polish"))]
    assert r.steps[-1].patterns == ("Pipeline",)
    assert r.usage["Critic"]["total"] > 0


def test_parallel_branch_and_synthesizer_may_be_patterns() -> None:
    p = parallel([research(), _agent("Analyst", "Analyze the data")], polish(), name="Big")
    r = Runner.run_sync(p, "tides")
    assert sorted(r.path[:4]) == ["Analyst", "Researcher 1", "Researcher 2", "Synthesizer"]
    assert r.path[4:] == ["Writer", "Critic", "Writer", "Critic"]
    assert r.last_agent == "Writer"
    assert "[Synthesizer] synthesis" in r.values["branches"]["Research"]["output"]


def test_reflection_generator_and_critic_may_be_patterns() -> None:
    gen = sequential([_agent("Drafter", "Write a draft"), _agent("Fixer", "Edit and polish")],
                     name="Draft Team")
    r = Runner.run_sync(reflection(gen, _agent("Critic", "Review content and provide feedback"),
                                   iterations=2), "a poem")
    assert r.path == ["Drafter", "Fixer", "Critic", "Drafter", "Fixer", "Critic"]
    assert len(r.values["drafts"]) == 2
    crit = sequential([_agent("Reader", "Review content and provide feedback")], name="Panel")
    r2 = Runner.run_sync(reflection(_agent("Writer", "Write"), crit, iterations=2), "a poem")
    assert r2.path == ["Writer", "Reader", "Writer", "Reader"]


def test_supervisor_worker_may_be_a_pattern() -> None:
    team = research(name="Research Team")
    boss = _agent("Supervisor", "Assign tasks, aggregate results")
    r = Runner.run_sync(supervisor(boss, [team, _agent("Worker 2", "Analyze results")]),
                        "Research the data and analyze the results")
    assert {"Researcher 1", "Researcher 2", "Synthesizer", "Worker 2"} <= set(r.path)
    i = r.path.index("Researcher 1")
    assert r.path[i - 1:i + 4] == ["Supervisor", "Researcher 1", "Researcher 2", "Synthesizer",
                                   "Supervisor"]
    assert "Research Team" in [rep["worker"] for rep in r.values["reports"]]


def test_human_approval_planner_and_executor_may_be_patterns() -> None:
    planner = sequential([_agent("Scout", "Research the topic"), _agent("Planner", "Plan it")],
                         name="Planning")
    p = human_approval(planner, research(), name="Gate")
    r = Runner.run_sync(p, "migrate the database", thread_id="ha-nested-roles")
    assert r.interrupted and r.path == ["Scout", "Planner"]
    assert r.interruption["pattern"] == "Gate"
    done = Runner.resume_sync(p, thread_id="ha-nested-roles", decision=True)
    assert done.path == ["Scout", "Planner", "Researcher 1", "Researcher 2", "Synthesizer"]


def test_dynamic_factory_may_return_a_pattern() -> None:
    def make(domain: str) -> object:
        return sequential([_agent(f"{domain.title()} Scout", "Research"),
                           _agent(f"{domain.title()} Writer", "Write")],
                          name=f"{domain.title()} Team")

    r = Runner.run_sync(dynamic(_agent("Analyzer", "Determine required expertise"), make,
                                name="Experts"),
                        "I need advice on tax law and accounting")
    assert r.path == ["Analyzer", "Tax Law Scout", "Tax Law Writer", "Accounting Scout",
                      "Accounting Writer"]
    assert "[Accounting Writer]" in r.final_output


def test_handoff_to_a_pattern_and_pattern_as_tool() -> None:
    team = research()
    router = _agent("Router", "Route users to the right team", handoffs=[
        team, _agent("Support", "Help", handoff_description="Handles support questions")])
    r = Runner.run_sync(triage(router), "research the topic in depth from several angles")
    assert r.path == ["Router", "Researcher 1", "Researcher 2", "Synthesizer"]
    assert r.handoffs[0]["to"] == "Research"

    boss = _agent("Boss", "Coordinate", tools=[
        research().as_tool(tool_name="research", tool_description="Use to research a topic")])
    r2 = Runner.run_sync(hierarchical(boss), "research the topic of tides")
    assert r2.path == ["Boss", "Researcher 1", "Researcher 2", "Synthesizer"]
    assert r2.calls["Boss"] == 2 and r2.calls["Synthesizer"] == 1
    assert "[Synthesizer]" in r2.final_output


def test_three_levels_deep() -> None:
    inner = sequential([_agent("A", "Research the topic"), _agent("B", "Write it")], name="L3")
    middle = sequential([inner, _agent("C", "Edit and polish")], name="L2")
    outer = sequential([middle, _agent("D", "Summarize")], name="L1")
    r = Runner.run_sync(outer, "tides")
    assert r.path == ["A", "B", "C", "D"]
    assert r.steps[0].patterns == ("L1", "L2", "L3")
    assert r.steps[2].patterns == ("L1", "L2")
    drawn = outer.compile().get_graph(xray=True)
    assert {"L2:L3:A", "L2:L3:B", "L2:C", "D"} <= set(drawn.nodes)


# ------------------------------------------------------------------ budget, guardrails, async
def test_budget_covers_the_whole_tree() -> None:
    saver = InMemorySaver()
    with pytest.raises(BudgetExceeded) as caught:
        Runner.run_sync(pipeline(), "tides", thread_id="bud-1", checkpointer=saver,
                        max_model_calls=5)
    assert caught.value.result.model_calls <= 5
    r = Runner.resume_sync(pipeline(), thread_id="bud-1", checkpointer=saver,
                           max_model_calls=8)
    assert r.path == PIPELINE_PATH and r.model_calls == 8

    boss = _agent("Boss", "Coordinate", tools=[research().as_tool(tool_name="research")])
    with pytest.raises(BudgetExceeded):  # through a pattern used as a tool too
        Runner.run_sync(hierarchical(boss), "research the topic", max_model_calls=3)


def test_guardrail_inside_a_nested_pattern_stops_the_run() -> None:
    @input_guardrail
    def no_secrets(context: object, agent: object, text: str) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={}, tripwire_triggered="secret" in text)

    guarded = sequential([_agent("Gatekeeper", "Check", input_guardrails=[no_secrets]),
                          _agent("Worker", "Work")], name="Guarded")
    p = sequential([guarded, _agent("After", "Edit and polish")], name="Outer")
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        Runner.run_sync(p, "tell me the secret")
    assert caught.value.result.values["stopped"]["agent"] == "Gatekeeper"
    assert "After" not in caught.value.result.path
    assert Runner.run_sync(p, "tell me a story").path == ["Gatekeeper", "Worker", "After"]


def test_async_run_matches_blocking_run() -> None:
    r = asyncio.run(Runner.run(pipeline(), "tides"))
    assert r.path[3:] == PIPELINE_PATH[3:]
    assert sorted(r.path[:2]) == ["Researcher 1", "Researcher 2"]


# ------------------------------------------------------------------ LangGraph's view
def test_compiled_graph_shows_subgraphs_and_namespaced_state() -> None:
    p = pipeline()
    saver = InMemorySaver()
    graph = p.compile(checkpointer=saver)
    assert set(graph.get_graph().nodes) == {"__start__", "Research", "Polish", "Editor",
                                            "__end__"}
    assert {"Research:Researcher 1", "Polish:Critic"} <= set(graph.get_graph(xray=True).nodes)
    gate = sequential([research(), human_approval(_agent("Planner", "Plan it"),
                                                  _agent("Executor", "Execute it"),
                                                  name="Approval")], name="Release")
    r = Runner.run_sync(gate, "ship it", thread_id="ns-1", checkpointer=saver)
    assert r.interrupted and r.interruption["patterns"] == ["Release", "Approval"]
    compiled = gate.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "ns-1"}}
    state = compiled.get_state(config, subgraphs=True)
    assert state.next == ("Approval",)
    child = state.tasks[0].state
    assert child.next == ("approval",)
    assert child.config["configurable"]["checkpoint_ns"].startswith("Approval:")
    assert child.values["plan"].startswith("[Planner] plan")
    assert len(list(compiled.get_state_history(config))) >= 3


def test_a_compiled_pattern_inside_a_users_messages_state_graph() -> None:
    from langgraph.graph import END, START, MessagesState, StateGraph

    user = StateGraph(MessagesState)
    user.add_node("research", research().compile())
    user.add_edge(START, "research")
    user.add_edge("research", END)
    app = user.compile(checkpointer=InMemorySaver())
    out = app.invoke({"messages": [{"role": "user", "content": "tides and the moon"}]},
                     {"configurable": {"thread_id": "ms-1"}})
    texts = [m.content for m in out["messages"]]
    assert texts[0] == "tides and the moon"
    assert any(t.startswith("[Researcher 1] research notes based on: tides and the moon")
               for t in texts)
    assert texts[-1].startswith("[Synthesizer] synthesis")
    with pytest.raises(InputError, match="no request"):
        research().compile().invoke({"messages": []})
    schema = research().compile().get_input_jsonschema()
    assert "messages" in schema["properties"]


# ------------------------------------------------------------------ validation
def test_a_pattern_cannot_contain_itself_and_names_are_unique() -> None:
    a, b = _agent("A", "a"), _agent("B", "b")
    loop = sequential([a, b], name="Loop")
    with pytest.raises(PatternError, match="contains itself"):
        sequential([loop, _agent("C", "c")], name="Loop")
    with pytest.raises(PatternError, match="unique across a composition"):
        sequential([loop, a.clone()], name="Outer")
    with pytest.raises(PatternError, match="two nested patterns are named"):
        sequential([sequential([_agent("X", "x")]), sequential([_agent("Y", "y")])])

    def make(domain: str) -> object:
        return sequential([_agent(f"{domain} agent", "x")], name="Experts")

    with pytest.raises(PatternError, match="containing 'Experts' itself"):
        Runner.run_sync(dynamic(_agent("Analyzer", "Determine required expertise"), make,
                                name="Experts"), "I need advice on tax law")


# ------------------------------------------------------------------ topology
def test_networkx_keeps_the_nesting_and_check_composes_bounds() -> None:
    from agentpatterns.adapters.networkx import to_networkx, view_differences

    p = pipeline()
    g = to_networkx(p)
    assert g.nodes["Researcher 1"]["parent"] == "Research"
    assert g.nodes["Critic"]["parent"] == "Polish"
    assert g.nodes["Editor"]["parent"] == "Pipeline"
    assert g.nodes["Research:join"]["kind"] == "join"
    assert g.graph["clusters"]["Polish"] == {"label": "Polish", "parent": "Pipeline",
                                             "kind": "reflection", "description": ""}
    assert g.has_edge("Research:__end__", "Polish:__start__")
    flat = to_networkx(p, nested=False)
    assert flat.nodes["Research"]["kind"] == "pattern"
    assert view_differences(p) == []
    a = p.check()
    # 2 branches + synthesizer, 2 iterations x (writer + critic), editor
    assert a.max_model_calls == 3 + 4 + 1
    assert a.calls_by_node == {"Research": 3, "Polish": 4, "Editor": 1}
    assert [(c.nodes, c.bound) for c in a.cycles] == [(("Writer", "Critic"), 2)]
    deep = sequential([sequential([pipeline()], name="Outer")], name="Top")
    assert deep.check().max_model_calls == 8


def test_mermaid_draws_subgraph_blocks() -> None:
    inner = sequential([_agent("A", "a"), _agent("B", "b")], name="Inner")
    text = sequential([inner, _agent("C", "c")], name="Outer").to_mermaid()
    assert text.splitlines()[4:14] == [
        '    __start__(("start")):::kind_start',
        '    C("C"):::kind_agent',
        '    __end__((("end"))):::kind_end',
        '    subgraph sg_Inner["Inner"]',
        '        Inner___start__(("start")):::kind_start',
        '        A("A"):::kind_agent',
        '        B("B"):::kind_agent',
        '        Inner___end__((("end"))):::kind_end',
        "    end",
        '    Inner___start__ ==>|"entry"| A',
    ]


def test_svg_and_png_draw_labelled_clusters_with_the_run_lit_inside() -> None:
    from agentpatterns.adapters.render import has_dot

    p = pipeline()
    saver = InMemorySaver()
    Runner.run_sync(p, "tides", thread_id="draw-1", checkpointer=saver)
    svg = p.draw("svg", engine="python", thread_id="draw-1", checkpointer=saver).decode()
    assert svg.count('class="cluster"') == 2 and ">Research<" in svg and ">Polish<" in svg
    assert svg.count("node agent visited") == 6  # every agent inside the clusters is lit
    assert p.draw("png", engine="python").startswith(b"\x89PNG")
    if has_dot():
        dot_svg = p.draw("svg", engine="dot").decode()
        assert "cluster_sg_Research" in dot_svg and "cluster_sg_Polish" in dot_svg


def test_deeply_nested_clusters_fit_inside_the_python_engines_drawing() -> None:
    """Each level of nesting pads its box; the outer boxes used to run off the left edge."""
    import re

    router = Agent(name="Router", instructions="Route", handoffs=[
        _agent("Support", "Support questions"), _agent("Sales", "Sales questions")])
    level2 = sequential([_agent("Clerk", "File"), triage(router, name="Desk")], name="Level 2")
    p = sequential([sequential([_agent("Greeter", "Greet"), level2], name="Level 1"),
                    _agent("After", "Edit")], name="Top")
    svg = p.draw("svg", engine="python").decode()
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    boxes = [tuple(map(float, m)) for m in re.findall(
        r'<rect x="(-?[\d.]+)" y="(-?[\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="10"', svg)]
    assert len(boxes) == 3
    for x, y, w, h in boxes:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, (x, y, w, h, width)
    for name in ("Level 1", "Level 2", "Desk"):  # each name starts inside the canvas
        x = float(re.search(rf'<text x="(-?[\d.]+)"[^>]*>{name}<', svg).group(1))
        assert 0 < x < width


def test_streamed_events_name_the_nested_pattern() -> None:
    async def started() -> list[tuple[str, tuple[str, ...]]]:
        return [(e.agent, e.patterns) async for e in Runner.run_streamed(pipeline(), "tides")
                if e.type == "agent_started"]

    seen = asyncio.run(started())
    assert ("Synthesizer", ("Research",)) in seen
    assert ("Critic", ("Polish",)) in seen
    assert seen[-1] == ("Editor", ())


def test_to_sdk_agent_refuses_a_composition_naming_the_nested_pattern() -> None:
    from agentpatterns import UnsupportedError
    from agentpatterns.adapters.openai_agents import to_sdk_agent, to_sdk_agents

    with pytest.raises(UnsupportedError, match="nests pattern 'Research' \\(parallel\\)"):
        to_sdk_agent(pipeline())
    router = _agent("Router", "Route", handoffs=[research()])
    with pytest.raises(UnsupportedError, match="hands off to pattern 'Research'"):
        to_sdk_agents(triage(router))
    boss = _agent("Boss", "Coordinate", tools=[research().as_tool(tool_name="research")])
    with pytest.raises(UnsupportedError, match="uses pattern 'Research' as the tool"):
        to_sdk_agents(boss)
    # the agents of a composition convert one by one
    assert "Researcher 1" in to_sdk_agents(pipeline())


def test_nested_agents_tool_calls_reach_the_run() -> None:
    from agentpatterns import function_tool

    @function_tool
    def lookup(topic: str) -> str:
        """Look up facts about a topic."""
        return f"facts about {topic}"

    inner = sequential([_agent("Fact Finder", "Look up facts about the topic", tools=[lookup])],
                       name="Facts")
    r = Runner.run_sync(sequential([inner, _agent("Writer", "Write it")], name="Outer"),
                        "look up facts about tides")
    assert [c["tool"] for c in r.tool_calls] == ["lookup"]
    assert r.tool_calls[0]["agent"] == "Fact Finder"
