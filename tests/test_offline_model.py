"""The offline model's stated rules, one test per rule."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from agentpatterns import Agent, OfflineModel, Runner, function_tool
from agentpatterns.nodes._text import stem

ROUTES = [
    {
        "type": "function",
        "function": {
            "name": "transfer_to_booking_agent",
            "description": "Handles all booking and reservation requests",
            "parameters": {"type": "object", "properties": {}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "transfer_to_support_agent",
            "description": "Handles customer support and troubleshooting",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


def ask(system: str, *messages, tools=(), **kw):
    model = OfflineModel()
    runnable = model.bind_tools(list(tools), **kw) if tools else model.bind(**kw)
    return runnable.invoke([SystemMessage(system), *messages])


def test_route_picks_the_handoff_sharing_most_stemmed_words():
    book = ask("You are Triage Agent. Route", HumanMessage("I need to book a table"), tools=ROUTES)
    wifi = ask("You are Triage Agent. Route", HumanMessage("troubleshoot my wifi"), tools=ROUTES)
    assert [c["name"] for c in book.tool_calls] == ["transfer_to_booking_agent"]
    assert [c["name"] for c in wifi.tool_calls] == ["transfer_to_support_agent"]


def test_no_match_means_the_agent_answers_itself():
    reply = ask("You are Triage Agent. Route", HumanMessage("hello there"), tools=ROUTES)
    assert reply.tool_calls == []
    assert reply.content == "[Triage Agent] answer based on: hello there"


def test_hand_on_writes_its_part_then_hands_off():
    tools = [
        {
            "type": "function",
            "function": {
                "name": "transfer_to_writer",
                "description": "",
                "parameters": {"type": "object"},
            },
        }
    ]
    reply = ask(
        "You are Researcher. Research the topic thoroughly, then hand off to writer",
        HumanMessage("tides"),
        tools=tools,
    )
    assert reply.content == "[Researcher] research notes based on: tides"
    assert [c["name"] for c in reply.tool_calls] == ["transfer_to_writer"]


def test_never_calls_the_same_tool_twice_for_one_request():
    first = ask("You are Triage Agent. Route", HumanMessage("book a table"), tools=ROUTES)
    again = ask(
        "You are Triage Agent. Route",
        HumanMessage("book a table"),
        first,
        ToolMessage("ok", tool_call_id=first.tool_calls[0]["id"]),
        tools=ROUTES,
    )
    assert again.tool_calls == []


def test_write_names_the_agent_and_its_source():
    reply = ask(
        "You are Writer. Write based on research",
        HumanMessage("tides"),
        AIMessage("[Researcher] research notes based on: tides"),
    )
    assert reply.content == "[Writer] draft 1 based on: [Researcher] research notes based on: tides"


def test_recall_answers_a_question_from_an_earlier_message():
    reply = ask(
        "You are Expert. Learn",
        HumanMessage("My favourite colour is teal."),
        AIMessage("[Expert] noted"),
        HumanMessage("What is my favourite colour?"),
    )
    assert "teal" in reply.content
    other = ask("You are Expert. Learn", HumanMessage("What is my favourite colour?"))
    assert "teal" not in other.content


def test_review_rule_approves_from_draft_three():
    one = ask(
        "You are Critic. Review content", HumanMessage("Review this: [G] draft 1 based on: x")
    )
    three = ask("You are Critic. Review content", HumanMessage("Review this: [G] draft 3 based on"))
    assert one.content.startswith("[Critic] feedback on draft 1")
    assert three.content == "[Critic] APPROVED: draft 3 is ready."


class Domains(BaseModel):
    domains: list[str]
    confidence: float = 0.5
    note: str


def test_structured_output_fills_the_schema_so_it_validates():
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "D", "schema": Domains.model_json_schema()},
    }
    reply = ask(
        "You are Analyzer. Determine expertise",
        HumanMessage("I need advice on tax law and accounting"),
        response_format=fmt,
    )
    parsed = Domains.model_validate_json(reply.content)
    assert parsed.domains == ["tax law", "accounting"]
    assert parsed.confidence == 0.5


def test_usage_is_reported_and_deterministic():
    a = ask("You are Writer. Write", HumanMessage("the sea"))
    b = ask("You are Writer. Write", HumanMessage("the sea"))
    assert a.content == b.content
    assert (
        a.usage_metadata["total_tokens"]
        == a.usage_metadata["input_tokens"] + a.usage_metadata["output_tokens"]
        > 0
    )


def test_streaming_yields_the_same_text_and_tool_calls():
    model = OfflineModel().bind_tools(ROUTES)
    chunks = list(model.stream([SystemMessage("You are T. Route"), HumanMessage("book a table")]))
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert [c["name"] for c in merged.tool_calls] == ["transfer_to_booking_agent"]
    text_chunks = list(
        OfflineModel().stream([SystemMessage("You are W. Write"), HumanMessage("the sea")])
    )
    assert len(text_chunks) > 2
    assert "".join(c.content for c in text_chunks) == "[W] draft 1 based on: the sea"


def test_latency_is_slept_and_overlaps_when_awaited():
    model = OfflineModel(latency=0.2)
    msgs = [SystemMessage("You are W. Write"), HumanMessage("x")]

    async def many():
        return await asyncio.gather(*(model.ainvoke(msgs) for _ in range(5)))

    start = time.perf_counter()
    asyncio.run(many())
    assert time.perf_counter() - start < 0.6  # five calls overlap: about one latency
    start = time.perf_counter()
    model.invoke(msgs)
    assert time.perf_counter() - start >= 0.2


def test_stemmer_examples():
    assert stem("booking") == stem("book")
    assert stem("reservation") == stem("reservations")
    assert stem("coding") == stem("code")
    assert stem("queries") == stem("query")
    assert json.dumps(stem("troubleshooting")) == json.dumps(stem("troubleshoot"))


# --------------------------------------------------------------------------- the arguments rule


def test_tool_arguments_are_filled_from_the_request_by_the_schema() -> None:
    seen: dict[str, object] = {}

    @function_tool
    def track_order(order_id: str) -> str:
        """Track an order's delivery status."""
        seen["track"] = order_id
        return f"{order_id}: shipped"

    @function_tool
    def book_table(restaurant: str, guests: int, day: datetime.date,
                   seating: Literal["inside", "terrace"] = "inside") -> str:
        """Book a restaurant table."""
        seen["book"] = (restaurant, guests, day, seating)
        return "booked"

    desk = Agent(name="Desk", instructions="Help customers", tools=[track_order, book_table])
    Runner.run_sync(desk, "Please track my order A1001, it is late")
    assert seen["track"] == "A1001"  # not the whole sentence
    Runner.run_sync(desk, 'Book a table at "Chez Anna" for 4 guests on 2026-03-14, terrace')
    assert seen["book"] == ("Chez Anna", 4, datetime.date(2026, 3, 14), "terrace")


def test_a_single_free_text_parameter_gets_the_whole_request() -> None:
    from agentpatterns.nodes._tool_args import fill_arguments

    params = {"type": "object", "properties": {"query": {"type": "string"}},
              "required": ["query"]}
    assert fill_arguments(params, "cheap flights to Paris in May") == {
        "query": "cheap flights to Paris in May"}
    ident = {"type": "object", "required": ["sku", "quantity"], "properties": {
        "sku": {"type": "string"}, "quantity": {"type": "integer"},
        "express": {"type": "boolean", "default": False}}}
    assert fill_arguments(ident, "send 3 of SKU-77 to me") == {
        "sku": "SKU-77", "quantity": 3, "express": False}
    pattern = {"type": "object", "properties": {"code": {"type": "string",
                                                         "pattern": "^[A-Z]{3}$"}}}
    assert fill_arguments(pattern, "fly from LIS to the sun") == {"code": "LIS"}
