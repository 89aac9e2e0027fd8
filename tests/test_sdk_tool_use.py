"""tool_use_behavior, reset_tool_choice and model_settings (issue 13 items 2 and 3), on the
original SDK network (plain ``agents.Runner``), LangGraph and the SDK adapter alike."""

from __future__ import annotations

from typing import Any

import agents
import pytest
from agents import ModelSettings, StopAtTools, ToolsToFinalOutputResult

from agentpatterns import Agent, Runner
from agentpatterns.adapters.openai_agents import run_sdk_sync
from agentpatterns.nodes.settings import ModelSettings as OurSettings
from agentpatterns.testing import ScriptedModel, text, tool_call
from tests._sdk_parity import assert_agree, three_ways

CALLS: list[str] = []


def _reset() -> None:
    CALLS.clear()


@agents.function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    CALLS.append(f"weather:{city}")
    return f"sunny in {city}"


@agents.function_tool
def get_time(city: str) -> str:
    """The local time in a city."""
    CALLS.append(f"time:{city}")
    return f"noon in {city}"


def _forecaster(**options: Any) -> agents.Agent[Any]:
    return agents.Agent(name="Forecaster", instructions="Answer with the weather",
                        tools=[get_weather, get_time], **options)


def _calls_per_run(three: Any) -> list[int]:
    return [len(m.requests) for m in three.models]


def test_stop_on_first_tool_makes_the_tool_output_the_answer() -> None:
    three = three_ways(_forecaster(tool_use_behavior="stop_on_first_tool"), "Oslo?",
                       [tool_call("get_weather", city="Oslo"), text("never asked")],
                       before=_reset)
    assert_agree(three)
    assert three.langgraph.final_output == "sunny in Oslo"
    assert _calls_per_run(three) == [1, 1, 1]  # the model never sees the tool result
    assert CALLS == ["weather:Oslo"]


def test_stop_at_tools_stops_only_at_the_named_tool() -> None:
    script = [tool_call("get_time", city="Rome"), tool_call("get_weather", city="Rome"),
              text("never asked")]
    behavior = StopAtTools(stop_at_tool_names=["get_weather"])
    three = three_ways(_forecaster(tool_use_behavior=behavior), "Rome?", script, before=_reset)
    assert_agree(three)
    assert three.langgraph.final_output == "sunny in Rome"
    assert _calls_per_run(three) == [2, 2, 2]


def test_a_function_decides_from_the_tool_results() -> None:
    seen: list[list[tuple[str, Any]]] = []

    async def first_sunny(ctx: Any, results: list[Any]) -> ToolsToFinalOutputResult:
        seen.append([(r.tool.name, r.output) for r in results])
        sunny = [r.output for r in results if "sunny" in str(r.output)]
        return ToolsToFinalOutputResult(is_final_output=bool(sunny),
                                        final_output=f"Forecast: {sunny[0]}" if sunny else None)

    script = [tool_call("get_time", city="Oslo"), tool_call("get_weather", city="Oslo"),
              text("never asked")]
    three = three_ways(_forecaster(tool_use_behavior=first_sunny), "Oslo?", script,
                       before=_reset)
    assert_agree(three)
    assert three.langgraph.final_output == "Forecast: sunny in Oslo"
    assert seen == [[("get_time", "noon in Oslo")], [("get_weather", "sunny in Oslo")]] * 3


@pytest.mark.parametrize("reset", [True, False])
def test_tool_choice_required_holds_until_a_tool_was_used_unless_told_otherwise(
        reset: bool) -> None:
    agent = _forecaster(model_settings=ModelSettings(tool_choice="required", temperature=0.2,
                                                     max_tokens=99, parallel_tool_calls=False),
                        reset_tool_choice=reset)
    three = three_ways(agent, "Oslo?", [tool_call("get_weather", city="Oslo"),
                                         text("Sunny in Oslo.")])
    assert_agree(three)
    for model in three.models:
        first, second = model.requests
        assert first["tool_choice"] == "required"
        assert second["tool_choice"] == (None if reset else "required")
        assert first["settings"] == {"temperature": 0.2, "max_tokens": 99,
                                     "parallel_tool_calls": False}


def test_tool_choice_naming_a_tool_and_none() -> None:
    for choice in ("get_time", "none"):
        agent = _forecaster(model_settings=ModelSettings(tool_choice=choice))
        three = three_ways(agent, "Oslo?", [text("fine")])
        assert [m.requests[0]["tool_choice"] for m in three.models] == [choice] * 3


def test_our_agents_take_model_settings_and_tool_use_behavior() -> None:
    from agentpatterns import function_tool

    @function_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    agent = Agent(name="Calc", instructions="Add", tools=[add],
                  model_settings={"tool_choice": "add", "temperature": 0},
                  tool_use_behavior="stop_on_first_tool")
    assert agent.model_settings == OurSettings(tool_choice="add", temperature=0)
    for run in (Runner.run_sync, run_sdk_sync):
        model = ScriptedModel([tool_call("add", a=2, b=3)])
        assert run(agent, "2+3", model=model).final_output == "5"  # str(5), as in the SDK
        assert model.requests[0]["tool_choice"] == "add"
        assert model.requests[0]["settings"] == {"temperature": 0}


def test_settings_with_no_langchain_form_are_refused_at_import() -> None:
    from agentpatterns.adapters.openai_agents import from_sdk_agent
    from agentpatterns.errors import UnsupportedError

    agent = agents.Agent(name="Long", model_settings=ModelSettings(truncation="auto"))
    with pytest.raises(UnsupportedError, match="'Long'.*truncation"):
        from_sdk_agent(agent)
    with pytest.raises(TypeError, match="tool_use_behavior"):
        Agent(name="X", tool_use_behavior="sometimes")


def test_the_offline_model_honours_tool_choice_on_both_runtimes() -> None:
    from agentpatterns import OfflineModel, function_tool

    @function_tool
    def audit(note: str) -> str:
        """Record an audit note."""
        return "recorded"

    forced = Agent(name="Clerk", instructions="Answer", tools=[audit],
                   model_settings={"tool_choice": "required"})
    free = forced.clone(model_settings=None)
    for run in (Runner.run_sync, run_sdk_sync):
        # no word of the request matches the tool: only "required" makes it call it
        assert run(free, "hello there", model=OfflineModel()).final_output == (
            "[Clerk] answer based on: hello there")
        assert run(forced, "hello there", model=OfflineModel()).final_output == (
            "[Clerk] answer based on: recorded")
