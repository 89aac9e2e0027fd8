"""handoff(...) objects (issue 13 item 4): on_handoff with typed input, name and description
overrides, is_enabled and input_filter - the original SDK network under plain
``agents.Runner``, its import on LangGraph and on the SDK adapter, agree."""

from __future__ import annotations

from typing import Any

import agents
from agents.extensions.handoff_filters import remove_all_tools
from pydantic import BaseModel

from agentpatterns import Agent, Runner
from agentpatterns.adapters.openai_agents import LangChainModel, from_sdk_agent, run_sdk_sync
from agentpatterns.nodes.handoff import HandoffInputData, handoff
from agentpatterns.testing import ScriptedModel, text, tool_call
from tests._sdk_parity import assert_agree, three_ways

SEEN: list[Any] = []


def _reset() -> None:
    SEEN.clear()


class Escalation(BaseModel):
    reason: str
    urgent: bool


def _record(ctx: Any, payload: Escalation) -> None:
    assert isinstance(ctx, agents.RunContextWrapper)
    SEEN.append(payload)


@agents.function_tool
def order_status(order: str) -> str:
    """Look up an order."""
    SEEN.append(f"status:{order}")
    return f"order {order} is delayed"


def _desk(**options: Any) -> tuple[agents.Agent[Any], agents.Agent[Any]]:
    manager = agents.Agent(name="Manager", instructions="Handle escalations",
                           handoff_description="Escalated complaints")
    desk = agents.Agent(name="Desk", instructions="Help, escalate when needed",
                        tools=[order_status], handoffs=[agents.handoff(manager, **options)])
    return desk, manager


def test_on_handoff_gets_the_typed_input_and_the_run_context() -> None:
    desk, _ = _desk(on_handoff=_record, input_type=Escalation)
    script = [tool_call("transfer_to_manager", reason="late order", urgent=True),
              text("I am the manager; sorry about that.")]
    _reset()
    three = three_ways(desk, "my order is late!", script)
    assert_agree(three)
    assert SEEN == [Escalation(reason="late order", urgent=True)] * 3  # once per runtime
    assert three.langgraph.path == ["Desk", "Manager"]


def test_on_handoff_without_input_and_overridden_tool_name_and_description() -> None:
    calls: list[str] = []
    desk, _ = _desk(on_handoff=lambda ctx: calls.append("handed"),
                    tool_name_override="escalate", tool_description_override="Escalate it")
    three = three_ways(desk, "I want a manager", [tool_call("escalate"), text("Manager here.")])
    assert_agree(three)
    assert calls == ["handed"] * 3
    assert [m.requests[0]["tools"] for m in three.models] == [["order_status", "escalate"]] * 3


def test_is_enabled_hides_a_handoff_bool_or_function() -> None:
    for enabled in (False, lambda ctx, agent: agent.name == "Nobody"):
        desk, _ = _desk(is_enabled=enabled)
        three = three_ways(desk, "hello", [text("Hi, how can I help?")])
        assert_agree(three)
        assert [m.requests[0]["tools"] for m in three.models] == [["order_status"]] * 3


def _kinds(model: ScriptedModel) -> list[str]:
    last = model.requests[-1]["messages"]
    return [m.type + ("+calls" if getattr(m, "tool_calls", None) else "") for m in last]


def test_remove_all_tools_filter_shows_the_next_agent_no_tool_traffic() -> None:
    desk, _ = _desk(input_filter=remove_all_tools)
    script = [tool_call("order_status", order="A1"), ("Let me escalate.", tool_call(
        "transfer_to_manager")), text("Manager: refund issued.")]
    three = three_ways(desk, "where is order A1?", script, before=_reset)
    assert_agree(three)
    kinds = [_kinds(m) for m in three.models]
    assert kinds[0] == kinds[1] == kinds[2], kinds
    assert kinds[1] == ["system", "human", "ai"]  # the text of the handoff reply stays


def test_a_custom_filter_of_ours_runs_on_both_runtimes() -> None:
    def last_request_only(data: HandoffInputData) -> HandoffInputData:
        humans = [m for m in data.input_history if m.type == "human"]
        return data.clone(input_history=tuple(humans[-1:]), new_items=())

    manager = Agent(name="Manager", instructions="Handle escalations")
    desk = Agent(name="Desk", instructions="Route",
                 handoffs=[handoff(manager, input_filter=last_request_only)])
    for run in (Runner.run_sync, run_sdk_sync):
        model = ScriptedModel([tool_call("transfer_to_manager"), text("Manager here.")])
        result = run(desk, "I want a manager", model=model)
        assert result.path == ["Desk", "Manager"]
        assert [m.type for m in model.requests[1]["messages"]] == ["system", "human"]


def test_on_handoff_and_is_enabled_see_the_runs_context_object_on_langgraph() -> None:
    from dataclasses import dataclass, field

    @dataclass
    class Session:
        vip: bool = True
        log: list[str] = field(default_factory=list)

    def note(ctx: Any) -> None:
        ctx.context.log.append("handed")

    manager = agents.Agent(name="Manager", instructions="Handle escalations")
    desk = agents.Agent(name="Desk", instructions="Route", handoffs=[agents.handoff(
        manager, on_handoff=note, is_enabled=lambda ctx, agent: ctx.context.vip)])
    script = [tool_call("transfer_to_manager"), text("Manager here.")]
    plain, ours = Session(), Session()
    agents.Runner.run_sync(desk, "manager please", context=plain, run_config=agents.RunConfig(
        tracing_disabled=True, model=LangChainModel(ScriptedModel(list(script)))))

    result = Runner.run_sync(from_sdk_agent(desk), "manager please", context=ours,
                             model=ScriptedModel(list(script)))
    assert result.path == ["Desk", "Manager"]
    assert plain.log == ours.log == ["handed"]  # the user's object, mutated in place


def test_input_filter_gets_the_sdks_split_and_the_runs_context() -> None:
    """``input_history`` (the run's input), ``pre_handoff_items`` (the run's earlier turns,
    another agent's included) and ``new_items`` (the handoff turn), and ``run_context`` with
    the run's context= object - as plain agents.Runner gives them, on both runtimes."""
    seen: list[Any] = []

    def record(data: Any) -> Any:
        history = data.input_history
        seen.append((1 if isinstance(history, str) else len(history),
                     [type(i).__name__ for i in data.pre_handoff_items],
                     [type(i).__name__ for i in data.new_items],
                     data.run_context.context))
        return data

    manager = agents.Agent(name="Manager", instructions="Handle escalations")
    desk = agents.Agent(name="Desk", instructions="Help", tools=[order_status],
                        handoffs=[agents.handoff(manager, input_filter=record)])
    front = agents.Agent(name="Front", instructions="Route", tools=[order_status],
                         handoffs=[desk])
    script = [tool_call("order_status", order="A1"), tool_call("transfer_to_desk"),
              tool_call("order_status", order="A1"), tool_call("transfer_to_manager"),
              text("Manager: refund issued.")]
    state = {"user": "ada"}
    three = three_ways(front, "where is order A1?", script, before=_reset, context=state)
    assert_agree(three)
    assert len(seen) == 3
    assert seen[0] == (1, ["ToolCallItem", "ToolCallOutputItem", "HandoffCallItem",
                           "HandoffOutputItem", "ToolCallItem", "ToolCallOutputItem"],
                       ["HandoffCallItem", "HandoffOutputItem"], state)
    assert seen[1] == seen[0] and seen[2] == seen[0]


def test_our_filter_gets_the_split_on_both_runtimes() -> None:
    seen: list[Any] = []

    def record(data: HandoffInputData) -> HandoffInputData:
        seen.append(([m.type for m in data.input_history],
                     [m.type for m in data.pre_handoff_items],
                     [m.type for m in data.new_items], data.run_context.context))
        return data

    manager = Agent(name="Manager", instructions="Handle escalations")
    desk = Agent(name="Desk", instructions="Route",
                 handoffs=[handoff(manager, input_filter=record)])
    front = Agent(name="Front", instructions="Route", handoffs=[desk])
    for run in (Runner.run_sync, run_sdk_sync):
        model = ScriptedModel([tool_call("transfer_to_desk"), tool_call("transfer_to_manager"),
                               text("Manager here.")])
        result = run(front, "I want a manager", model=model, context="ctx")
        assert result.path == ["Front", "Desk", "Manager"]
    assert seen[0] == (["human"], ["ai", "tool"], ["ai", "tool"], "ctx")
    assert seen[1] == seen[0]
