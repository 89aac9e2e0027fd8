"""Malformed tool arguments from the model, for every kind of tool, on both runtimes.

The rule (found by the real-model tier, issue 15): whatever tool the model calls - a function
tool (ours or an imported SDK one), an agent used as a tool, a supervisor's
``assign_to_<worker>``, a handoff - its arguments are read the way the LangGraph runtime
reads them (LangChain's lenient JSON: raw control characters inside strings are accepted,
empty arguments are ``{}``); arguments that are still malformed get one corrective message
(an ``arguments_retry`` event), then the fallback agent or our ``ModelBehaviorError`` naming
the agent and the tool - never an SDK exception. Against the fake OpenAI server, so both
runtimes go through their real wire code.
"""

from __future__ import annotations

import json
from typing import Any

import agents
import pydantic
import pytest

from agentpatterns import Agent, Runner, function_tool, handoff, triage
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync
from agentpatterns.errors import ModelBehaviorError
from agentpatterns.examples import example
from tests._openai_server import FakeOpenAIServer, ToolCall

RUNTIMES = ["langgraph", "sdk"]
BROKEN = '{"city": '  # not JSON however leniently read
#: a raw newline inside a JSON string: strict JSON refuses it, LangChain reads it
RAW_NEWLINE = '{"task": "line one\nline two"}'


@pytest.fixture
def server(openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    return openai_server


def _run(runtime: str, target: Any, request: str, **kwargs: Any) -> Any:
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    return run(target, request, **kwargs)


def _types(result: Any) -> list[str]:
    return [e["type"] for e in result.events]


def _tool_outputs(server: FakeOpenAIServer) -> list[str]:
    """Every tool result the model was shown, in the last request."""
    last = server.completion_requests()[-1]
    if "messages" in last:
        return [str(m.get("content")) for m in last["messages"] if m.get("role") == "tool"]
    return [str(i.get("output")) for i in last.get("input", [])
            if isinstance(i, dict) and i.get("type") == "function_call_output"]


# ------------------------------------------------------------------ supervisor assign tools


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_control_characters_in_assign_arguments_are_read_as_on_langgraph(
        server: FakeOpenAIServer, runtime: str) -> None:
    # what SmolLM2 sent on llama.cpp: the SDK runtime raised the SDK's raw UserError
    # "Error running tool assign_to_worker_2: Invalid control character"
    server.script([ToolCall("assign_to_worker_1", RAW_NEWLINE), "report one", "All done"])
    result = _run(runtime, example("supervisor"), "Plan a launch")
    assert result.final_output == "All done"
    assert result.path == ["Supervisor", "Worker 1", "Supervisor"]
    assert "arguments_retry" not in _types(result)
    assert result.values["assignments"][0]["task"] == "line one\nline two"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_assign_arguments_are_corrected_once_then_named(
        server: FakeOpenAIServer, runtime: str) -> None:
    server.script([ToolCall("assign_to_worker_1", BROKEN),
                   ToolCall("assign_to_worker_1", {"task": "research"}), "report", "Done"])
    result = _run(runtime, example("supervisor"), "Plan a launch")
    assert result.final_output == "Done"
    assert _types(result) == ["arguments_retry"]
    assert [a["task"] for a in result.values["assignments"]] == ["research"]
    server.script([ToolCall("assign_to_worker_1", BROKEN),
                   ToolCall("assign_to_worker_2", '{"task": "x"')])
    with pytest.raises(ModelBehaviorError, match="'Supervisor'.*assign_to_worker_2") as info:
        _run(runtime, example("supervisor"), "Plan a launch")
    assert "agents.exceptions" not in type(info.value).__module__


# ------------------------------------------------------------------ function tools


@function_tool
def lookup(city: str) -> str:
    """Look up a city.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


def _weather_agent(**kwargs: Any) -> Agent:
    return Agent(name="Weather", instructions="Answer with the lookup tool", tools=[lookup],
                 **kwargs)


def _sdk_weather_agent() -> Agent:
    @agents.function_tool
    def lookup(city: str) -> str:
        """Look up a city.

        Args:
            city: The city.
        """
        return f"{city}: sunny"

    return from_sdk_agent(agents.Agent(name="Weather", instructions="Answer with the lookup "
                                       "tool", tools=[lookup]))


@pytest.mark.parametrize("make", [_weather_agent, _sdk_weather_agent], ids=["ours", "sdk-tool"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_function_tool_arguments_are_corrected_once_then_named(
        server: FakeOpenAIServer, runtime: str, make: Any) -> None:
    server.script([ToolCall("lookup", BROKEN), ToolCall("lookup", '{"city": "Pa\nris"}'),
                   "Sunny"])
    result = _run(runtime, make(), "Weather in Paris?")
    assert result.final_output == "Sunny"
    assert _types(result) == ["arguments_retry"]
    assert [c["args"] for c in result.tool_calls] == [{"city": "Pa\nris"}]
    assert any("call it again" in out.lower() for out in _tool_outputs(server))
    server.script([ToolCall("lookup", BROKEN), ToolCall("lookup", '{"city": "x"')])
    with pytest.raises(ModelBehaviorError, match="'Weather'.*lookup"):
        _run(runtime, make(), "Weather in Paris?")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_function_tool_arguments_that_do_not_fit_are_corrected_once(
        server: FakeOpenAIServer, runtime: str) -> None:
    server.script([ToolCall("lookup", {"town": "Paris"}), ToolCall("lookup", {"city": "Paris"}),
                   "Sunny"])
    result = _run(runtime, _weather_agent(), "Weather in Paris?")
    assert result.final_output == "Sunny"
    assert _types(result) == ["arguments_retry"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_arguments_twice_go_to_the_fallback_agent(
        server: FakeOpenAIServer, runtime: str) -> None:
    helpdesk = Agent(name="Helpdesk", instructions="Answer anything")
    router = Agent(name="Router", instructions="Route or look up", tools=[lookup],
                   handoffs=[Agent(name="Booking", instructions="Book")])
    server.script([ToolCall("lookup", BROKEN), ToolCall("lookup", BROKEN), "Helpdesk here"])
    result = _run(runtime, triage(router, fallback=helpdesk), "Weather?")
    assert result.final_output == "Helpdesk here"
    assert result.path == ["Router", "Helpdesk"]
    assert _types(result)[:2] == ["arguments_retry", "arguments"]
    assert {"type": "fallback", "reason": "arguments", "to": "Helpdesk"}.items() <= \
        next(e for e in result.events if e["type"] == "fallback").items()


# ------------------------------------------------------------------ agents as tools


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_agent_tool_arguments_are_corrected_once_then_named(
        server: FakeOpenAIServer, runtime: str) -> None:
    p = example("hierarchical")
    server.script([ToolCall("python_expert", '{"input": '),
                   ToolCall("python_expert", '{"input": "say\nhi"}'),
                   "print('hi')", "Here it is: print('hi')"])
    result = _run(runtime, p, "Write hello world in Python")
    assert result.final_output == "Here it is: print('hi')"
    assert _types(result) == ["arguments_retry"]
    server.script([ToolCall("python_expert", '{"input": '),
                   ToolCall("python_expert", '{"code": 1}')])
    with pytest.raises(ModelBehaviorError, match="'Orchestrator'.*python_expert"):
        _run(runtime, p, "Write hello world in Python")


# ------------------------------------------------------------------ handoffs


class Escalation(pydantic.BaseModel):
    reason: str


def _escalating(seen: list[Any]) -> Any:
    billing = Agent(name="Billing", instructions="Handle billing")

    def on_handoff(ctx: Any, payload: Escalation) -> None:
        seen.append(payload)

    return triage(Agent(name="Front", instructions="Route billing questions",
                        handoffs=[handoff(billing, on_handoff=on_handoff,
                                          input_type=Escalation)]))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_handoff_input_is_corrected_once_then_named(
        server: FakeOpenAIServer, runtime: str) -> None:
    seen: list[Any] = []
    server.script([ToolCall("transfer_to_billing", '{"reason": '),
                   ToolCall("transfer_to_billing", '{"reason": "double\ncharge"}'),
                   "Refunded"])
    result = _run(runtime, _escalating(seen), "I was charged twice")
    assert result.final_output == "Refunded"
    assert result.path == ["Front", "Billing"]
    assert _types(result) == ["arguments_retry"]
    assert seen == [Escalation(reason="double\ncharge")]
    assert [h["to"] for h in result.handoffs] == ["Billing"]
    server.script([ToolCall("transfer_to_billing", '{"reason": '),
                   ToolCall("transfer_to_billing", '{"reason": 1')])
    with pytest.raises(ModelBehaviorError, match="'Front'.*transfer_to_billing"):
        _run(runtime, _escalating(seen), "I was charged twice")
    assert len(seen) == 1


def test_tool_arguments_json_is_what_both_runtimes_record(server: FakeOpenAIServer) -> None:
    # the same reply gives the same recorded arguments on both runtimes
    recorded = []
    for runtime in RUNTIMES:
        server.script([ToolCall("lookup", '{"city": "Pa\tris"}'), "Sunny"])
        recorded.append(_run(runtime, _weather_agent(), "Weather?").tool_calls[0]["args"])
    assert recorded == [{"city": "Pa\tris"}] * 2
    assert json.dumps(recorded[0]) == '{"city": "Pa\\tris"}'


# ------------------------------------------------------------------ a pattern used as a tool


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_pattern_tool_arguments_are_corrected_once_then_named(
        server: FakeOpenAIServer, runtime: str) -> None:
    from agentpatterns import sequential

    team = sequential([Agent(name="Drafter", instructions="Draft"),
                       Agent(name="Polisher", instructions="Polish")], name="Team")
    boss = Agent(name="Boss", instructions="Use the team", tools=[team.as_tool(
        tool_name="team", tool_description="Drafts and polishes")])
    server.script([ToolCall("team", '{"input": '), ToolCall("team", '{"input": "a\nb"}'),
                   "draft", "polished", "Here: polished"])
    result = _run(runtime, boss, "Write a note")
    assert result.final_output == "Here: polished"
    assert _types(result) == ["arguments_retry"]
    assert result.path == ["Boss", "Drafter", "Polisher"]  # the caller's turn goes on
    server.script([ToolCall("team", '{"input": '), ToolCall("team", '{"task": "x"}')])
    with pytest.raises(ModelBehaviorError, match="'Boss'.*team"):
        _run(runtime, boss, "Write a note")
