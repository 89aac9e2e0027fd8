"""Helpers shared by the pattern builders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agentpatterns.errors import InputError
from agentpatterns.graphs.pattern import Participant, Pattern
from agentpatterns.nodes._text import message_text
from agentpatterns.nodes.runtime import TurnResult, agent_turn

__all__ = ["SubRun", "fresh_turn", "output_of", "request_of"]


def request_of(state: Mapping[str, Any]) -> str:
    """The user's request of the current run: ``input``, else the latest user message.

    So a compiled pattern takes ``MessagesState``'s input (``{"messages": [...]}``) as well
    as the runner's.

    Raises:
        InputError: Neither is there (an empty run would silently answer nothing).
    """
    text = state.get("input")
    if text:
        return str(text)
    for message in reversed(state.get("messages") or ()):
        if getattr(message, "type", "") == "human" or (
                isinstance(message, Mapping) and message.get("role") == "user"):
            content = message_text(message) if not isinstance(message, Mapping) else str(
                message.get("content") or "")
            if content.strip():
                return content
    raise InputError("the pattern got no request: pass {'messages': [user message, ...]} "
                     "(LangGraph's MessagesState) or {'input': 'the request'}")


@dataclass(frozen=True)
class SubRun:
    """A nested pattern's turn: run ``pattern`` (a subgraph) on ``messages``/``text``."""

    pattern: Pattern
    messages: list[Any]
    text: str


def fresh_turn(agent: Participant, text: str, state: Mapping[str, Any], **kwargs: Any) -> Any:
    """A turn on a fresh conversation holding only ``text`` (like ``Runner.run(agent, text)``).

    The agent starts on ``text``, so its input guardrails check it. A nested pattern gets a
    ``SubRun``: it runs as a subgraph on the same fresh input.
    """
    if isinstance(agent, Pattern):
        return SubRun(agent, [HumanMessage(text)], text)
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
