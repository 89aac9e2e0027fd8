"""The real ChatOpenAI client against a local OpenAI-protocol server on 127.0.0.1."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from agentpatterns import Runner
from agentpatterns.examples import example
from agentpatterns.nodes.models import describe_model, resolve_model
from tests._openai_server import ToolCall, offered_tool_names


@pytest.mark.parametrize("responses_api", [False, True])
def test_a_tool_call_in_the_reply_becomes_a_handoff(openai_server, responses_api):
    openai_server.script([ToolCall("transfer_to_booking_agent", {}),
                          "Your table for two is booked."])
    model = ChatOpenAI(model="gpt-4.1-mini", base_url=openai_server.base_url, api_key="test",
                       use_responses_api=responses_api)
    result = Runner.run_sync(example("triage"), "I need to book a table", model=model)
    assert result.path == ["Triage Agent", "Booking Agent"]
    assert result.final_output == "Your table for two is booked."
    assert result.model.startswith("openai:gpt-4.1-mini")
    first = openai_server.requests[0]
    assert set(offered_tool_names(first.body)) == {"transfer_to_booking_agent",
                                                   "transfer_to_support_agent"}
    assert result.usage["Triage Agent"]["total"] > 0


def test_environment_selects_the_openai_model(monkeypatch, openai_server):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    model = resolve_model()
    assert isinstance(model, ChatOpenAI)
    assert describe_model(model).startswith("openai:gpt-4.1-mini")
    openai_server.script(["hello from the server"])
    result = Runner.run_sync(example("memory"), "hi there")
    assert result.final_output == "hello from the server"
    monkeypatch.setenv("AGENTPATTERNS_MODEL", "offline")
    assert describe_model(resolve_model()).startswith("offline")


def test_async_run_over_http(openai_server):
    import asyncio

    openai_server.script([ToolCall("transfer_to_support_agent", {}), "Try restarting it."])
    model = ChatOpenAI(model="gpt-4.1-mini", base_url=openai_server.base_url, api_key="test")
    result = asyncio.run(Runner.run(example("triage"), "my wifi is broken", model=model))
    assert result.path == ["Triage Agent", "Support Agent"]
