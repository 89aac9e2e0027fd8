"""The fake OpenAI server works with the real OpenAI, LangChain and Agents SDK clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from agents import Agent, ModelSettings, Runner, function_tool, set_tracing_disabled
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from agents.models.openai_responses import OpenAIResponsesModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam
from openai.types.responses import FunctionToolParam, ResponseFunctionToolCall

from tests._openai_server import (
    ErrorReply,
    FakeOpenAIServer,
    Reply,
    ToolCall,
    last_user_text,
    offered_tool_names,
)

MODEL = "gpt-4.1-mini"
USER: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the weather in Paris?"}
]
WEATHER_PARAMETERS: dict[str, object] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": WEATHER_PARAMETERS,
    },
}
WEATHER_TOOL_RESPONSES: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": WEATHER_PARAMETERS,
    "strict": True,
}


@pytest.fixture(autouse=True)
def _no_tracing() -> None:
    """Keeps the Agents SDK from exporting traces to the internet."""
    set_tracing_disabled(True)


@pytest.fixture
def client(openai_server: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    """A real synchronous OpenAI client pointed at the fake server."""
    with openai.OpenAI(base_url=openai_server.base_url, api_key="test") as c:
        yield c


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


def _merge(chunks: list[Any]) -> AIMessageChunk:
    """Adds up streamed LangChain message chunks into one."""
    assert chunks and all(isinstance(c, AIMessageChunk) for c in chunks)
    merged: AIMessageChunk = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


# -- openai.OpenAI: chat completions ---------------------------------------------------------


def test_chat_completion_text_and_tool_call(
    openai_server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.script(["It is sunny.", ToolCall("get_weather", {"city": "Paris"}, "call_1")])

    text = client.chat.completions.create(model=MODEL, messages=USER)
    assert text.choices[0].message.content == "It is sunny."
    assert text.choices[0].finish_reason == "stop"
    assert text.model == MODEL
    assert text.usage is not None
    assert text.usage.total_tokens == text.usage.prompt_tokens + text.usage.completion_tokens

    called = client.chat.completions.create(
        model=MODEL,
        messages=USER,
        tools=[WEATHER_TOOL],
    )
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert call.id == "call_1"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]

    bodies = openai_server.completion_requests()
    assert [b["messages"] for b in bodies] == [USER, USER]
    assert offered_tool_names(bodies[1]) == ["get_weather"]
    assert openai_server.requests[0].headers["authorization"] == "Bearer test"
    assert openai_server.remaining == 0


def test_chat_completion_stream(openai_server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    openai_server.script(
        [
            "Sunny and warm today.",
            Reply(
                text="Checking.",
                tool_calls=[
                    ToolCall("get_weather", {"city": "Paris"}),
                    ToolCall("get_weather", {"city": "Rome"}),
                ],
            ),
        ]
    )

    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len(chunks) > 3
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Sunny and warm today."
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    with client.chat.completions.stream(
        model=MODEL,
        messages=USER,
        tools=[WEATHER_TOOL],
    ) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Checking."
    assert message.tool_calls is not None
    cities = [json.loads(c.function.arguments)["city"] for c in message.tool_calls]
    assert cities == ["Paris", "Rome"]
    assert len({c.id for c in message.tool_calls}) == 2


# -- openai.OpenAI: responses ----------------------------------------------------------------


def test_responses_text_and_function_call(
    openai_server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.script(["It is sunny.", ToolCall("get_weather", {"city": "Paris"})])

    text = client.responses.create(model=MODEL, input="Weather in Paris?", instructions="Be brief")
    assert text.output_text == "It is sunny."
    assert text.status == "completed"
    assert text.usage is not None
    assert text.usage.input_tokens_details.cached_tokens == 0
    assert text.usage.output_tokens_details.reasoning_tokens == 0

    called = client.responses.create(
        model=MODEL,
        input=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL_RESPONSES],
    )
    (item,) = called.output
    assert item.type == "function_call"
    assert item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "Paris"}
    assert item.call_id.startswith("call_")

    first, second = openai_server.completion_requests()
    assert first["instructions"] == "Be brief"
    assert last_user_text(first) == "Weather in Paris?"
    assert last_user_text(second) == "What is the weather in Paris?"
    assert offered_tool_names(second) == ["get_weather"]


def test_responses_stream(openai_server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    openai_server.script(
        ["Sunny and warm.", Reply(text="Checking.", tool_calls=[ToolCall("get_weather", "{}")])]
    )

    events = list(client.responses.create(model=MODEL, input="hi", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    for expected in [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.output_item.done",
    ]:
        assert expected in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Sunny and warm."

    # The client's stream helper checks the events fit together into a response.
    with client.responses.stream(
        model=MODEL,
        input="hi",
        tools=[WEATHER_TOOL_RESPONSES],
    ) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert final.output_text == "Checking."
    assert [item.type for item in final.output] == ["message", "function_call"]
    assert final.usage is not None and final.usage.total_tokens > 0


# -- the server itself -----------------------------------------------------------------------


def test_errors_models_and_responder(
    openai_server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    assert [m.id for m in client.models.list()] == openai_server.models
    assert client.models.retrieve(MODEL).id == MODEL

    with pytest.raises(openai.InternalServerError, match="script is exhausted"):
        client.chat.completions.create(model=MODEL, messages=USER)
    assert len(openai_server.requests) == 3  # no retries

    openai_server.script([ErrorReply(429, "Slow down", "rate_limit_error")])
    with pytest.raises(openai.RateLimitError, match="Slow down"):
        client.responses.create(model=MODEL, input="hi")

    def respond(request: dict[str, Any]) -> str | ToolCall:
        if "get_weather" in offered_tool_names(request):
            return ToolCall("get_weather", {"city": last_user_text(request)})
        return f"echo: {last_user_text(request)}"

    openai_server.responder = respond
    plain = client.responses.create(model=MODEL, input="Rome")
    assert plain.output_text == "echo: Rome"
    routed = client.responses.create(
        model=MODEL,
        input="Oslo",
        tools=[WEATHER_TOOL_RESPONSES],
    )
    call = routed.output[0]
    assert isinstance(call, ResponseFunctionToolCall)
    assert json.loads(call.arguments) == {"city": "Oslo"}

    missing = httpx.post(f"{openai_server.base_url}/nope", json={})
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "/v1/nope" in error["message"]
    assert openai_server.requests[-1].path == "/v1/nope"


def test_server_lifecycle() -> None:
    server = FakeOpenAIServer(["hi"])
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server:
        assert server.base_url.startswith("http://127.0.0.1:")
        with pytest.raises(TypeError):
            server.script([42])  # type: ignore[list-item]
        assert server.remaining == 1
    server.stop()  # stopping twice is fine


# -- langchain_openai.ChatOpenAI -------------------------------------------------------------


@pytest.mark.parametrize("use_responses_api", [False, True], ids=["chat", "responses"])
def test_langchain_chat_openai(openai_server: FakeOpenAIServer, use_responses_api: bool) -> None:
    llm = ChatOpenAI(
        base_url=openai_server.base_url,
        api_key="test",  # type: ignore[arg-type]
        model=MODEL,
        use_responses_api=use_responses_api,
    )
    bound = llm.bind_tools([get_weather])
    openai_server.script(
        [
            ToolCall("get_weather", {"city": "Paris"}, "call_w"),
            "It is sunny in Paris.",
            "Streaming works fine.",
            [ToolCall("get_weather", {"city": "Rome"}), ToolCall("get_weather", {"city": "Oslo"})],
        ]
    )

    asked = bound.invoke([HumanMessage("Weather in Paris?")])
    assert isinstance(asked, AIMessage)
    assert asked.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_w", "type": "tool_call"}
    ]
    assert asked.usage_metadata is not None and asked.usage_metadata["total_tokens"] > 0

    answer = bound.invoke(
        [
            HumanMessage("Weather in Paris?"),
            asked,
            ToolMessage("sunny in Paris", tool_call_id="call_w"),
        ]
    )
    assert answer.text == "It is sunny in Paris."

    chunks = list(llm.stream("Say something"))
    assert len(chunks) > 2
    assert _merge(chunks).text == "Streaming works fine."

    merged = _merge(list(bound.stream("Weather in Rome and Oslo?")))
    assert [c["args"] for c in merged.tool_calls] == [{"city": "Rome"}, {"city": "Oslo"}]

    paths = {r.path for r in openai_server.requests}
    assert paths == {"/v1/responses" if use_responses_api else "/v1/chat/completions"}
    bodies = openai_server.completion_requests()
    assert offered_tool_names(bodies[0]) == ["get_weather"]
    assert openai_server.remaining == 0


# -- the OpenAI Agents SDK -------------------------------------------------------------------


def _agents_model(kind: str, client: openai.AsyncOpenAI) -> Any:
    if kind == "chat":
        return OpenAIChatCompletionsModel(model=MODEL, openai_client=client)
    return OpenAIResponsesModel(model=MODEL, openai_client=client)


@pytest.mark.asyncio
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
@pytest.mark.parametrize("kind", ["chat", "responses"])
async def test_agents_sdk_handoff(
    openai_server: FakeOpenAIServer, kind: str, streamed: bool
) -> None:
    async with openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="test") as client:
        model = _agents_model(kind, client)
        # Off api.openai.com the SDK only asks for usage in streams when told to.
        settings = ModelSettings(include_usage=True)
        billing = Agent(
            name="Billing Agent",
            instructions="Handle billing.",
            model=model,
            model_settings=settings,
        )
        triage = Agent(
            name="Triage",
            instructions="Route the user.",
            model=model,
            handoffs=[billing],
            model_settings=settings,
        )
        openai_server.script(
            [ToolCall("transfer_to_billing_agent", {}), "Your invoice is on its way."]
        )

        if streamed:
            run = Runner.run_streamed(triage, "I need my invoice")
            async for _ in run.stream_events():
                pass
            result: Any = run
        else:
            result = await Runner.run(triage, "I need my invoice")

    assert result.last_agent.name == "Billing Agent"
    assert result.final_output == "Your invoice is on its way."
    first, second = openai_server.completion_requests()
    assert offered_tool_names(first) == ["transfer_to_billing_agent"]
    assert last_user_text(second) == "I need my invoice"
    assert openai_server.remaining == 0
    usage = result.context_wrapper.usage
    assert usage.requests == 2 and usage.total_tokens > 0


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["chat", "responses"])
async def test_agents_sdk_function_tool_round_trip(
    openai_server: FakeOpenAIServer, kind: str
) -> None:
    @function_tool
    def lookup_order(order_id: str) -> str:
        """Looks up an order."""
        return f"order {order_id} shipped"

    async with openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="test") as client:
        agent = Agent(name="Support", model=_agents_model(kind, client), tools=[lookup_order])
        openai_server.script(
            [ToolCall("lookup_order", {"order_id": "A1"}, "call_o"), "Order A1 has shipped."]
        )
        result = await Runner.run(agent, "Where is order A1?")

    assert result.final_output == "Order A1 has shipped."
    _, second = openai_server.completion_requests()
    sent_back = json.dumps(second)
    assert "order A1 shipped" in sent_back
    assert "call_o" in sent_back
