"""Lifecycle hooks (issue 13 item 7): ``RunHooks`` on a run and ``AgentHooks`` on an agent are
called at the same points, with the same arguments, in the same order on plain
``agents.Runner``, on LangGraph (``Runner.run_sync(hooks=)``) and on the SDK runtime
(``run_sdk_sync(hooks=)``) - tools, an agent used as a tool, a handoff, a resumed approval -
and a hook's exception ends the run as in the SDK."""

from __future__ import annotations

from typing import Any

import agents
import pytest
from agents.tool_context import ToolContext as SDKToolContext

from agentpatterns import Agent, AgentHooks, RunHooks, Runner, function_tool
from agentpatterns.adapters.openai_agents import (
    LangChainModel,
    from_sdk_agent,
    resume_sdk_sync,
    run_sdk_sync,
)
from agentpatterns.nodes.context import RunContextWrapper, ToolContext
from agentpatterns.nodes.hooks import ModelResponse
from agentpatterns.testing import ScriptedModel, handoff, text, tool_call
from tests._sdk_parity import plain_decide, plain_run

EVENTS: list[tuple[Any, ...]] = []
RUNTIMES = ["langgraph", "openai-agents"]


def _kinds(response: Any) -> list[str]:
    return [getattr(i, "type", None) or i["type"] for i in response.output]


class SDKRun(agents.RunHooks[Any]):
    """Records every run event with what a user would look at."""

    async def on_agent_start(self, context: Any, agent: Any) -> None:
        EVENTS.append(("run.agent_start", agent.name, type(context).__name__))

    async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
        EVENTS.append(("run.agent_end", agent.name, output))

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: str | None,
                           input_items: list[Any]) -> None:
        EVENTS.append(("run.llm_start", agent.name, system_prompt))

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        EVENTS.append(("run.llm_end", agent.name, _kinds(response), type(response).__name__))

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        EVENTS.append(("run.tool_start", agent.name, tool.name, type(context).__name__,
                       context.tool_call_id != ""))

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
        EVENTS.append(("run.tool_end", agent.name, tool.name, str(result)))

    async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
        EVENTS.append(("run.handoff", from_agent.name, to_agent.name))


class SDKAgent(agents.AgentHooks[Any]):
    def __init__(self, label: str) -> None:
        self.label = label

    async def on_start(self, context: Any, agent: Any) -> None:
        EVENTS.append((f"{self.label}.start", agent.name))

    async def on_end(self, context: Any, agent: Any, output: Any) -> None:
        EVENTS.append((f"{self.label}.end", agent.name, output))

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: str | None,
                           input_items: list[Any]) -> None:
        EVENTS.append((f"{self.label}.llm_start", agent.name))

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        EVENTS.append((f"{self.label}.llm_end", agent.name))

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        EVENTS.append((f"{self.label}.tool_start", agent.name, tool.name))

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
        EVENTS.append((f"{self.label}.tool_end", agent.name, tool.name, str(result)))

    async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
        EVENTS.append((f"{self.label}.handoff", agent.name, source.name))


@agents.function_tool
def lookup(order: str) -> str:
    """Look up an order."""
    return f"order {order}: paid twice"


def _network() -> agents.Agent[Any]:
    translator = agents.Agent(name="Translator", instructions="Translate to English",
                              hooks=SDKAgent("Tr"))
    billing = agents.Agent(name="Billing", instructions="Refunds",
                           handoff_description="Billing questions", hooks=SDKAgent("B"))
    return agents.Agent(
        name="Triage", instructions="Route", hooks=SDKAgent("T"), handoffs=[billing],
        tools=[lookup, translator.as_tool(tool_name="translate", tool_description="Translate")])


SCRIPT = [tool_call("lookup", order="42"), tool_call("translate", input="bonjour"),
          text("hello"), handoff("Billing"), text("Refund issued.")]


def _three(entry: agents.Agent[Any], script: list[Any], hooks: Any) -> dict[str, list[Any]]:
    runs: dict[str, list[Any]] = {}
    EVENTS.clear()
    agents.Runner.run_sync(entry, "refund?", hooks=hooks, run_config=agents.RunConfig(
        tracing_disabled=True, model=LangChainModel(ScriptedModel(list(script)))))
    runs["plain"], EVENTS[:] = list(EVENTS), []
    pattern = from_sdk_agent(entry)
    Runner.run_sync(pattern, "refund?", model=ScriptedModel(list(script)), hooks=hooks)
    runs["langgraph"], EVENTS[:] = list(EVENTS), []
    run_sdk_sync(pattern, "refund?", model=ScriptedModel(list(script)), hooks=hooks)
    runs["openai-agents"], EVENTS[:] = list(EVENTS), []
    return runs


def test_run_and_agent_hooks_fire_alike_on_all_three() -> None:
    runs = _three(_network(), SCRIPT, SDKRun())
    assert runs["langgraph"] == runs["plain"]
    assert runs["openai-agents"] == runs["plain"]
    plain = runs["plain"]
    # the SDK's own order: run hook first (the agent's first for on_llm_end); the nested
    # agent's own hooks fire inside the tool call, the run's hooks do not
    assert plain[:6] == [("run.agent_start", "Triage", "AgentHookContext"),
                         ("T.start", "Triage"), ("run.llm_start", "Triage", "Route"),
                         ("T.llm_start", "Triage"), ("T.llm_end", "Triage"),
                         ("run.llm_end", "Triage", ["function_call"], "ModelResponse")]
    nested = plain.index(("Tr.start", "Translator"))
    assert plain[nested - 2][:3] == ("run.tool_start", "Triage", "translate")
    assert plain[nested + 3] == ("Tr.end", "Translator", "hello")
    assert ("run.handoff", "Triage", "Billing") in plain
    assert ("T.handoff", "Billing", "Triage") in plain  # the SDK calls the source's hooks
    assert plain[-2:] == [("run.agent_end", "Billing", "Refund issued."),
                          ("B.end", "Billing", "Refund issued.")]
    assert not any(e[0].startswith("run.") and e[1] == "Translator" for e in plain)


def test_imported_hooks_see_the_sdk_objects_they_were_written_for() -> None:
    """On every runtime the SDK hooks get the user's own SDK agent and tool objects, SDK
    contexts carrying the run's context= object, and an SDK ModelResponse."""
    seen: dict[str, list[Any]] = {}
    entry = _network()
    billing = entry.handoffs[0]

    class Identity(agents.RunHooks[Any]):
        def __init__(self, key: str) -> None:
            self.key = key

        async def on_agent_start(self, context: Any, agent: Any) -> None:
            seen[self.key].append(("start", agent is entry or agent is billing,
                                   context.context))

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            seen[self.key].append(("tool", tool is lookup or tool.name == "translate",
                                   isinstance(context, SDKToolContext)))

        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            seen[self.key].append(("llm", isinstance(response, agents.ModelResponse),
                                   isinstance(context, agents.RunContextWrapper)))

    state = {"user": "ada"}
    seen["plain"] = []
    agents.Runner.run_sync(entry, "refund?", hooks=Identity("plain"), context=state,
                           run_config=agents.RunConfig(tracing_disabled=True, model=LangChainModel(
                               ScriptedModel(list(SCRIPT)))))
    pattern = from_sdk_agent(entry)
    for key, run in (("langgraph", Runner.run_sync), ("openai-agents", run_sdk_sync)):
        seen[key] = []
        run(pattern, "refund?", model=ScriptedModel(list(SCRIPT)), hooks=Identity(key),
            context=state)
        assert seen[key] == seen["plain"], key
    assert all(flag for event in seen["plain"] for flag in event[1:2])


class Ours(RunHooks):
    """Our own hook classes: our objects on both runtimes."""

    async def on_agent_start(self, context: Any, agent: Any) -> None:
        EVENTS.append(("start", type(context).__name__, type(agent).__name__, agent.name))

    def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:  # a plain method
        EVENTS.append(("tool", type(context).__name__, type(tool).__name__, tool.name,
                       context.tool_arguments))

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        EVENTS.append(("llm", type(response).__name__, response.usage.requests))

    async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
        EVENTS.append(("end", agent.name, output))


class Mine(AgentHooks):
    async def on_start(self, context: Any, agent: Any) -> None:
        EVENTS.append(("mine.start", agent.name, context.context))


@function_tool
def weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_our_hook_classes_get_our_objects_on_both_runtimes(runtime: str) -> None:
    agent = Agent(name="Forecaster", instructions="Forecast", tools=[weather], hooks=Mine())
    script = [tool_call("weather", city="Oslo"), text("Sunny.")]
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    EVENTS.clear()
    run(agent, "weather?", model=ScriptedModel(script), hooks=Ours(), context="ctx")
    assert EVENTS == [
        ("start", RunContextWrapper.__name__, "Agent", "Forecaster"),
        ("mine.start", "Forecaster", "ctx"),
        ("llm", ModelResponse.__name__, 1),
        ("tool", ToolContext.__name__, "FunctionTool", "weather", '{"city": "Oslo"}'),
        ("llm", ModelResponse.__name__, 1),
        ("end", "Forecaster", "Sunny."),
    ], runtime


class Boom(Exception):
    pass


def _raising(method: str) -> Any:
    async def boom(self: Any, *args: Any, **kwargs: Any) -> None:
        raise Boom(f"{method} failed")

    return type("Failing", (agents.lifecycle.RunHooksBase,), {method: boom})()


@pytest.mark.parametrize("method", ["on_agent_start", "on_llm_end", "on_tool_start",
                                    "on_tool_end", "on_handoff", "on_agent_end"])
def test_a_hook_that_raises_ends_the_run_as_in_the_sdk(method: str) -> None:
    """The SDK stops the run with the hook's own exception - except tool hooks, which it
    wraps as ``UserError("Error running tool <name>: ...")``; both our runtimes do the same
    (ours is a ``ToolRunError``, also an ``agents.UserError``)."""
    ran: list[str] = []

    @agents.function_tool
    def book(day: str) -> str:
        """Book a day."""
        ran.append(day)
        return "booked"

    closer = agents.Agent(name="Closer", instructions="Close")
    desk = agents.Agent(name="Desk", instructions="Book", tools=[book], handoffs=[closer])
    script = [tool_call("book", day="mon"), handoff("Closer"), text("Done")]
    expected: type[Exception] = agents.UserError if "tool" in method else Boom
    message = f"Error running tool book: {method} failed" if "tool" in method else method
    outcomes = []
    with pytest.raises(expected, match=message) as plain:
        plain_run(desk, "book", ScriptedModel(list(script)), hooks=_raising(method))
    outcomes.append(list(ran))
    assert isinstance(plain.value, Boom) or isinstance(plain.value.__cause__, Boom)
    pattern = from_sdk_agent(desk)
    for run in (Runner.run_sync, run_sdk_sync):
        ran.clear()
        with pytest.raises(expected, match=message) as ours:
            run(pattern, "book", model=ScriptedModel(list(script)), hooks=_raising(method))
        assert isinstance(ours.value, Boom) or isinstance(ours.value.__cause__, Boom)
        outcomes.append(list(ran))
    assert outcomes[1] == outcomes[2] == outcomes[0]  # the tool ran iff it ran in the SDK


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_resumed_approval_does_not_fire_the_hooks_of_replayed_calls(runtime: str) -> None:
    """The node re-runs after the decision and replays its completed model call from the
    journal: its hooks are not called again; then the approved tool's, the new turn's and the
    next model call's hooks fire - the same sequence as plain agents.Runner with RunState."""

    @agents.function_tool(needs_approval=True)
    def refund(order: str) -> str:
        """Refund an order."""
        return f"refunded {order}"

    billing = agents.Agent(name="Billing", instructions="Refunds", tools=[refund],
                           hooks=SDKAgent("B"))
    script = [tool_call("refund", order="42"), text("Refund handled")]
    EVENTS.clear()
    model = ScriptedModel(list(script))
    first = plain_run(billing, "refund 42", model, hooks=SDKRun())
    plain_decide(billing, first, model, True, hooks=SDKRun())
    expected, EVENTS[:] = list(EVENTS), []
    pattern = from_sdk_agent(billing)
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync
    resume = Runner.resume_sync if runtime == "langgraph" else resume_sdk_sync
    thread = f"hooks-{runtime}"
    waiting = run(pattern, "refund 42", model=ScriptedModel(script[:1]), thread_id=thread,
                  hooks=SDKRun())
    assert waiting.interrupted
    resume(pattern, thread_id=thread, decision=True, model=ScriptedModel(script[1:]),
           hooks=SDKRun())
    assert EVENTS == expected
    # the SDK starts a new turn of the agent after the decision (on_agent_start again), but
    # the replayed model call's on_llm_start/on_llm_end are not called again
    assert [e[0] for e in expected].count("run.agent_start") == 2
    assert [e[0] for e in expected].count("run.llm_start") == 2


def test_streamed_runs_call_the_same_hooks() -> None:
    import asyncio

    from agentpatterns.adapters.openai_agents import run_sdk_streamed

    expected = _three(_network(), SCRIPT, SDKRun())["plain"]
    pattern = from_sdk_agent(_network())

    async def drain(stream: Any) -> list[Any]:
        EVENTS.clear()
        async for _ in stream:
            pass
        return list(EVENTS)

    for stream in (Runner.run_streamed, run_sdk_streamed):
        got = asyncio.run(drain(stream(pattern, "refund?", model=ScriptedModel(list(SCRIPT)),
                                       hooks=SDKRun())))
        assert got == expected, stream.__name__


def test_the_sdk_runtimes_own_approval_gate_is_not_shown_to_the_users_hooks() -> None:
    # human_approval on the SDK runtime waits on a stand-in agent's tool call; the user's
    # run hooks saw that agent ("approval") start, call its model and the tool - LangGraph
    # shows none of it
    from collections import Counter

    from agentpatterns.adapters.openai_agents import resume_sdk_sync
    from agentpatterns.examples import example

    class Counting(RunHooks):
        def __init__(self) -> None:
            self.calls: Counter[str] = Counter()

        def __getattribute__(self, method: str) -> Any:
            if not method.startswith("on_"):
                return object.__getattribute__(self, method)

            def hook(*args: Any, **kwargs: Any) -> None:
                agent = kwargs.get("from_agent") or (args[1] if len(args) > 1 else None)
                self.calls[f"{method}:{getattr(agent, 'name', agent)}"] += 1

            return hook

    seen = {}
    for runtime in ("sdk", "langgraph"):
        hooks = Counting()
        run = run_sdk_sync if runtime == "sdk" else Runner.run_sync
        resume = resume_sdk_sync if runtime == "sdk" else Runner.resume_sync
        waiting = run(example("human_approval"), "migrate the database",
                      thread_id=f"gate-{runtime}", hooks=hooks)
        assert waiting.interrupted
        resume(example("human_approval"), thread_id=f"gate-{runtime}", decision=True,
               hooks=hooks)
        seen[runtime] = dict(hooks.calls)
    assert seen["sdk"] == seen["langgraph"], seen
    assert "on_llm_end:Executor" in seen["sdk"]
