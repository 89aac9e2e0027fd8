"""``failure_error_function`` of function tools and agents used as tools (issue 13): the SDK's
default turns a failing tool - or a failing nested agent run - into an error message for the
model and the run goes on; a custom function's message is used; ``None`` stops the run. The
original network under plain ``agents.Runner``, its import on LangGraph and on the SDK
runtime agree; our own ``function_tool`` / ``Agent.as_tool`` do the same on both runtimes."""

from __future__ import annotations

from typing import Any

import agents
import pytest

from agentpatterns import Agent, Runner, function_tool
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync
from agentpatterns.errors import MaxTurnsExceeded, ToolRunError
from agentpatterns.nodes.tools import SDK_TOOL_ERROR
from agentpatterns.testing import ScriptedModel, text, tool_call
from tests._sdk_parity import plain_run

RUNTIMES = ["langgraph", "openai-agents"]


@agents.function_tool
def poll(job: str) -> str:
    """Poll a job."""
    return f"job {job}: still running"


def _tool_outputs(model: ScriptedModel) -> list[str]:
    """The tool results the calling agent was shown in its last model call."""
    return [str(m.content) for m in model.requests[-1]["messages"]
            if type(m).__name__ == "ToolMessage"]


def _desk(**as_tool: Any) -> agents.Agent[Any]:
    """A desk agent using a worker that loops on a tool, bounded to 2 model calls."""
    worker = agents.Agent(name="Worker", instructions="Poll until done", tools=[poll])
    return agents.Agent(name="Desk", instructions="Delegate", tools=[worker.as_tool(
        tool_name="work", tool_description="Do the work", max_turns=2, **as_tool)])


# the desk calls the worker; the worker polls twice (its 2 model calls) and wants a third:
# its nested run exceeds max_turns; then the desk answers
SCRIPT = [tool_call("work", input="run job 7"), tool_call("poll", job="7"),
          tool_call("poll", job="7"), text("Sorry, the job is still running.")]


def _three(entry: agents.Agent[Any], script: list[Any]) -> list[Any]:
    """(final output, tool results the caller saw) - or the error - three ways."""
    out: list[Any] = []
    pattern = from_sdk_agent(entry)
    runs = [lambda m: plain_run(entry, "run job 7", m),
            lambda m: Runner.run_sync(pattern, "run job 7", model=m),
            lambda m: run_sdk_sync(pattern, "run job 7", model=m)]
    for run in runs:
        model = ScriptedModel(list(script))
        try:
            result = run(model)
            out.append((result.final_output, _tool_outputs(model)))
        except Exception as exc:  # the error a user would catch, by the SDK's class
            sdk_class = next(c for c in type(exc).__mro__ if c.__module__.startswith("agents"))
            out.append((sdk_class.__name__, str(exc).split(":")[0]))
    return out


def test_default_a_failing_nested_agent_becomes_an_error_message() -> None:
    plain, langgraph, sdk = _three(_desk(), SCRIPT)
    assert plain[0] == "Sorry, the job is still running."
    assert [o.startswith(SDK_TOOL_ERROR) for o in plain[1]] == [True]
    assert sdk == plain
    if plain[1] == [SDK_TOOL_ERROR]:
        assert langgraph == plain
    else:  # SDK 0.22 appends "Error: <error>"; LangGraph's MaxTurnsExceeded is worded its way
        assert langgraph[0] == plain[0] and langgraph[1][0].startswith(SDK_TOOL_ERROR)


def test_a_custom_function_gives_the_message_on_all_three() -> None:
    seen: list[Any] = []

    def explain(ctx: Any, error: Exception) -> str:
        seen.append((type(ctx).__name__, type(error).__name__))
        return f"the worker gave up ({type(error).__name__})"

    plain, langgraph, sdk = _three(_desk(failure_error_function=explain), SCRIPT)
    assert plain == ("Sorry, the job is still running.",
                     ["the worker gave up (MaxTurnsExceeded)"])
    assert langgraph == plain
    assert sdk == plain
    # the SDK's own context and error class, on every runtime
    assert seen == [("ToolContext", "MaxTurnsExceeded")] * 3


def test_none_stops_the_run_with_the_nested_error() -> None:
    plain, langgraph, sdk = _three(_desk(failure_error_function=None), SCRIPT)
    assert plain[0] == "MaxTurnsExceeded"
    assert langgraph[0] == sdk[0] == "MaxTurnsExceeded"


def test_a_nested_guardrail_trip_goes_to_a_custom_function_as_in_the_sdk() -> None:
    @agents.input_guardrail
    def no_secrets(ctx: Any, agent: Any, value: Any) -> agents.GuardrailFunctionOutput:
        return agents.GuardrailFunctionOutput(output_info="secret",
                                              tripwire_triggered="secret" in str(value))

    worker = agents.Agent(name="Worker", instructions="Work", input_guardrails=[no_secrets])
    desk = agents.Agent(name="Desk", instructions="Delegate", tools=[worker.as_tool(
        tool_name="work", tool_description="Do the work",
        failure_error_function=lambda ctx, error: f"refused: {type(error).__name__}")])
    script = [tool_call("work", input="the secret plan"), text("I cannot share that.")]
    plain, langgraph, sdk = _three(desk, script)
    assert plain == ("I cannot share that.", ["refused: InputGuardrailTripwireTriggered"])
    assert langgraph == plain
    assert sdk == plain


@pytest.mark.parametrize("failure", ["default", "custom", None])
def test_imported_function_tools_follow_their_failure_error_function(failure: Any) -> None:
    def broken(day: str) -> str:
        raise RuntimeError(f"calendar down for {day}")

    options: dict[str, Any] = {} if failure == "default" else {
        "failure_error_function": (lambda ctx, error: f"no booking: {error}")
        if failure == "custom" else None}
    book = agents.function_tool(broken, name_override="book", **options)
    desk = agents.Agent(name="Desk", instructions="Book", tools=[book])
    plain, langgraph, sdk = _three(desk, [tool_call("book", day="mon"), text("Could not book.")])
    if failure is None:
        assert plain == ("UserError", "Error running tool book")
    elif failure == "default":
        assert plain[0] == "Could not book." and plain[1][0].startswith(SDK_TOOL_ERROR)
    else:
        assert plain == ("Could not book.", ["no booking: calendar down for mon"])
    assert langgraph == plain
    assert sdk == plain


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_our_function_tool_and_as_tool_take_failure_error_function(runtime: str) -> None:
    run = Runner.run_sync if runtime == "langgraph" else run_sdk_sync

    @function_tool(failure_error_function=lambda ctx, error: f"{ctx.tool_name} failed: {error}")
    def flaky(n: int) -> str:
        """A flaky tool."""
        raise ValueError(f"bad {n}")

    @function_tool(failure_error_function=None)
    def strict(n: int) -> str:
        """A tool whose failure stops the run."""
        raise ValueError(f"bad {n}")

    model = ScriptedModel([tool_call("flaky", n=1), text("ok")])
    result = run(Agent(name="A", instructions="x", tools=[flaky]), "go", model=model)
    assert result.final_output == "ok"
    assert _tool_outputs(model) == ["flaky failed: bad 1"]
    with pytest.raises(ToolRunError, match="Error running tool strict: bad 2"):
        run(Agent(name="A", instructions="x", tools=[strict]), "go",
            model=ScriptedModel([tool_call("strict", n=2), text("ok")]))

    worker = Agent(name="Worker", instructions="Poll", tools=[flaky])
    for failure, expected in ((None, MaxTurnsExceeded), ("default", None)):
        options = {} if failure == "default" else {"failure_error_function": failure}
        desk = Agent(name="Desk", instructions="Delegate", tools=[worker.as_tool(
            tool_name="work", max_turns=1, **options)])
        model = ScriptedModel([tool_call("work", input="x"), tool_call("flaky", n=3),
                               text("gave up")])
        if expected is not None:
            with pytest.raises(expected):
                run(desk, "go", model=model)
        else:
            assert run(desk, "go", model=model).final_output == "gave up"
            assert _tool_outputs(model) == [SDK_TOOL_ERROR]
