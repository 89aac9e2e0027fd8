"""``as_tool(custom_output_extractor=)`` (issue 13 item 5): the extractor makes the tool's output
from the nested run - an SDK extractor gets an ``agents.RunResult`` on every runtime (its final
output typed, its run items and model responses, the agent), ours an ``AgentToolRun``; the
original network under plain ``agents.Runner`` and its import on LangGraph and on the SDK
runtime give the calling model the same tool output."""

from __future__ import annotations

from typing import Any

import agents
import pytest
from pydantic import BaseModel

from agentpatterns import Agent, Runner
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync
from agentpatterns.nodes.tools import AgentToolRun
from agentpatterns.testing import ScriptedModel, text, tool_call
from tests._sdk_parity import plain_run


class Review(BaseModel):
    score: int
    notes: str


@agents.function_tool
def fetch(doc: str) -> str:
    """Fetch a document."""
    return f"{doc}: three pages"


def _tool_outputs(model: ScriptedModel) -> list[str]:
    return [str(m.content) for m in model.requests[-1]["messages"]
            if type(m).__name__ == "ToolMessage"]


def _three(entry: agents.Agent[Any], script: list[Any]) -> list[Any]:
    pattern = from_sdk_agent(entry)
    out = []
    for run in (lambda m: plain_run(entry, "review the doc", m),
                lambda m: Runner.run_sync(pattern, "review the doc", model=m),
                lambda m: run_sdk_sync(pattern, "review the doc", model=m)):
        model = ScriptedModel(list(script))
        result = run(model)
        out.append((result.final_output, _tool_outputs(model)))
    return out


def test_an_sdk_extractor_sees_the_nested_run_alike_on_all_three() -> None:
    seen: list[Any] = []

    async def summary(result: Any) -> str:
        seen.append((type(result).__name__, result.last_agent.name,
                     [type(i).__name__ for i in result.new_items], len(result.raw_responses),
                     type(result.context_wrapper).__name__))
        review = result.final_output
        return f"score {review.score}: {review.notes}"

    reviewer = agents.Agent(name="Reviewer", instructions="Review", tools=[fetch],
                            output_type=Review)
    editor = agents.Agent(name="Editor", instructions="Edit", tools=[reviewer.as_tool(
        tool_name="review", tool_description="Review a doc",
        custom_output_extractor=summary)])
    script = [tool_call("review", input="doc 1"), tool_call("fetch", doc="doc 1"),
              text('{"score": 4, "notes": "clear"}'), text("Reviewed: 4/5.")]
    plain, langgraph, sdk = _three(editor, script)
    assert plain == ("Reviewed: 4/5.", ["score 4: clear"])
    assert langgraph == plain
    assert sdk == plain
    assert seen == [("RunResult", "Reviewer",
                     ["ToolCallItem", "ToolCallOutputItem", "MessageOutputItem"], 2,
                     "ToolContext")] * 3


@pytest.mark.parametrize("runtime", ["langgraph", "openai-agents"])
def test_our_extractor_gets_an_agent_tool_run_on_both_runtimes(runtime: str) -> None:
    seen: list[Any] = []

    def first_line(run: AgentToolRun) -> str:
        seen.append((run.input, run.last_agent.name, [i.get("type") or i.get("role")
                                                      for i in run.new_items]))
        return str(run.final_output).splitlines()[0]

    writer = Agent(name="Writer", instructions="Write")
    lead = Agent(name="Lead", instructions="Delegate", tools=[writer.as_tool(
        tool_name="write", custom_output_extractor=first_line)])
    model = ScriptedModel([tool_call("write", input="a haiku"), text("old pond\nfrog"),
                           text("Done.")])
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    assert run(lead, "haiku please", model=model).final_output == "Done."
    assert _tool_outputs(model) == ["old pond"]
    assert seen == [("a haiku", "Writer", ["message"])]
