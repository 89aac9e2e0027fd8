"""output_type as the SDK takes it (issue 13 item 1), on all three runtimes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import agents
import pytest
from agents import AgentOutputSchema, AgentOutputSchemaBase
from pydantic import BaseModel
from typing_extensions import TypedDict

from agentpatterns import Agent, Runner
from agentpatterns.adapters.openai_agents import run_sdk_sync
from agentpatterns.testing import ScriptedModel, handoff, text
from tests._sdk_parity import assert_agree, three_ways


@dataclass
class Weather:
    city: str
    celsius: int


class Ticket(TypedDict):
    title: str
    priority: int


class Verdict(BaseModel):
    approved: bool
    reason: str


class Loose:
    """Not a type pydantic can make a strict schema of: needs strict_json_schema=False."""


@dataclass
class Notes:
    topics: dict[str, Any]


class Upper(AgentOutputSchemaBase):
    """A custom schema: {"word": ...} validated into the upper-cased word."""

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return "Upper"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"word": {"type": "string"}},
                "required": ["word"], "additionalProperties": False}

    def is_strict_json_schema(self) -> bool:
        return True

    def validate_json(self, json_str: str) -> Any:
        return json.loads(json_str)["word"].upper()


CASES = [
    (str, "plain words", "plain words"),
    (Weather, '{"response": {"city": "Oslo", "celsius": 4}}', Weather("Oslo", 4)),
    (Ticket, '{"title": "VPN down", "priority": 1}', {"title": "VPN down", "priority": 1}),
    (list[str], '{"response": ["a", "b"]}', ["a", "b"]),
    (Verdict, '{"approved": true, "reason": "ok"}', Verdict(approved=True, reason="ok")),
    (AgentOutputSchema(Notes, strict_json_schema=False), '{"response": {"topics": {"x": 1}}}',
     Notes(topics={"x": 1})),
    (Upper(), '{"word": "shout"}', "SHOUT"),
]


@pytest.mark.parametrize(("output_type", "answer", "expected"), CASES,
                         ids=["str", "dataclass", "TypedDict", "list", "pydantic",
                              "AgentOutputSchema-nonstrict", "custom-schema"])
def test_every_output_type_the_sdk_accepts_runs_alike(output_type: Any, answer: str,
                                                      expected: Any) -> None:
    writer = agents.Agent(name="Writer", instructions="Answer in the requested shape",
                          handoff_description="Writes answers", output_type=output_type)
    desk = agents.Agent(name="Desk", instructions="Route to the writer", handoffs=[writer])
    three = three_ways(desk, "weather in Oslo", [handoff("Writer"), text(answer)])
    assert_agree(three)
    assert three.langgraph.final_output == expected
    # LangGraph asks for the same JSON schema the SDK asks for
    formats = [m.requests[1]["response_format"] for m in three.models[1:]]
    assert formats[0] == formats[1]


def test_our_agents_take_sdk_output_types_too_and_keep_them_in_the_thread() -> None:
    agent = Agent(name="Forecaster", instructions="Forecast", output_type=Weather)
    answer = text('{"response": {"city": "Bergen", "celsius": 9}}')
    for run in (Runner.run_sync, run_sdk_sync):
        result = run(agent, "Bergen", model=ScriptedModel([answer]))
        assert result.final_output == Weather("Bergen", 9)
    result = Runner.run_sync(agent, "Bergen", model=ScriptedModel([answer]))
    assert result.values["final_output"] == {"city": "Bergen", "celsius": 9}  # JSON in state


def test_a_type_without_a_json_schema_is_refused_naming_the_agent() -> None:
    with pytest.raises(TypeError, match="'Broken': output_type .* has no JSON schema"):
        Agent(name="Broken", output_type=Loose)
