"""``context=`` (any object) on both runtimes, against plain ``agents.Runner``.

Dynamic instructions, tools taking a ``RunContextWrapper``, guardrails and a later agent all
get the caller's own object; a tool's change to it is seen by the next model call's
instructions and by the agent handed to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import agents
import pydantic
import pytest

from agentpatterns import Agent, RunContextWrapper, Runner, ToolContext, function_tool
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync
from agentpatterns.testing import ScriptedModel, handoff, text, tool_call
from tests._sdk_parity import plain_run


@dataclass
class DataPrefs:
    style: str = "formal"
    notes: list[str] = field(default_factory=list)
    checked: int = 0


class PydanticPrefs(pydantic.BaseModel):
    style: str = "formal"
    notes: list[str] = []
    checked: int = 0


class PlainPrefs:
    def __init__(self) -> None:
        self.style, self.notes, self.checked = "formal", [], 0


def network() -> agents.Agent[Any]:
    """A desk whose tool notes things (and makes the tone casual), handing to a writer whose
    instructions read the tone; both read and change the caller's context object."""

    @agents.function_tool
    def remember(ctx: agents.RunContextWrapper[Any], note: str) -> str:
        """Remember a note for the user.

        Args:
            note: What to remember.
        """
        ctx.context.notes.append(note)
        ctx.context.style = "casual"
        return f"noted {note}"

    @agents.input_guardrail
    def count(ctx: Any, agent: Any, input: Any) -> agents.GuardrailFunctionOutput:
        ctx.context.checked += 1
        return agents.GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    def tone(ctx: agents.RunContextWrapper[Any], agent: agents.Agent[Any]) -> str:
        return f"{agent.name}: answer in a {ctx.context.style} style."

    writer = agents.Agent(name="Writer", instructions=tone, handoff_description="Writes replies")
    return agents.Agent(name="Desk", instructions=tone, tools=[remember], handoffs=[writer],
                        input_guardrails=[count])


SCRIPT = [tool_call("remember", note="milk"), handoff("Writer"), text("Noted, mate!")]


def _prompts(model: ScriptedModel) -> list[str]:
    return [str(r["messages"][0].content) for r in model.requests]


@pytest.mark.parametrize("kind", [DataPrefs, PydanticPrefs, PlainPrefs])
def test_context_object_reaches_every_callable_and_changes_are_seen(kind: type) -> None:
    runs = []
    plain_ctx = kind()
    plain_model = ScriptedModel(SCRIPT)
    plain = plain_run(network(), "remember milk", plain_model, context=plain_ctx)
    runs.append(("plain", plain.final_output, plain_model, plain_ctx))
    pattern = from_sdk_agent(network())
    for name, run in (("langgraph", Runner.run_sync), ("openai-agents", run_sdk_sync)):
        ctx, model = kind(), ScriptedModel(SCRIPT)
        result = run(pattern, "remember milk", model=model, context=ctx)
        runs.append((name, result.final_output, model, ctx))
    expected_prompts = ["Desk: answer in a formal style.", "Desk: answer in a casual style.",
                        "Writer: answer in a casual style."]
    for name, final, model, ctx in runs:
        assert final == "Noted, mate!", name
        assert _prompts(model) == expected_prompts, name
        assert (ctx.notes, ctx.style, ctx.checked) == (["milk"], "casual", 1), name


def test_our_own_tools_and_instructions_take_the_context() -> None:
    """The same with agentpatterns' ``function_tool`` and ``(ctx, agent)`` instructions."""

    @function_tool
    def remember(ctx: ToolContext[DataPrefs], note: str) -> str:
        """Remember a note."""
        assert ctx.tool_name == "remember" and ctx.tool_call_id
        ctx.context.notes.append(note)
        ctx.context.style = "casual"
        return "noted"

    assert "ctx" not in remember.params_json_schema["properties"]

    def tone(ctx: RunContextWrapper[DataPrefs], agent: Agent) -> str:
        return f"Be {ctx.context.style}."

    helper = Agent(name="Helper", instructions=tone, tools=[remember])
    for run in (Runner.run_sync, run_sdk_sync):
        ctx, model = DataPrefs(), ScriptedModel([tool_call("remember", note="x"), text("ok")])
        assert run(helper, "remember x", model=model, context=ctx).final_output == "ok"
        assert _prompts(model) == ["Be formal.", "Be casual."]
        assert ctx.notes == ["x"]
