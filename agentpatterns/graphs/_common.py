"""Helpers shared by the pattern builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import TurnResult, agent_turn

__all__ = ["fresh_turn", "output_of", "request_of"]


def request_of(state: Mapping[str, Any]) -> str:
    """The user's request of the current run."""
    return str(state.get("input") or "")


def fresh_turn(agent: Agent, text: str, state: Mapping[str, Any], **kwargs: Any) -> Any:
    """A turn on a fresh conversation holding only ``text`` (like ``Runner.run(agent, text)``).

    The agent starts on ``text``, so its input guardrails check it.
    """
    return agent_turn(agent, [HumanMessage(text)], state=state, handoffs=(), check_input=text,
                      **kwargs)


def output_of(res: TurnResult) -> Any:
    """The turn's output: the validated ``output_type`` dump, or the text."""
    return res.output if res.output is not None else res.text


def public_update(res: TurnResult) -> dict[str, Any]:
    """A turn's state update that shows only its final answer in the shared conversation.

    Used where the seed runs an agent on a fresh input (reflection, parallel, supervisor
    workers): the shared ``messages`` get the answer, not the agent's private scratch work.
    """
    update = res.state_update()
    text = output_of(res)
    update["messages"] = [AIMessage(content=text if isinstance(text, str) else str(text),
                                    response_metadata={"agent": res.agent})]
    return update
