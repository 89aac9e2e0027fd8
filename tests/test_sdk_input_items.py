"""Input item lists and continuing a conversation (issue 13 item 9), like the SDK."""

from __future__ import annotations

from typing import Any

import agents
import pytest

from agentpatterns import InputError, Runner
from agentpatterns.adapters.openai_agents import (
    LangChainModel,
    from_sdk_agent,
    run_sdk_sync,
)
from agentpatterns.testing import ScriptedModel, handoff, text
from tests._sdk_parity import assert_agree, three_ways

NO_TRACING = agents.RunConfig(tracing_disabled=True)


def _network() -> agents.Agent[Any]:
    spanish = agents.Agent(name="Spanish", instructions="Answer in Spanish",
                           handoff_description="Spanish speakers")
    return agents.Agent(name="Triage", instructions="Route by language", handoffs=[spanish])


def test_a_list_of_input_items_runs_like_a_string() -> None:
    items = [{"role": "user", "content": "hola"}]
    three = three_ways(_network(), items, [handoff("Spanish"), text("¡Hola!")])
    assert_agree(three)
    assert three.langgraph.final_output == "¡Hola!"
    # the model saw the same conversation on all three
    assert [len(m.requests[1]["messages"]) for m in three.models] == [4, 4, 4]


def test_to_input_list_continues_a_conversation_with_the_last_agent() -> None:
    """The SDK's examples: ``result.to_input_list() + [new message]``, run by
    ``result.last_agent``. Ours: the same list, run by ``pattern.agent(result.last_agent)``."""
    script = [handoff("Spanish"), text("¡Hola! ¿Qué tal?"), text("Muy bien, gracias.")]
    entry = _network()
    plain_model = ScriptedModel(list(script))
    config = agents.RunConfig(tracing_disabled=True, model=LangChainModel(plain_model))
    first = agents.Runner.run_sync(entry, "hola", run_config=config)
    second = agents.Runner.run_sync(
        first.last_agent, [*first.to_input_list(), {"role": "user", "content": "¿y tú?"}],
        run_config=config)
    pattern = from_sdk_agent(entry)
    for run in (Runner.run_sync, run_sdk_sync):
        model = ScriptedModel(list(script))
        one = run(pattern, "hola", model=model)
        items = [*one.to_input_list(), {"role": "user", "content": "¿y tú?"}]
        two = run(pattern.agent(one.last_agent), items, model=model)
        assert (one.last_agent, two.last_agent, two.path) == (
            first.last_agent.name, second.last_agent.name, ["Spanish"])
        assert two.final_output == second.final_output == "Muy bien, gracias."
        # the second run's model saw the whole conversation, as under plain agents.Runner
        seen = [m.type for m in model.requests[-1]["messages"]]
        plain_seen = [m.type for m in plain_model.requests[-1]["messages"]]
        assert seen == plain_seen


@pytest.mark.parametrize("run", [Runner.run_sync, run_sdk_sync])
def test_unusable_input_items_are_one_clear_error(run: Any) -> None:
    pattern = from_sdk_agent(_network())
    with pytest.raises(InputError, match="no user message"):
        run(pattern, [{"role": "system", "content": "be brief"}])
    with pytest.raises(InputError, match="neither a non-empty string nor a list"):
        run(pattern, [])
