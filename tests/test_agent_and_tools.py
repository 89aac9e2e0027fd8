"""Agent, function_tool and as_tool."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from agentpatterns import Agent, AgentTool, Runner, function_tool
from agentpatterns.errors import ModelBehaviorError, OutputValidationError
from agentpatterns.nodes.tools import ToolArgumentsError


@function_tool
def get_weather(city: str, days: int = 1) -> str:
    """Weather forecast for a city.

    Args:
        city: The city's name.
        days: How many days ahead.
    """
    return f"sunny in {city} for {days} day(s)"


def test_function_tool_schema_from_hints_and_docstring():
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Weather forecast for a city."
    schema = get_weather.params_json_schema
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"] == {"description": "The city's name.", "type": "string"}
    assert schema["properties"]["days"]["type"] == "integer"
    assert schema["additionalProperties"] is False


def test_function_tool_rejects_bad_arguments_with_the_culprit():
    with pytest.raises(ToolArgumentsError, match="not JSON"):
        get_weather.parse_arguments("{city: Paris")
    with pytest.raises(ToolArgumentsError, match="days"):
        get_weather.parse_arguments({"city": "Paris", "days": "many"})
    assert get_weather.parse_arguments('{"city": "Paris"}') == {"city": "Paris", "days": 1}


def test_agent_is_frozen_keyword_only_and_validates():
    a = Agent(name="A", instructions="x", handoffs=[])
    with pytest.raises(AttributeError):
        a.name = "B"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Agent("A")  # type: ignore[misc]
    with pytest.raises(TypeError, match="non-empty"):
        Agent(name=" ")
    with pytest.raises(TypeError, match="function_tool"):
        Agent(name="A", tools=[lambda: 1])
    with pytest.raises(TypeError, match="output_type"):
        Agent(name="A", output_type=type("NoSchema", (), {}))  # dict, list[str]... are fine
    assert a.clone(name="B").name == "B" and a.name == "A"


def test_as_tool_wraps_the_agent():
    sql = Agent(name="SQL Expert", instructions="Write SQL queries")
    tool = sql.as_tool(tool_name="sql_expert", tool_description="Use for database queries")
    assert isinstance(tool, AgentTool) and tool.agent is sql
    assert tool.openai_schema()["function"]["name"] == "sql_expert"
    assert sql.as_tool().name == "sql_expert"


def test_function_tool_runs_inside_the_agent_node():
    weather = Agent(
        name="Weather Agent", instructions="Answer with the forecast", tools=[get_weather]
    )
    result = Runner.run_sync(weather, "weather forecast for Paris")
    assert result.final_output == (
        "[Weather Agent] answer based on: sunny in weather forecast for Paris for 1 day(s)"
    )
    assert result.calls == {"Weather Agent": 2}


class Verdict(BaseModel):
    label: str
    score: int = 0


def test_output_type_is_validated_into_the_model():
    judge = Agent(name="Judge", instructions="Classify", output_type=Verdict)
    result = Runner.run_sync(judge, "classify this spam email")
    assert isinstance(result.final_output, Verdict)
    assert result.final_output.label == "classify spam email"


def _scripted(*replies):
    return GenericFakeChatModel(messages=iter(replies))


class _NoToolsFake(GenericFakeChatModel):
    def bind_tools(self, tools, **kw):
        return self


def test_invalid_output_is_retried_once_then_a_clear_error():
    ok = Agent(
        name="Judge",
        instructions="Classify",
        output_type=Verdict,
        model=_NoToolsFake(messages=iter([AIMessage("not json"), AIMessage('{"label": "spam"}')])),
    )
    result = Runner.run_sync(ok, "x")
    assert result.final_output == Verdict(label="spam")
    assert [e["type"] for e in result.events] == ["output_retry"]
    bad = Agent(
        name="Judge",
        instructions="Classify",
        output_type=Verdict,
        model=_NoToolsFake(messages=iter([AIMessage("nope"), AIMessage("still no")])),
    )
    with pytest.raises(OutputValidationError, match="'Judge'.*Verdict"):
        Runner.run_sync(bad, "x")


def test_unknown_tool_twice_fails_naming_agent_and_name():
    call = {"name": "transfer_to_billing", "args": {}, "id": "c1", "type": "tool_call"}
    call2 = {**call, "id": "c2"}
    model = _NoToolsFake(
        messages=iter([AIMessage("", tool_calls=[call]), AIMessage("", tool_calls=[call2])])
    )
    agent = Agent(name="Front Desk", instructions="route", model=model)
    with pytest.raises(ModelBehaviorError, match="'Front Desk'.*transfer_to_billing"):
        Runner.run_sync(agent, "hi")
