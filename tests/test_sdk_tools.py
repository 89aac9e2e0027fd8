"""SDK tools on both runtimes: schemas and results as the SDK makes them, tool guardrails,
and hosted tools / MCP servers (passed through to the SDK runtime, refused by LangGraph)."""

from __future__ import annotations

from typing import Any

import agents
import pydantic
import pytest

from agentpatterns import Runner, UnsupportedError
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync, to_sdk_agents
from agentpatterns.testing import ScriptedModel, text, tool_call
from tests._sdk_parity import plain_run, seen


class Weather(pydantic.BaseModel):
    city: str
    degrees: int


def weather_agent() -> agents.Agent[Any]:
    @agents.function_tool
    def forecast(city: str, units: str = "C", days: int = 1) -> Weather:
        """Forecast for a city.

        Args:
            city: The city.
            units: C or F.
            days: How many days.
        """
        return Weather(city=f"{city} ({units}, {days}d)", degrees=21)

    @agents.function_tool
    def summary(city: str) -> dict[str, Any]:
        """A summary as a dict."""
        return {"city": city, "ok": True}

    return agents.Agent(name="Weather", instructions="Forecasts", tools=[forecast, summary])


def _three(make: Any, script: list[Any], request: str) -> list[tuple[str, Any, ScriptedModel]]:
    out = []
    model = ScriptedModel(script)
    out.append(("plain", plain_run(make(), request, model).final_output, model))
    pattern = from_sdk_agent(make())
    for name, run in (("langgraph", Runner.run_sync), ("openai-agents", run_sdk_sync)):
        model = ScriptedModel(script)
        out.append((name, run(pattern, request, model=model).final_output, model))
    return out


def test_defaults_stay_optional_and_results_are_converted_as_the_sdk_does() -> None:
    script = [(tool_call("forecast", city="Tokyo"), tool_call("summary", city="Oslo")),
              text("Done")]
    runs = _three(weather_agent, script, "weather in Tokyo")
    expected = [("HumanMessage", "weather in Tokyo"), ("AIMessage", ""),
                ("ToolMessage", str(Weather(city="Tokyo (C, 1d)", degrees=21))),
                ("ToolMessage", str({"city": "Oslo", "ok": True}))]
    for name, final, model in runs:
        assert final == "Done", name
        assert seen(model) == expected, name
    # the model is offered the SDK's own schema of the tool, on every runtime
    offered = {name: model.requests[0]["tools"] for name, _, model in runs}
    assert offered["plain"] == offered["langgraph"] == offered["openai-agents"]


def guarded_agent(log: list[str]) -> agents.Agent[Any]:
    @agents.tool_input_guardrail
    def no_secrets(data: Any) -> agents.ToolGuardrailFunctionOutput:
        args = data.context.tool_arguments
        log.append(f"in:{data.agent.name}:{args}")
        if "secret" in args:
            return agents.ToolGuardrailFunctionOutput.reject_content("Not with secrets.")
        return agents.ToolGuardrailFunctionOutput.allow()

    @agents.tool_output_guardrail
    def no_boom(data: Any) -> agents.ToolGuardrailFunctionOutput:
        log.append(f"out:{data.output}")
        if "BOOM" in str(data.output):
            return agents.ToolGuardrailFunctionOutput.raise_exception(output_info="boom")
        return agents.ToolGuardrailFunctionOutput.allow()

    @agents.function_tool(tool_input_guardrails=[no_secrets], tool_output_guardrails=[no_boom])
    def echo(text: str) -> str:
        """Echo the text."""
        log.append(f"ran:{text}")
        return text.upper()

    return agents.Agent(name="Echoer", instructions="Echo things", tools=[echo])


def test_tool_guardrails_run_around_the_tool_on_every_runtime() -> None:
    logs: dict[str, list[str]] = {}
    script = [(tool_call("echo", text="hello"), tool_call("echo", text="my secret")),
              text("Echoed")]
    runs = []
    for name in ("plain", "langgraph", "openai-agents"):
        log = logs.setdefault(name, [])
        model = ScriptedModel(script)
        if name == "plain":
            final = plain_run(guarded_agent(log), "echo", model).final_output
        else:
            run = Runner.run_sync if name == "langgraph" else run_sdk_sync
            final = run(from_sdk_agent(guarded_agent(log)), "echo", model=model).final_output
        runs.append((name, final, seen(model)))
    assert runs[0][2][-2:] == [("ToolMessage", "HELLO"), ("ToolMessage", "Not with secrets.")]
    assert runs[0][1:] == runs[1][1:] == runs[2][1:]
    # the SDK runs one reply's tool calls concurrently, LangGraph one after another: the same
    # guardrail and tool calls, interleaved differently
    assert sorted(logs["plain"]) == sorted(logs["langgraph"]) == sorted(logs["openai-agents"])
    assert "ran:my secret" not in logs["plain"]


@pytest.mark.parametrize("runtime", ["plain", "langgraph", "openai-agents"])
def test_a_raising_tool_guardrail_stops_the_run_as_the_sdk_exception(runtime: str) -> None:
    log: list[str] = []
    model = ScriptedModel([tool_call("echo", text="BOOM"), text("never")])
    with pytest.raises(agents.ToolOutputGuardrailTripwireTriggered):
        if runtime == "plain":
            plain_run(guarded_agent(log), "echo", model)
        else:
            run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
            run(from_sdk_agent(guarded_agent(log)), "echo", model=model)
    assert log == ["in:Echoer:{\"text\": \"BOOM\"}", "ran:BOOM", "out:BOOM"]
    assert len(model.requests) == 1


def test_hosted_tools_and_mcp_servers_pass_to_the_sdk_and_langgraph_refuses_them() -> None:
    from agents.mcp import MCPServerStdio

    search = agents.WebSearchTool()
    server = MCPServerStdio(params={"command": "true"}, name="files")
    researcher = agents.Agent(name="Researcher", instructions="Research", tools=[search])
    librarian = agents.Agent(name="Librarian", instructions="Files", mcp_servers=[server],
                             mcp_config={"convert_schemas_to_strict": True})
    pattern = from_sdk_agent(researcher)
    sdk = to_sdk_agents(pattern)["Researcher"]
    assert sdk.tools == [search] and sdk.tools[0] is search  # untouched
    with pytest.raises(UnsupportedError, match="'Researcher'.*WebSearchTool.*run_sdk"):
        Runner.run_sync(pattern, "find papers", model=ScriptedModel([]))
    files = from_sdk_agent(librarian)
    assert to_sdk_agents(files)["Librarian"].mcp_servers == [server]
    assert to_sdk_agents(files)["Librarian"].mcp_config == {"convert_schemas_to_strict": True}
    with pytest.raises(UnsupportedError, match="'Librarian'.*MCP servers.*'files'"):
        Runner.run_sync(files, "list files", model=ScriptedModel([]))


def boss_network() -> agents.Agent[Any]:
    def only_admins(ctx: Any, agent: Any) -> bool:
        assert agent.name == "Boss"
        return bool(ctx.context["admin"])

    @agents.function_tool(is_enabled=only_admins)
    def wipe() -> str:
        """Wipe everything."""
        return "wiped"

    @agents.function_tool
    def status() -> str:
        """The status."""
        return "green"

    helper = agents.Agent(name="Helper", instructions="Help")
    return agents.Agent(name="Boss", instructions="Decide", tools=[
        wipe, status, helper.as_tool(tool_name="ask_helper", tool_description="Ask the helper",
                                     is_enabled=False, max_turns=3)])


@pytest.mark.parametrize("admin", [True, False])
def test_is_enabled_hides_tools_as_the_sdk_does(admin: bool) -> None:
    offered = {}
    model = ScriptedModel([text("ok")])
    plain_run(boss_network(), "hi", model, context={"admin": admin})
    offered["plain"] = model.requests[0]["tools"]
    pattern = from_sdk_agent(boss_network())
    for name, run in (("langgraph", Runner.run_sync), ("openai-agents", run_sdk_sync)):
        model = ScriptedModel([text("ok")])
        run(pattern, "hi", model=model, context={"admin": admin})
        offered[name] = model.requests[0]["tools"]
    assert offered["plain"] == (["wipe", "status"] if admin else ["status"])
    assert offered["plain"] == offered["langgraph"] == offered["openai-agents"]
    (ask,) = [t for t in pattern.agent_map["Boss"].tools if t.name == "ask_helper"]
    assert ask.max_turns == 3


@pytest.mark.parametrize("option", [{"timeout": 5.0}, {"defer_loading": True}])
def test_function_tool_fields_applied_by_the_sdk_runner_are_refused_by_name(
        option: Any) -> None:
    @agents.function_tool(**option)
    async def slow(x: str) -> str:
        """Slow."""
        return x

    key = "timeout_seconds" if "timeout" in option else next(iter(option))
    with pytest.raises(UnsupportedError, match=f"'W'.*{key} of tool 'slow'"):
        from_sdk_agent(agents.Agent(name="W", tools=[slow]))


@pytest.mark.parametrize("option", [
    {"run_config": agents.RunConfig(model="gpt-4.1")},
    {"run_config": agents.RunConfig(handoff_input_filter=lambda data: data)},
    {"input_builder": lambda options: "x"}])
def test_as_tool_options_that_cannot_be_honoured_are_refused_by_name(option: Any) -> None:
    helper = agents.Agent(name="Helper", instructions="Help")
    boss = agents.Agent(name="Boss", instructions="Decide", tools=[
        helper.as_tool(tool_name="ask_helper", tool_description="Ask", **option)])
    key = next(iter(option))
    with pytest.raises(UnsupportedError, match=f"'Boss'.*'ask_helper'.*{key}"):
        from_sdk_agent(boss)


def test_as_tool_run_config_with_tracing_settings_only_is_honoured() -> None:
    helper = agents.Agent(name="Helper", instructions="Help")
    config = agents.RunConfig(tracing_disabled=True, workflow_name="helper")
    boss = agents.Agent(name="Boss", instructions="Decide", tools=[
        helper.as_tool(tool_name="ask_helper", tool_description="Ask", run_config=config)])
    pattern = from_sdk_agent(boss)  # neither runtime traces: nothing to refuse
    model = ScriptedModel([tool_call("ask_helper", input="hi"), text("helped"), text("ok")])
    assert Runner.run_sync(pattern, "go", model=model).final_output == "ok"


class Query(pydantic.BaseModel):
    topic: str
    depth: int = 1


def research_network(include_schema: bool) -> agents.Agent[Any]:
    researcher = agents.Agent(name="Researcher", instructions="Research")
    return agents.Agent(name="Lead", instructions="Lead", tools=[researcher.as_tool(
        tool_name="research", tool_description="Research a topic", parameters=Query,
        include_input_schema=include_schema)])


@pytest.mark.parametrize("include_schema", [False, True])
def test_structured_agent_tool_input_as_the_sdk_builds_it(include_schema: bool) -> None:
    script = [tool_call("research", topic="tides", depth=2), text("Tides follow the moon"),
              text("Summary: the moon")]
    runs = _three(lambda: research_network(include_schema), script, "research tides")
    for name, final, _ in runs:
        assert final == "Summary: the moon", name
    nested = {name: seen(model, 1) for name, _, model in runs}
    assert nested["plain"] == nested["langgraph"] == nested["openai-agents"]
    assert '"topic": "tides"' in nested["plain"][0][1]
    last = {name: seen(model)[-1] for name, _, model in runs}
    assert last["plain"] == last["langgraph"] == last["openai-agents"] == (
        "ToolMessage", "Tides follow the moon")
