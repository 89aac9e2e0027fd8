"""The exceptions SDK users catch (issue 13 item 10): ``except agents.<SameName>`` catches
ours on both runtimes, with the SDK's attributes; ``import agentpatterns`` does not import
the SDK for it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import agents
import pytest

from agentpatterns import (
    Agent,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    OutputGuardrailTripwireTriggered,
    Runner,
    function_tool,
)
from agentpatterns.adapters.openai_agents import from_sdk_agent, run_sdk_sync
from agentpatterns.testing import ScriptedModel, text, tool_call

RUNS = [pytest.param(Runner.run_sync, id="langgraph"), pytest.param(run_sdk_sync, id="sdk")]


@agents.input_guardrail
def no_homework(ctx: Any, agent: Any, value: Any) -> agents.GuardrailFunctionOutput:
    flagged = "homework" in str(value)
    return agents.GuardrailFunctionOutput(output_info={"homework": flagged},
                                          tripwire_triggered=flagged)


@agents.output_guardrail
def no_secrets(ctx: Any, agent: Any, value: Any) -> agents.GuardrailFunctionOutput:
    return agents.GuardrailFunctionOutput(output_info="secret",
                                          tripwire_triggered="secret" in value)


TUTOR = agents.Agent(name="Tutor", instructions="Explain things",
                     input_guardrails=[no_homework], output_guardrails=[no_secrets])


@pytest.mark.parametrize("run", RUNS)
def test_input_tripwire_is_caught_as_the_sdks_with_its_guardrail_result(run: Any) -> None:
    with pytest.raises(agents.InputGuardrailTripwireTriggered) as caught:
        run(from_sdk_agent(TUTOR), "do my homework", model=ScriptedModel([text("no")]))
    exc = caught.value
    assert isinstance(exc, InputGuardrailTripwireTriggered)  # ours too: .result, .agent
    assert exc.guardrail_result.output.output_info == {"homework": True}
    assert exc.guardrail_result.output.tripwire_triggered is True
    assert exc.guardrail_result.guardrail.get_name() == "no_homework"
    assert exc.result.values["stopped"]["agent"] == "Tutor"


@pytest.mark.parametrize("run", RUNS)
def test_output_tripwire_is_caught_as_the_sdks(run: Any) -> None:
    with pytest.raises(agents.OutputGuardrailTripwireTriggered) as caught:
        run(from_sdk_agent(TUTOR), "explain tides", model=ScriptedModel([text("a secret")]))
    assert isinstance(caught.value, OutputGuardrailTripwireTriggered)
    assert caught.value.guardrail_result.output.output_info == "secret"
    with pytest.raises(agents.InputGuardrailTripwireTriggered) as plain:
        agents.Runner.run_sync(TUTOR, "do my homework")  # the SDK's own, for comparison
    assert plain.value.guardrail_result.output.output_info == {"homework": True}


@function_tool
def lookup(query: str) -> str:
    """Look something up."""
    return "nothing"


@pytest.mark.parametrize("run", RUNS)
def test_max_turns_is_the_sdks_max_turns_exceeded(run: Any) -> None:
    agent = Agent(name="Looper", instructions="Keep looking", tools=[lookup])
    model = ScriptedModel([tool_call("lookup", query="x")] * 11)
    with pytest.raises(agents.MaxTurnsExceeded) as caught:
        run(agent, "find it", model=model)  # the default bound: 10 model calls
    assert isinstance(caught.value, MaxTurnsExceeded) and caught.value.message


@pytest.mark.parametrize("run", RUNS)
def test_model_behavior_error_is_the_sdks(run: Any) -> None:
    agent = Agent(name="Caller", instructions="Call tools", tools=[lookup])
    model = ScriptedModel([tool_call("nope"), tool_call("nope")])
    with pytest.raises(agents.ModelBehaviorError) as caught:
        run(agent, "go", model=model)
    assert isinstance(caught.value, ModelBehaviorError)
    assert "nope" in caught.value.message


def test_import_agentpatterns_does_not_import_the_sdk_for_it() -> None:
    # (the import time itself is measured by bench/bench_startup.py, not asserted here)
    code = ("import sys; import agentpatterns; "
            "from agentpatterns import ModelBehaviorError; e = ModelBehaviorError('x'); "
            "print('agents' in sys.modules, type(e).__mro__[1].__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()
    assert out == ["False", "_SDKCompatible"]
