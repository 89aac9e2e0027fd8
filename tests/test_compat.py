"""OpenAI-compatible server profiles: every adaptation, on both runtimes, against the fake
server (the real llama.cpp server is the ``realmodel`` tier, tests/test_realmodel.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agentpatterns import Agent, ModelCallError, Runner, triage
from agentpatterns.adapters.openai_agents import run_sdk, run_sdk_streamed, run_sdk_sync, sdk_model
from agentpatterns.errors import BudgetExceeded, InputError, ModelBehaviorError
from agentpatterns.examples import example
from agentpatterns.nodes import compat
from agentpatterns.nodes.compat import PROFILES, adapt_request, profile_for, replay_as_stream
from agentpatterns.nodes.models import resolve_model
from tests._openai_server import ErrorReply, FakeOpenAIServer, Reply, ToolCall

LLAMA = PROFILES["llama.cpp"]
TOOLS = [{"type": "function", "function": {"name": "transfer_to_booking_agent",
                                           "description": "Bookings", "parameters": {}}},
         {"type": "function", "function": {"name": "lookup", "description": "Look up",
                                           "parameters": {}}}]


def _router() -> Any:
    booking = Agent(name="Booking Agent", handoff_description="Handles all booking requests",
                    instructions="Help users book")
    support = Agent(name="Support Agent", handoff_description="Handles support",
                    instructions="Help users with problems")
    return triage(Agent(name="Triage Agent", instructions="Route users",
                        handoffs=[booking, support]))


@pytest.fixture
def llama_env(openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The environment pointing at the fake server, declared a llama.cpp server."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_MODEL", "smollm2")
    monkeypatch.setenv("OPENAI_COMPAT", "llama.cpp")
    monkeypatch.setenv("OPENAI_MAX_TOKENS", "77")
    return openai_server


# ------------------------------------------------------------------ request bodies


def test_openai_profile_sends_requests_unchanged() -> None:
    body = {"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}],
            "tools": TOOLS, "stream": True}
    assert adapt_request(PROFILES["openai"], body) == (body, False)


def test_llama_cpp_gets_tool_choice_auto_unless_one_is_given() -> None:
    assert adapt_request(LLAMA, {"messages": [], "tools": TOOLS})[0]["tool_choice"] == "auto"
    named = {"type": "function", "function": {"name": "lookup"}}
    sent = adapt_request(LLAMA, {"messages": [], "tools": TOOLS, "tool_choice": named})[0]
    assert sent["tool_choice"] == named
    assert "tool_choice" not in adapt_request(LLAMA, {"messages": []})[0]


def test_required_tool_choice_becomes_the_tool_by_name_or_auto() -> None:
    one = adapt_request(LLAMA, {"messages": [], "tools": TOOLS[:1],
                                "tool_choice": "required"})[0]
    assert one["tool_choice"] == {"type": "function",
                                  "function": {"name": "transfer_to_booking_agent"}}
    several = adapt_request(LLAMA, {"messages": [], "tools": TOOLS, "tool_choice": "required"})
    assert several[0]["tool_choice"] == "auto"


def test_tool_call_messages_and_tool_results_in_the_form_llama_cpp_renders() -> None:
    messages = [
        {"role": "user", "content": "book"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "table 4 is free"},
    ]
    sent = adapt_request(LLAMA, {"messages": messages, "tools": TOOLS})[0]["messages"]
    assert sent[1]["content"] == "" and sent[1]["tool_calls"] == messages[1]["tool_calls"]
    assert sent[2] == {"role": "user", "content": "Result of lookup: table 4 is free"}
    assert messages[1]["content"] is None  # the caller's body is not changed


def test_structured_output_limits_and_one_call_per_reply() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = {"messages": [], "max_completion_tokens": 50, "tools": TOOLS,
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "A", "schema": schema}}}
    sent = adapt_request(LLAMA, body)[0]
    assert sent["response_format"] == {"type": "json_object", "schema": schema}
    assert sent["max_tokens"] == 50 and "max_completion_tokens" not in sent
    assert sent["stop"] == ["functions."]


def test_tool_argument_strings_are_bounded_on_llama_cpp() -> None:
    # the server ignores max_tokens while writing arguments: the grammar bounds them instead
    tool = {"type": "function", "function": {"name": "python_expert", "parameters": {
        "type": "object", "properties": {"input": {"type": "string"},
                                         "mode": {"type": "string", "enum": ["a", "b"]},
                                         "n": {"type": "integer"}}}}}
    sent = adapt_request(LLAMA, {"messages": [], "tools": [tool]})[0]
    props = sent["tools"][0]["function"]["parameters"]["properties"]
    assert props["input"] == {"type": "string", "maxLength": 200}
    assert props["mode"] == {"type": "string", "enum": ["a", "b"]} and props["n"]["type"] == (
        "integer")
    assert "maxLength" not in tool["function"]["parameters"]["properties"]["input"]


def test_streaming_with_tools_is_made_non_streamed_and_replayed() -> None:
    sent, replay = adapt_request(LLAMA, {"messages": [], "tools": TOOLS, "stream": True,
                                         "stream_options": {"include_usage": True}})
    assert replay and sent["stream"] is False and "stream_options" not in sent
    plain, replay = adapt_request(LLAMA, {"messages": [], "stream": True,
                                          "stream_options": {"include_usage": True}})
    assert not replay and plain["stream"] is True and "stream_options" not in plain
    events = replay_as_stream({"id": "x", "created": 1, "model": "m", "usage": {
        "prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}, "choices": [{
            "finish_reason": "tool_calls", "message": {"content": None, "tool_calls": [
                {"id": "c1", "function": {"name": "lookup", "arguments": "{}"}}]}}]})
    chunks = [json.loads(line[6:]) for line in events.decode().split("\n\n")
              if line.startswith("data: {")]
    assert chunks[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "lookup"
    assert chunks[-1]["usage"]["total_tokens"] == 5
    assert events.endswith(b"data: [DONE]\n\n")


def test_unknown_profile_names_the_choices() -> None:
    with pytest.raises(InputError, match="OPENAI_COMPAT='lmstudio'.*openai, llama.cpp"):
        profile_for("http://127.0.0.1:1/v1", {"OPENAI_COMPAT": "lmstudio"})


def test_probe_reads_owned_by_once_per_base_url(openai_server: FakeOpenAIServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "_PROBED", {})
    monkeypatch.setattr(openai_server, "_model", lambda m: {"id": m, "object": "model",
                                                            "owned_by": "me"})
    assert profile_for(openai_server.base_url, {}).name == "llama.cpp"
    assert profile_for(openai_server.base_url, {}).name == "llama.cpp"
    probes = [r for r in openai_server.requests if r.path == "/v1/models"]
    assert len(probes) == 1
    assert profile_for(None, {}).name == "openai"


# ------------------------------------------------------------------ both runtimes, on the wire


@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
def test_a_handoff_on_llama_cpp_wire_form(llama_env: FakeOpenAIServer, runtime: str) -> None:
    llama_env.script([ToolCall("transfer_to_booking_agent", {}), "Booked."])
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    result = run(_router(), "I need to book a table")
    assert result.path == ["Triage Agent", "Booking Agent"]
    assert "llama.cpp server" in result.model
    first, second = llama_env.completion_requests()
    assert first["tool_choice"] == "auto" and first["stop"] == ["functions."]
    assert first["max_tokens"] == 77 and "max_completion_tokens" not in first
    assistant = [m for m in second["messages"] if m["role"] == "assistant"]
    assert assistant and all(m["content"] is not None for m in assistant)
    assert not [m for m in second["messages"] if m["role"] == "tool"]
    assert any(m["role"] == "user" and m["content"].startswith(
        "Result of transfer_to_booking_agent:") for m in second["messages"])


@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
async def test_streamed_runs_with_tools_call_non_streamed_and_still_emit_events(
        llama_env: FakeOpenAIServer, runtime: str) -> None:
    llama_env.script([ToolCall("transfer_to_booking_agent", {}), "Booked for two."])
    stream = (Runner.run_streamed(_router(), "book a table") if runtime == "langgraph"
              else run_sdk_streamed(_router(), "book a table"))
    kinds = [type(event).__name__ async for event in stream]
    assert "Handoff" in kinds and "TokenDelta" in kinds and kinds[-1] == "RunFinished"
    first, second = llama_env.completion_requests()
    assert first["stream"] is False  # tools offered: no streaming on this server
    assert second["stream"] is True  # the booking agent has no tools: streamed


@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
def test_an_empty_reply_with_tools_is_asked_again_without_them(
        llama_env: FakeOpenAIServer, runtime: str) -> None:
    # llama.cpp's grammar leaves a text answer empty when tools are offered
    llama_env.script([Reply(text=""), "Hello! How can I help?"])
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    result = run(_router(), "hello")
    assert result.final_output == "Hello! How can I help?"
    assert result.calls == {"Triage Agent": 1}
    first, second = llama_env.completion_requests()
    assert first["tools"] and "tools" not in second and "stop" not in second


def test_functions_name_text_is_asked_again_for_that_tool(llama_env: FakeOpenAIServer) -> None:
    llama_env.script(["functions.transfer_to_support_agent:",
                      ToolCall("transfer_to_support_agent", {}), "Restart the router."])
    result = Runner.run_sync(_router(), "my wifi is down")
    assert result.path == ["Triage Agent", "Support Agent"]
    assert llama_env.completion_requests()[1]["tool_choice"] == {
        "type": "function", "function": {"name": "transfer_to_support_agent"}}


def test_sdk_runtime_uses_chat_completions_without_a_responses_api(
        llama_env: FakeOpenAIServer) -> None:
    from agents import OpenAIChatCompletionsModel
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model="m", base_url=llama_env.base_url, api_key="k",
                      use_responses_api=True)
    assert isinstance(sdk_model(chat), OpenAIChatCompletionsModel)


# ------------------------------------------------------------------ defects


@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
def test_a_deterministic_refusal_is_not_retried(openai_server: FakeOpenAIServer,
                                                monkeypatch: pytest.MonkeyPatch,
                                                runtime: str) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.script([ErrorReply(400, "context length exceeded",
                                     code="context_length_exceeded"), "never sent"])
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    with pytest.raises(ModelCallError, match="refused.*not retried") as info:
        run(_router(), "book a table")
    assert len(openai_server.completion_requests()) == 1
    events = [e["type"] for e in info.value.result.events] if getattr(
        info.value, "result", None) else []
    assert "model_error_retry" not in events


@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
def test_llama_cpp_500s_are_validation_errors_not_retried(llama_env: FakeOpenAIServer,
                                                          runtime: str) -> None:
    llama_env.script([ErrorReply(500, "7 validation errors", retry=True), "never sent"])
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    with pytest.raises(ModelCallError, match="refused"):
        run(_router(), "book a table")
    assert len(llama_env.completion_requests()) == 1  # neither the client nor the turn retried


def test_a_transient_failure_is_still_retried_once(openai_server: FakeOpenAIServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_TIMEOUT", "30")
    openai_server.script([ErrorReply(503, "overloaded", retry=True), "Hi there."])
    result = Runner.run_sync(_router(), "hello")
    assert result.final_output == "Hi there."
    assert len(openai_server.completion_requests()) == 2


def test_sdk_runs_in_one_process_one_after_another(openai_server: FakeOpenAIServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # the environment's model is cached: its connections must not outlive their event loop
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.script(["One.", "Two.", "Three."])
    for expected in ("One.", "Two."):
        result = run_sdk_sync(_router(), "hello")
        assert result.final_output == expected and result.events == []
    assert asyncio.run(run_sdk(_router(), "hello")).final_output == "Three."


def test_the_environment_model_has_per_call_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_COMPAT", "openai")
    model: Any = resolve_model()
    assert model.max_tokens == 1024 and model.request_timeout == 120.0
    assert model.max_retries == 2
    monkeypatch.setenv("OPENAI_COMPAT", "llama.cpp")
    assert resolve_model().max_retries == 0  # one request at a time: a retry only queues
    monkeypatch.setenv("OPENAI_MAX_TOKENS", "64")
    monkeypatch.setenv("OPENAI_TIMEOUT", "9.5")
    monkeypatch.setenv("OPENAI_TEMPERATURE", "0")
    model = resolve_model()
    assert (model.max_tokens, model.request_timeout, model.temperature) == (64, 9.5, 0.0)
    monkeypatch.setenv("OPENAI_MAX_TOKENS", "lots")
    with pytest.raises(InputError, match="OPENAI_MAX_TOKENS='lots'"):
        resolve_model()


@pytest.mark.parametrize("runtime", ["langgraph", "sdk"])
async def test_max_tokens_holds_when_streams_carry_no_usage(llama_env: FakeOpenAIServer,
                                                            runtime: str) -> None:
    # reflection's agents have no tools, so their replies are streamed - and llama.cpp
    # ignores include_usage: the generator's long draft must still count
    llama_env.script(["word " * 200, "never sent"])
    p = example("reflection")
    stream = (Runner.run_streamed(p, "a poem", max_tokens=100) if runtime == "langgraph"
              else run_sdk_streamed(p, "a poem", max_tokens=100))
    seen: list[Any] = []
    with pytest.raises(BudgetExceeded, match="max_tokens=100") as info:
        async for event in stream:
            seen.append(event)
    assert len(llama_env.completion_requests()) == 1
    assert llama_env.completion_requests()[0]["stream"] is True
    assert info.value.used >= 200  # estimated: characters / 4
    assert "usage_estimated" in [e["type"] for e in info.value.result.events]


def test_sdk_agent_tool_with_malformed_arguments_is_corrected_then_named(
        openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    p = example("hierarchical")
    openai_server.script([ToolCall("python_expert", '{"input": '),
                          ToolCall("python_expert", {"input": "say hi"}),
                          "print('hi')", "Here it is: print('hi')"])
    result = run_sdk_sync(p, "Write hello world in Python")
    assert result.final_output == "Here it is: print('hi')"
    assert [e["type"] for e in result.events] == ["arguments_retry"]
    openai_server.script([ToolCall("python_expert", '{"input": '),
                          ToolCall("python_expert", '{"code": 1}')])
    with pytest.raises(ModelBehaviorError, match="'Orchestrator'.*python_expert"):
        run_sdk_sync(p, "Write hello world in Python")


def test_demo_on_a_server_names_its_model_and_goes_on_past_a_failure(
        openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmp_cwd: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    from agentpatterns.cli import main
    from tests._openai_server import last_user_text

    def reply(request: dict[str, Any]) -> Any:
        if "tax law" in last_user_text(request):  # dynamic's request: the server refuses
            return ErrorReply(400, "this server cannot do that")
        return "Done."

    openai_server.responder = reply
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    assert main(["demo", "--max-calls", "20"]) == 1
    out = capsys.readouterr().out
    assert "on openai:gpt-4.1-mini @ http://127.0.0.1" in out and "no key" not in out
    assert "dynamic failed: ModelCallError" in out
    assert out.index("dynamic failed") < out.index("human_approval")  # it went on
    assert "dynamic (SDK)" in out and "2 run(s) failed" in out
