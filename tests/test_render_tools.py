"""Every pattern draws the tools of its participants: function tools, agents used as tools
(with their own tools), in both views and every renderer; a run lights the ones it called.

Handoff networks (triage, sequential, hierarchical) always did; these are the others:
supervisor and parallel (workers, branches, synthesizer), reflection, human approval,
memory and dynamic's analyzer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentpatterns import (
    Agent,
    Runner,
    dynamic,
    function_tool,
    human_approval,
    memory,
    parallel,
    reflection,
    supervisor,
)
from agentpatterns.adapters import render
from agentpatterns.adapters.networkx import to_networkx, view_differences
from agentpatterns.adapters.openai_agents import run_sdk_sync
from tests.test_render_overlay import _mermaid


@function_tool
def lookup_rate(city: str) -> str:
    """Look up the tax rate of a city.

    Args:
        city: The city.
    """
    return f"{city}: 8%"


@function_tool
def word_count(text: str) -> str:
    """Count the words of a text.

    Args:
        text: The text.
    """
    return str(len(text.split()))


def _analyst() -> Agent:
    return Agent(name="Rate Analyst", instructions="Find tax rates", tools=[lookup_rate])


def _tooled(name: str, instructions: str = "Process data") -> Agent:
    """An agent with a function tool and an agent used as a tool (which has its own)."""
    return Agent(name=name, instructions=instructions, tools=[
        word_count, _analyst().as_tool(tool_name="ask_rate_analyst",
                                       tool_description="Ask the rate analyst for a tax rate")])


PATTERNS: dict[str, Callable[[], Any]] = {
    "supervisor": lambda: supervisor(
        Agent(name="Boss", instructions="You manage worker agents.\n- Assign tasks to workers"),
        [_tooled("Researcher"), Agent(name="Writer", instructions="Analyze results")]),
    "parallel": lambda: parallel([_tooled("Researcher"), Agent(name="Other", instructions="x")],
                                 _tooled("Synth", "Combine")),
    "reflection": lambda: reflection(_tooled("Researcher"),
                                     Agent(name="Critic", instructions="Review")),
    "human_approval": lambda: human_approval(_tooled("Researcher"),
                                             Agent(name="Executor", instructions="Do it")),
    "memory": lambda: memory(_tooled("Researcher")),
    "dynamic": lambda: dynamic(_tooled("Researcher"),
                               lambda domain: Agent(name=f"{domain} Expert", instructions="x")),
}


@pytest.mark.parametrize("kind", sorted(PATTERNS))
def test_participants_tools_and_agents_as_tools_are_drawn_everywhere(kind: str) -> None:
    p = PATTERNS[kind]()
    g = to_networkx(p)
    assert g.nodes["Researcher:word_count"]["kind"] == "tool"
    assert g.nodes["Rate Analyst"]["kind"] == "agent"  # the agent used as a tool...
    assert g.nodes["Rate Analyst:lookup_rate"]["kind"] == "tool"  # ... and its own tool
    assert g.edges["Researcher", "Rate Analyst"]["kind"] == "tool"
    assert g.edges["Researcher", "Rate Analyst"]["label"] == "ask_rate_analyst"
    assert view_differences(p) == []  # the compiled view folds all of it back in
    compiled = to_networkx(p.compile())
    assert {"Rate Analyst", "Rate Analyst:lookup_rate"} <= set(compiled.nodes)
    mermaid, dot = render.to_mermaid(g), render.to_dot(g)
    svg = render.render_svg(g, engine="python").decode()
    for text in (mermaid, dot, svg):
        assert "Rate Analyst" in text and "lookup_rate" in text and "ask_rate_analyst" in text


def test_a_shared_agent_used_as_a_tool_is_one_node() -> None:
    p = parallel([_tooled("Researcher"), _tooled("Second")], Agent(name="S", instructions="s"))
    g = to_networkx(p)
    assert list(g.nodes).count("Rate Analyst") == 1
    assert g.has_edge("Researcher", "Rate Analyst") and g.has_edge("Second", "Rate Analyst")
    assert view_differences(p) == []


@pytest.mark.parametrize("runtime", ["langgraph", "openai-agents"])
def test_a_run_lights_the_agent_used_as_a_tool_its_tool_and_the_callers_next_step(
        runtime: str) -> None:
    p = PATTERNS["supervisor"]()
    ask = "Process the tax rate data and analyze the results"
    result = (Runner.run_sync(p, ask, progress=False) if runtime == "langgraph"
              else run_sdk_sync(p, ask, progress=False))
    assert result.path == ["Boss", "Researcher", "Rate Analyst", "Boss", "Writer", "Boss"]
    visited, walked, text = _mermaid(p, result=result)
    assert {"Rate_Analyst", "Rate_Analyst_lookup_rate"} <= visited
    assert "Researcher_word_count" not in visited  # not called: dimmed
    # the analyst ran inside the researcher's turn, which then reported to the boss
    assert {"Researcher->Rate_Analyst", "Rate_Analyst->Rate_Analyst_lookup_rate",
            "Researcher->Boss", "Boss->__end__"} <= walked
    assert "lookup_rate<br/>called" in text


def test_a_run_that_ends_after_an_agent_used_as_a_tool_lights_the_callers_end() -> None:
    from agentpatterns.examples import EXAMPLES, example

    result = Runner.run_sync(example("hierarchical"), EXAMPLES["hierarchical"][1])
    assert result.path[-1] == "SQL Expert"  # the tool's run, inside the orchestrator's turn
    _, walked, _ = _mermaid(example("hierarchical"), result=result)
    assert {"Orchestrator->SQL_Expert", "Orchestrator->__end__"} <= walked
