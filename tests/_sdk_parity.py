"""Run one SDK-style network three ways with the same script: the original ``agents.Agent``
network under plain ``agents.Runner``, and its import (``from_sdk_agent``) under LangGraph's
``Runner.run_sync`` and the adapter's ``run_sdk_sync``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import agents
from agents import RunConfig

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


# ---- sdk-a: approvals, context, hooks (plain runs with RunState, another process)

ROOT = Path(__file__).resolve().parent.parent


def seen(model: ScriptedModel, call: int = -1) -> list[tuple[str, str]]:
    """What the model was shown in one call: (message type, text) pairs, system prompt
    excluded."""
    return [(type(m).__name__, str(m.content)) for m in model.requests[call]["messages"]
            if type(m).__name__ != "SystemMessage"]


def plain_run(agent: Any, input: Any, model: ScriptedModel, **kwargs: Any) -> Any:
    """``agents.Runner.run`` on ``model`` (every agent), tracing off."""
    config = RunConfig(model=LangChainModel(model), tracing_disabled=True)
    return asyncio.run(agents.Runner.run(agent, input, run_config=config, **kwargs))


def plain_decide(agent: Any, result: Any, model: ScriptedModel, approve: bool | dict[str, bool],
                 **kwargs: Any) -> Any:
    """Approve/reject a plain run's interruptions (``RunState``) and continue it."""
    state = result.to_state()
    for item in state.get_interruptions():
        verdict = approve if isinstance(approve, bool) else approve[item.raw_item.call_id]
        if verdict:
            state.approve(item)
        else:
            state.reject(item)
    return plain_run(agent, state, model, **kwargs)


def tool_calls(model: ScriptedModel) -> list[tuple[str, dict[str, Any]]]:
    """Every tool call the model made (name, arguments), in order."""
    out = []
    for request in model.requests:
        for message in request["messages"]:
            for call in getattr(message, "tool_calls", None) or ():
                pair = (call["name"], dict(call["args"]))
                if pair not in out:
                    out.append(pair)
    return out


def in_other_process(code: str, **env: str) -> Any:
    """Run ``code`` (which prints one JSON line last) in a fresh interpreter; its value."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
