"""Run one SDK-style network three ways with the same script: the original ``agents.Agent``
network under plain ``agents.Runner``, and its import (``from_sdk_agent``) under LangGraph's
``Runner.run_sync`` and the adapter's ``run_sdk_sync``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import agents

from agentpatterns import Runner
from agentpatterns.adapters.openai_agents import LangChainModel, from_sdk_agent, run_sdk_sync
from agentpatterns.testing import ScriptedModel


@dataclass
class Three:
    """The three runs and the scripted models that drove them."""

    plain: Any  # agents.RunResult
    langgraph: Any  # our RunResult
    sdk: Any  # our RunResult (runtime "openai-agents")
    models: tuple[ScriptedModel, ScriptedModel, ScriptedModel]

    @property
    def plain_route(self) -> list[str]:
        route: list[str] = []
        for item in self.plain.new_items:
            name = item.agent.name
            if not route or route[-1] != name:
                route.append(name)
        return route


def three_ways(entry: agents.Agent[Any], input: Any, script: Sequence[Any], *,
               before: Any = None, **kwargs: Any) -> Three:
    """Run ``entry`` three ways; ``before()`` is called before each run (reset recorders)."""
    models = (ScriptedModel(list(script)), ScriptedModel(list(script)),
              ScriptedModel(list(script)))
    if before:
        before()
    plain = agents.Runner.run_sync(entry, input, run_config=agents.RunConfig(
        tracing_disabled=True, model=LangChainModel(models[0])), **kwargs)
    pattern = from_sdk_agent(entry)
    if before:
        before()
    lg = Runner.run_sync(pattern, input, model=models[1], **kwargs)
    if before:
        before()
    sdk = run_sdk_sync(pattern, input, model=models[2], **kwargs)
    return Three(plain=plain, langgraph=lg, sdk=sdk, models=models)


def assert_agree(three: Three) -> None:
    """Same route, last agent and final output on all three."""
    assert three.langgraph.path == three.sdk.path == three.plain_route, (
        three.plain_route, three.langgraph.path, three.sdk.path)
    assert three.langgraph.last_agent == three.sdk.last_agent == three.plain.last_agent.name
    assert three.langgraph.final_output == three.sdk.final_output == three.plain.final_output, (
        three.plain.final_output, three.langgraph.final_output, three.sdk.final_output)
