"""The OpenAI Agents SDK adapter: mapping both ways, the model bridge, sessions, approvals."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import agents
import pytest
from agents import RunConfig
from agents.run_context import RunContextWrapper
from agents.tool_context import ToolContext
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from agentpatterns import (
    Agent,
    OfflineModel,
    ResumeError,
    Runner,
    SQLiteSession,
    UnsupportedError,
    function_tool,
    hierarchical,
    memory,
    reflection,
    sequential,
    triage,
)
from agentpatterns.adapters.openai_agents import (
    CheckpointSession,
    LangChainModel,
    from_sdk_agent,
    resume_sdk,
    resume_sdk_sync,
    run_sdk,
    run_sdk_sync,
    sdk_model,
    to_sdk_agent,
    to_sdk_agents,
)
from agentpatterns.adapters.openai_agents.bridge import items_to_messages, messages_to_items
from agentpatterns.errors import InputError
from agentpatterns.examples import EXAMPLES, example
from agentpatterns.nodes.runtime import system_prompt

ROOT = Path(__file__).resolve().parents[1]
NO_TRACING = RunConfig(tracing_disabled=True)


class Booking(BaseModel):
    """A structured answer."""

    guests: int = 2
    venue: str


@function_tool
def get_weather(city: str, unit: str = "C") -> str:
    """Current weather for a city.

    Args:
        city: The city's name.
        unit: C or F.
    """
    return f"sunny in {city} ({unit})"


@function_tool
async def count_words(text: str) -> dict[str, int]:
    """Count the words of a text.

    Args:
        text: The text.
    """
    return {"words": len(text.split())}


def _network() -> Agent:
    sql = Agent(name="SQL Expert", instructions="Write SQL queries")
    booking = Agent(name="Booking Agent", instructions="Help users book",
                    handoff_description="Handles all booking and reservation requests",
                    output_type=Booking)
    return Agent(name="Front Desk", instructions="Route users to the right place",
                 handoffs=[booking],
                 tools=[get_weather, count_words,
                        sql.as_tool(tool_name="sql_expert", tool_description="For SQL")])


# ------------------------------------------------------------------ to_sdk_agent


def test_to_sdk_agent_maps_instructions_handoffs_tools_and_output_type() -> None:
    front = _network()
    sdk = to_sdk_agent(front)
    assert isinstance(sdk, agents.Agent)
    assert sdk.name == "Front Desk"
    assert sdk.instructions == system_prompt(front, {}) == (
        "Route users to the right place")  # as written: no name prefix
    (h,) = sdk.handoffs
    assert isinstance(h, agents.Handoff)
    assert h.tool_name == "transfer_to_booking_agent"
    assert h.tool_description == "Handles all booking and reservation requests"
    target = h._agent_ref()
    assert target.handoff_description == "Handles all booking and reservation requests"
    assert target.output_type is Booking
    weather, words, sql = sdk.tools
    assert isinstance(weather, agents.FunctionTool)
    assert (weather.name, weather.description) == ("get_weather", "Current weather for a city.")
    assert weather.params_json_schema == get_weather.params_json_schema
    assert weather.strict_json_schema is False  # an optional argument: not strict-compatible
    assert words.strict_json_schema is True
    assert sql._is_agent_tool and sql._agent_instance.name == "SQL Expert"
    assert (sql.name, sql.description) == ("sql_expert", "For SQL")
    assert isinstance(sdk.model, LangChainModel)


async def test_sdk_function_tool_validates_with_our_parser_and_calls_sync_or_async() -> None:
    sdk = to_sdk_agent(_network())
    weather, words, _ = sdk.tools

    def ctx(tool: Any, raw: str) -> ToolContext[Any]:
        return ToolContext(context=None, tool_name=tool.name, tool_call_id="c1",
                           tool_arguments=raw)

    raw = '{"city": "Paris"}'
    assert await weather.on_invoke_tool(ctx(weather, raw), raw) == "sunny in Paris (C)"
    raw = '{"text": "one two three"}'
    # a non-str result reaches the model as the SDK converts it: str(value)
    assert await words.on_invoke_tool(ctx(words, raw), raw) == str({"words": 3})
    bad = await weather.on_invoke_tool(ctx(weather, '{"town": 1}'), '{"town": 1}')
    assert bad.startswith("Error: arguments for 'get_weather' do not fit")


def test_callable_instructions_become_sdk_dynamic_instructions() -> None:
    agent = Agent(name="Echo", instructions=lambda state: f"Repeat {state.get('input')}")
    sdk = to_sdk_agent(agent)
    assert callable(sdk.instructions)
    prompt = asyncio.run(sdk.get_system_prompt(RunContextWrapper(context={"input": "hi"})))
    assert prompt == "Repeat hi"
    result = run_sdk_sync(agent, "hello there")
    assert result.final_output == Runner.run_sync(agent, "hello there").final_output


def test_to_sdk_agent_of_patterns() -> None:
    assert to_sdk_agent(example("triage")).name == "Triage Agent"
    assert [t.name for t in to_sdk_agent(example("hierarchical")).tools] == [
        "sql_expert", "python_expert"]
    with pytest.raises(UnsupportedError, match="reflection.*run_sdk"):
        to_sdk_agent(example("reflection"))
    steps = [Agent(name="A", instructions="a"), Agent(name="B", instructions="b")]
    with pytest.raises(UnsupportedError, match="sequence edge 'A' -> 'B'"):
        to_sdk_agent(sequential(steps))
    assert set(to_sdk_agents(example("parallel"))) == {
        "Researcher 1", "Researcher 2", "Researcher 3", "Synthesizer"}


def _no_homework(context: Any, agent: Any, text: Any) -> Any:
    return agents.GuardrailFunctionOutput(output_info={"homework": "homework" in text},
                                          tripwire_triggered="homework" in text)


def test_guardrails_survive_both_conversions() -> None:
    guarded = Agent(name="Tutor", instructions="Explain", input_guardrails=[_no_homework])
    sdk = to_sdk_agent(guarded)
    assert [g.get_name() for g in sdk.input_guardrails] == ["_no_homework"]
    assert from_sdk_agent(sdk).agents[0] is guarded
    native = agents.Agent(name="Tutor", instructions="Explain",
                          input_guardrails=[agents.InputGuardrail(_no_homework)])
    (ours,) = from_sdk_agent(native).agents[0].input_guardrails
    assert ours.get_name() == "_no_homework"
    assert ours.guardrail_function is _no_homework


def test_every_run_gets_its_own_sdk_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, bool]] = []
    real = agents.Runner.run

    async def spy(starting_agent: Any, input: Any, **kwargs: Any) -> Any:
        seen.append((id(starting_agent), kwargs["run_config"].tracing_disabled))
        return await real(starting_agent, input, **kwargs)

    monkeypatch.setattr(agents.Runner, "run", spy)
    builder, request = EXAMPLES["hierarchical"]
    pattern = builder()

    async def two() -> None:
        await asyncio.gather(run_sdk(pattern, request), run_sdk(pattern, request))

    asyncio.run(two())
    # two top-level runs and two nested agent-as-tool runs, all on distinct agents,
    # all with SDK tracing off
    assert len(seen) == 4 and len({i for i, _ in seen}) == 4
    assert all(off for _, off in seen)


# ------------------------------------------------------------------ from_sdk_agent


def test_round_trip_gives_back_our_agents() -> None:
    front = _network()
    pattern = from_sdk_agent(to_sdk_agent(front))
    assert pattern.agent("Front Desk") is front
    edges = {(e.source, e.target, e.kind) for e in pattern.edges}
    assert ("Front Desk", "Booking Agent", "handoff") in edges
    assert ("Front Desk", "SQL Expert", "tool") in edges
    assert ("Front Desk", "Front Desk:get_weather", "tool") in edges


def test_from_sdk_agent_converts_a_native_sdk_network() -> None:
    @agents.function_tool
    def lookup_order(order_id: str) -> str:
        """Look up an order by id."""
        return f"order {order_id} shipped"

    sql = agents.Agent(name="SQL Expert", instructions="Write SQL queries")
    billing = agents.Agent(name="Billing", instructions="Answer billing questions",
                           handoff_description="Billing and invoices", tools=[lookup_order])
    front = agents.Agent(name="Front Desk", instructions="Route the customer",
                         model="gpt-4.1-mini",
                         handoffs=[agents.handoff(billing)],
                         tools=[sql.as_tool(tool_name="ask_sql", tool_description="SQL help")])
    billing.handoffs.append(front)  # a cycle: billing can hand back
    pattern = from_sdk_agent(front, name="desk")
    assert pattern.name == "desk"
    ours = pattern.agent_map
    assert set(ours) == {"Front Desk", "Billing", "SQL Expert"}
    assert ours["Front Desk"].instructions == "Route the customer"
    assert ours["Front Desk"].model == "openai:gpt-4.1-mini"
    assert ours["Billing"].handoffs == (ours["Front Desk"],)
    assert ours["Billing"].handoff_description == "Billing and invoices"
    (tool,) = ours["Front Desk"].tools
    assert (tool.name, tool.agent) == ("ask_sql", ours["SQL Expert"])
    edges = {(e.source, e.target, e.kind) for e in pattern.edges}
    assert {("Front Desk", "Billing", "handoff"), ("Billing", "Front Desk", "handoff"),
            ("Front Desk", "SQL Expert", "tool"), ("Billing", "Billing:lookup_order", "tool")
            } <= edges
    (lookup,) = ours["Billing"].tools
    assert lookup.params_json_schema["properties"]["order_id"]["type"] == "string"
    assert asyncio.run(lookup.fn(**lookup.parse_arguments('{"order_id": "7"}'))) == (
        "order 7 shipped")
    # the converted network runs on LangGraph (offline)
    routed = Runner.run_sync(pattern, "I have a billing question about an invoice",
                             model=OfflineModel())
    assert routed.path == ["Front Desk", "Billing"]


def test_from_sdk_agent_maps_models() -> None:
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    offline = OfflineModel()
    a = agents.Agent(name="A", instructions="x", model=LangChainModel(offline))
    assert from_sdk_agent(a).agents[0].model is offline
    b = agents.Agent(name="B", instructions="x",
                     model=OpenAIResponsesModel(model="gpt-4.1", openai_client=client))
    chat = from_sdk_agent(b).agents[0].model
    assert (chat.model_name, chat.openai_api_base, chat.use_responses_api) == (
        "gpt-4.1", "http://127.0.0.1:9/v1/", True)
    c = agents.Agent(name="C", instructions="x",
                     model=OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client))
    assert from_sdk_agent(c).agents[0].model.model_name == "gpt-4o"


@pytest.mark.parametrize("make, match", [
    (lambda: agents.Agent(name="W", handoffs=[agents.handoff(
        agents.Agent(name="T"), nest_handoff_history=True)]), "nest_handoff_history"),
])
# hosted tools, MCP servers and tool guardrails are honoured now (tests/test_sdk_tools.py)
def test_from_sdk_agent_refuses_what_it_cannot_map(make: Any, match: str) -> None:
    with pytest.raises(UnsupportedError, match=match):
        from_sdk_agent(make())


# ------------------------------------------------------------------ the bridge


def test_bridge_runs_offline_model_under_agents_runner() -> None:
    model = LangChainModel(OfflineModel())
    booking = agents.Agent(name="Booking Agent", model=model,
                           instructions="You are Booking Agent. Help users book",
                           handoff_description="Handles all booking and reservation requests")
    router = agents.Agent(name="Triage Agent", model=model, handoffs=[booking],
                          instructions="You are Triage Agent. Route users")
    result = agents.Runner.run_sync(router, "I need to book a table", run_config=NO_TRACING)
    assert result.last_agent.name == "Booking Agent"
    assert result.final_output == "[Booking Agent] answer based on: I need to book a table"
    assert result.context_wrapper.usage.requests == 2
    assert result.context_wrapper.usage.input_tokens > 0


def test_bridge_function_tools_structured_output_and_streaming() -> None:
    model = LangChainModel(OfflineModel())
    weather = to_sdk_agent(Agent(name="Forecaster", instructions="Answer with the weather",
                                 tools=[get_weather]))
    result = agents.Runner.run_sync(weather, "What is the weather in Oslo?",
                                    run_config=NO_TRACING)
    assert result.final_output.startswith("[Forecaster] answer based on: sunny in What is")
    typed = agents.Agent(name="Booker", instructions="You are Booker.", model=model,
                         output_type=Booking)
    booked = agents.Runner.run_sync(typed, "a table at Noma", run_config=NO_TRACING)
    assert isinstance(booked.final_output, Booking) and booked.final_output.guests == 2

    async def stream() -> tuple[str, Any]:
        run = agents.Runner.run_streamed(weather, "What is the weather in Oslo?",
                                         run_config=NO_TRACING)
        deltas = [e.data.delta async for e in run.stream_events()
                  if e.type == "raw_response_event"
                  and e.data.type == "response.output_text.delta"]
        return "".join(deltas), run.final_output

    text, final = asyncio.run(stream())
    assert text == final == result.final_output


def test_items_to_messages_folds_a_reply_and_keeps_replies_apart() -> None:
    items = [
        {"role": "user", "content": "hi"},
        {"type": "message", "role": "assistant", "id": "msg_lc_r1",
         "content": [{"type": "output_text", "text": "Routing you.", "annotations": []}]},
        {"type": "function_call", "id": "fc_lc_r1_0", "call_id": "c1",
         "name": "transfer_to_x", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": '{"assistant": "X"}'},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "message", "role": "assistant", "id": "msg_lc_r2",
         "content": [{"type": "output_text", "text": "Done.", "annotations": []}]},
        {"type": "function_call", "id": "fc_lc_r3_0", "call_id": "c2", "name": "t",
         "arguments": "not json"},
    ]
    messages = items_to_messages("You are X.", items)
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, ToolMessage,
                                           AIMessage, AIMessage]
    assert messages[2].content == "Routing you."
    assert messages[2].tool_calls[0]["name"] == "transfer_to_x"
    assert messages[4].tool_calls == []  # a later reply's call is not folded into "Done."
    assert messages[5].invalid_tool_calls[0]["args"] == "not json"
    back = items_to_messages(None, messages_to_items(messages[1:5]))
    assert [(type(m), m.content) for m in back] == [(type(m), m.content) for m in messages[1:5]]
    with pytest.raises(UnsupportedError, match="web_search_call"):
        items_to_messages(None, [{"type": "web_search_call", "id": "w"}])


def test_model_bridge_choice() -> None:
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model="gpt-4.1-mini", base_url="http://127.0.0.1:9/v1", api_key="k")
    bridged = sdk_model(chat)
    assert isinstance(bridged, OpenAIChatCompletionsModel) and bridged.model == "gpt-4.1-mini"
    assert str(bridged._client.base_url) == "http://127.0.0.1:9/v1/"
    assert bridged._client.api_key == "k" and sdk_model(chat) is bridged
    responses = ChatOpenAI(model="gpt-4.1", base_url="http://127.0.0.1:9/v1", api_key="k",
                           use_responses_api=True)
    assert isinstance(sdk_model(responses), OpenAIResponsesModel)
    assert isinstance(sdk_model(OfflineModel()), LangChainModel)
    assert sdk_model(bridged) is bridged


# ------------------------------------------------------------------ running


def test_run_result_shape_and_handoff_log() -> None:
    builder, request = EXAMPLES["triage"]
    result = run_sdk_sync(builder(), request, thread_id="shape-1")
    assert result.runtime == "openai-agents" and result.thread_id == "shape-1"
    assert result.last_agent == "Booking Agent" and result.model_calls == 2
    assert result.handoffs == [{"from": "Triage Agent", "to": "Booking Agent", "step": 1,
                                "reason": "Handles all booking and reservation requests"}]
    assert result.usage["Triage Agent"]["total"] > 0
    assert result.model.startswith("offline")
    with pytest.raises(InputError):
        run_sdk_sync(builder(), "  ")


def test_hierarchical_tool_agent_with_handoffs_answers_itself() -> None:
    helper = Agent(name="Helper", instructions="Help")
    sql = Agent(name="SQL Expert", instructions="Write SQL queries", handoffs=[helper])
    boss = Agent(name="Orchestrator", instructions="Coordinate", tools=[
        sql.as_tool(tool_name="sql_expert", tool_description="Use for database queries")])
    pattern = hierarchical(boss)
    lg = Runner.run_sync(pattern, "Write SQL queries for sales")
    sdk = run_sdk_sync(pattern, "Write SQL queries for sales")
    assert sdk.path == lg.path == ["Orchestrator", "SQL Expert"]
    assert sdk.final_output == lg.final_output


def test_triage_fallback_takes_unplaced_requests() -> None:
    booking = Agent(name="Booking Agent", instructions="Help users book",
                    handoff_description="Handles all booking and reservation requests")
    router = Agent(name="Front Desk", instructions="Route users", handoffs=[booking])
    helpdesk = Agent(name="Helpdesk", instructions="Answer anything")
    pattern = triage(router, fallback=helpdesk)
    result = run_sdk_sync(pattern, "what is the meaning of life")
    assert result.path == ["Front Desk", "Helpdesk"] == Runner.run_sync(
        pattern, "what is the meaning of life").path
    assert result.events == [{"type": "no_route", "agent": "Front Desk", "to": "Helpdesk"}]


def test_import_agentpatterns_does_not_import_the_sdk() -> None:
    code = ("import sys, agentpatterns, agentpatterns.testing, agentpatterns.examples; "
            "print(sorted(m for m in ('agents', 'openai', 'langchain_openai') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ sessions and memory


def test_checkpoint_session_is_an_sdk_session(tmp_path: Path) -> None:
    from agents.memory import Session

    url = f"sqlite:///{tmp_path / 's.db'}"
    session = CheckpointSession("chat-1", url)
    assert isinstance(session, Session)

    async def use() -> None:
        await session.add_items([{"role": "user", "content": "hello"},
                                 {"role": "assistant", "content": "hi!"}])
        items = await session.get_items()
        assert [i.get("role") for i in items] == ["user", "assistant"]
        assert await session.get_items(limit=1) == items[-1:]
        popped = await session.pop_item()
        assert popped["role"] == "assistant" and len(await session.get_items()) == 1
        await session.clear_session()
        assert await session.get_items() == []

    asyncio.run(use())


def test_a_conversation_moves_between_runtimes(tmp_path: Path) -> None:
    pattern = example("memory")
    session = SQLiteSession("expert_system", tmp_path / "memory.db")
    Runner.run_sync(pattern, "My favourite colour is teal.", session=session)
    sdk = run_sdk_sync(pattern, "What is my favourite colour?", session=session)
    assert sdk.final_output == (
        "[Expert] From our earlier conversation: My favourite colour is teal.")
    run_sdk_sync(pattern, "My dog is called Rex.", session=session)
    lg = Runner.run_sync(pattern, "What is my dog called?", session=session)
    assert lg.final_output == "[Expert] From our earlier conversation: My dog is called Rex."
    assert [type(m).__name__ for m in lg.values["messages"]] == [
        "HumanMessage", "AIMessage"] * 4
    other = SQLiteSession("someone_else", tmp_path / "memory.db")
    assert "earlier" not in run_sdk_sync(pattern, "What is my dog called?",
                                         session=other).final_output


def test_thread_ids_are_conversations_on_both_runtimes() -> None:
    pattern = memory(Agent(name="Expert", instructions="You learn from past conversations"))
    run_sdk_sync(pattern, "My city is Lisbon.", thread_id="both-1")
    assert Runner.run_sync(pattern, "What is my city?", thread_id="both-1").final_output == (
        "[Expert] From our earlier conversation: My city is Lisbon.")


def test_long_term_facts_follow_the_user(tmp_path: Path) -> None:
    pattern = example("memory")
    db = tmp_path / "facts.db"
    run_sdk_sync(pattern, "My favourite food is ramen.",
                 session=SQLiteSession("a", db, user_id="u1"))
    for runner in (run_sdk_sync, Runner.run_sync):
        answer = runner(pattern, "What is my favourite food?",
                        session=SQLiteSession(f"fresh-{runner.__name__}", db, user_id="u1"))
        assert answer.final_output == (
            "[Expert] From our earlier conversation: My favourite food is ramen.")


def test_a_native_sdk_session_is_accepted(tmp_path: Path) -> None:
    session = agents.SQLiteSession("native", str(tmp_path / "native.db"))
    pattern = example("memory")
    run_sdk_sync(pattern, "My name is Ada.", session=session)
    result = run_sdk_sync(pattern, "What is my name?", session=session)
    assert result.thread_id == "native" and "My name is Ada." in result.final_output


# ------------------------------------------------------------------ approvals


def _refund_pattern() -> Any:
    @function_tool(needs_approval=True)
    def refund_order(order: str) -> str:
        """Refund an order for the customer.

        Args:
            order: The order id.
        """
        return f"refunded {order}"

    billing = Agent(name="Billing Agent", instructions="Help with billing",
                    handoff_description="Handles refunds and invoices", tools=[refund_order])
    return triage(Agent(name="Front Desk", instructions="Route users", handoffs=[billing]))


@pytest.mark.parametrize("decision, expected", [
    (True, "[Billing Agent] answer based on: refunded Please refund my order 42"),
    (False, "[Billing Agent] answer based on: Tool execution was not approved."),
])
def test_function_tool_approval_in_a_network(decision: bool, expected: str) -> None:
    pattern = _refund_pattern()
    waiting = run_sdk_sync(pattern, "Please refund my order 42", thread_id=f"refund-{decision}")
    assert waiting.interrupted and waiting.path == ["Front Desk", "Billing Agent"]
    (approval,) = waiting.interruption["approvals"]
    assert approval["tool"] == "refund_order" and approval["agent"] == "Billing Agent"
    done = resume_sdk_sync(pattern, thread_id=f"refund-{decision}", decision=decision)
    assert not done.interrupted and done.final_output.startswith(expected[:30])
    assert done.path == ["Front Desk", "Billing Agent"]
    assert done.calls == {"Front Desk": 1, "Billing Agent": 2}
    assert len(done.handoffs) == 1


def test_resume_errors() -> None:
    pattern = example("human_approval")
    with pytest.raises(ResumeError, match="no SDK run waiting"):
        resume_sdk_sync(pattern, thread_id="never-ran", decision=True)
    run_sdk_sync(pattern, "Ship it", thread_id="twice")
    with pytest.raises(InputError):
        resume_sdk_sync(pattern, thread_id="twice", decision="yes please")
    resume_sdk_sync(pattern, thread_id="twice", decision=True)
    with pytest.raises(ResumeError, match="already finished"):
        resume_sdk_sync(pattern, thread_id="twice", decision=True)


async def test_approval_resumes_in_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    builder, request = EXAMPLES["human_approval"]
    waiting = await run_sdk(builder(), request, thread_id="proc-1", store=url)
    assert waiting.interrupted and waiting.interruption["tool"] == "execute_plan"
    code = textwrap.dedent(f"""
        from agentpatterns.adapters.openai_agents import resume_sdk_sync
        from agentpatterns.examples import example
        r = resume_sdk_sync(example("human_approval"), thread_id="proc-1", decision=True,
                            store={url!r})
        print(r.path, r.final_output)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == (
        "['Planner', 'Executor'] [Executor] execution report based on: [Planner] plan based "
        "on: Migrate the customer database to PostgreSQL")
    with pytest.raises(ResumeError, match="already finished"):
        await resume_sdk(builder(), thread_id="proc-1", decision=True, store=url)


def test_reflection_records_drafts_and_the_stop_rule() -> None:
    gen = Agent(name="Generator", instructions="Generate content")
    critic = Agent(name="Critic", instructions="Review content and provide feedback")
    result = run_sdk_sync(reflection(gen, critic, iterations=5,
                                     stop_when=lambda fb: "APPROVED" in fb), "a haiku")
    assert len(result.values["drafts"]) == 3
    assert result.values["critiques"][-1] == "[Critic] APPROVED: draft 3 is ready."
    assert result.events[-1]["type"] == "stop_when"


@pytest.mark.parametrize("module", ["agentpatterns.adapters.openai_agents",
                                    "agentpatterns.adapters.openai_agents.bridge",
                                    "agentpatterns.adapters.openai_agents.session"])
def test_docstring_examples_run(module: str, tmp_cwd: Path) -> None:
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module),
                                      optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def test_assert_same_route_example_runs() -> None:
    import doctest

    from agentpatterns import testing

    finder = doctest.DocTestFinder()
    (test,) = [t for t in finder.find(testing.assert_same_route) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_a_resumed_network_run_is_finished_once() -> None:
    pattern = _refund_pattern()
    run_sdk_sync(pattern, "Please refund my order 7", thread_id="refund-once")
    resume_sdk_sync(pattern, thread_id="refund-once", decision=True)
    with pytest.raises(ResumeError, match="already finished"):
        resume_sdk_sync(pattern, thread_id="refund-once", decision=True)
