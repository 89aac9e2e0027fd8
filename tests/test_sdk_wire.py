"""The SDK runtime over the real OpenAI wire protocol (a scripted server on 127.0.0.1).

``ChatOpenAI`` models become the SDK's own ``OpenAIChatCompletionsModel`` /
``OpenAIResponsesModel`` on an ``AsyncOpenAI`` client: real clients, real HTTP, no internet.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from agentpatterns.adapters.openai_agents import resume_sdk, run_sdk
from agentpatterns.examples import EXAMPLES
from tests._openai_server import FakeOpenAIServer, ToolCall, last_user_text, offered_tool_names

APIS = ["chat_completions", "responses"]


def _model(server: FakeOpenAIServer, api: str) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4.1-mini", base_url=server.base_url, api_key="test",
                      use_responses_api=api == "responses", max_retries=0)


def _system(body: dict[str, Any]) -> str:
    if "instructions" in body:  # Responses API
        return str(body["instructions"])
    first = body["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


@pytest.mark.parametrize("api", APIS)
async def test_triage_handoff_over_http(openai_server: FakeOpenAIServer, api: str) -> None:
    builder, request = EXAMPLES["triage"]
    openai_server.script([ToolCall("transfer_to_booking_agent", {}),
                          "Your table for two is booked for 8pm."])
    result = await run_sdk(builder(), request, model=_model(openai_server, api))
    assert result.path == ["Triage Agent", "Booking Agent"]
    assert result.final_output == "Your table for two is booked for 8pm."
    assert result.calls == {"Triage Agent": 1, "Booking Agent": 1}
    assert result.model.startswith("openai:gpt-4.1-mini @ http://127.0.0.1:")
    router, booking = openai_server.completion_requests()
    path = "/v1/responses" if api == "responses" else "/v1/chat/completions"
    # (plus one GET /v1/models: the server profile is probed once per base URL)
    assert {r.path for r in openai_server.requests} - {"/v1/models"} == {path}
    # the same system prompt and tools the LangGraph runtime sends
    assert _system(router) == ("Route users to the appropriate specialist based on their "
                               "needs")
    assert offered_tool_names(router) == ["transfer_to_booking_agent",
                                          "transfer_to_support_agent"]
    assert _system(booking) == "Help users book appointments and reservations"
    assert last_user_text(booking) == request
    assert openai_server.remaining == 0


@pytest.mark.parametrize("api", APIS)
async def test_human_approval_round_trip_over_http(openai_server: FakeOpenAIServer,
                                                   api: str) -> None:
    builder, request = EXAMPLES["human_approval"]
    pattern = builder()
    model = _model(openai_server, api)
    openai_server.script(["1. Dump the data. 2. Restore it into PostgreSQL.",
                          "Done: data restored into PostgreSQL."])
    waiting = await run_sdk(pattern, request, model=model, thread_id=f"wire-{api}")
    assert waiting.interrupted and waiting.path == ["Planner"]
    assert waiting.interruption["plan"] == "1. Dump the data. 2. Restore it into PostgreSQL."
    assert len(openai_server.completion_requests()) == 1  # nothing executes before approval
    done = await resume_sdk(pattern, thread_id=f"wire-{api}", decision=True, model=model)
    assert done.path == ["Planner", "Executor"]
    assert done.final_output == "Done: data restored into PostgreSQL."
    planner, executor = openai_server.completion_requests()
    assert last_user_text(planner) == request
    assert _system(executor) == "Execute plan precisely"
    assert last_user_text(executor) == "1. Dump the data. 2. Restore it into PostgreSQL."


async def test_rejection_makes_no_further_request(openai_server: FakeOpenAIServer) -> None:
    builder, request = EXAMPLES["human_approval"]
    pattern = builder()
    model = _model(openai_server, "chat_completions")
    openai_server.script(["Drop every table."])
    await run_sdk(pattern, request, model=model, thread_id="wire-reject")
    done = await resume_sdk(pattern, thread_id="wire-reject", decision=False, model=model)
    assert done.final_output == "Plan rejected" and done.path == ["Planner"]
    assert len(openai_server.completion_requests()) == 1
