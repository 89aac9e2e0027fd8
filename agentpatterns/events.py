"""Typed events of a streamed run - the same types from both runtimes.

``Runner.run_streamed(pattern, input)`` (LangGraph) and
``agentpatterns.adapters.openai_agents.run_sdk_streamed(pattern, input)`` (OpenAI Agents
SDK) yield these, in the order things happen:

* :class:`AgentStarted` - an agent begins its turn (agents used as tools too);
* :class:`TokenDelta` - a piece of an agent's reply text, as the model streams it;
* :class:`ToolCalled` / :class:`ToolResult` - a function tool or agent-as-tool call;
* :class:`Handoff` - control passes to another agent (``kind``: ``"handoff"``,
  ``"fallback"`` or ``"assign"`` for a supervisor's assignment);
* :class:`Recorded` - an incident logged in the run's ``events`` (a retry, a fallback, a
  cap reached...);
* :class:`GuardrailTripped` - a guardrail stopped the run (the stream then raises the
  tripwire exception, as ``Runner.run`` does);
* :class:`Interrupted` - the run waits for a human decision;
* :class:`RunFinished` - the last event, with the ``RunResult``.

:class:`LangGraphEvents` turns LangGraph stream chunks (``stream_mode=["updates",
"messages", "custom"]``) into these events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from agentpatterns.run.result import RunResult

__all__ = [
    "AgentStarted",
    "Event",
    "GuardrailTripped",
    "Handoff",
    "Interrupted",
    "Recorded",
    "RunFinished",
    "TokenDelta",
    "ToolCalled",
    "ToolResult",
]

#: The LangGraph stream modes the events are built from.


@dataclass(frozen=True, kw_only=True)
class AgentStarted:
    """``agent`` begins a turn.

    Attributes:
        patterns: The nested patterns the agent is in, outermost first (``()`` at the top
            level of the run's pattern), e.g. ``("Research",)``.
    """

    type: ClassVar[str] = "agent_started"
    agent: str
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TokenDelta:
    """A piece of ``agent``'s reply text."""

    type: ClassVar[str] = "token_delta"
    agent: str
    delta: str


@dataclass(frozen=True, kw_only=True)
class ToolCalled:
    """``agent`` called ``tool`` (a function tool or an agent used as a tool)."""

    type: ClassVar[str] = "tool_called"
    agent: str
    tool: str
    args: Mapping[str, Any] = field(default_factory=dict)
    call_id: str = ""


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """``tool`` returned ``output`` to ``agent``."""

    type: ClassVar[str] = "tool_result"
    agent: str
    tool: str
    output: str
    call_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Handoff:
    """Control passes from ``source`` to ``target``.

    Attributes:
        kind: ``"handoff"``, ``"fallback"`` (a failed route went to the fallback agent) or
            ``"assign"`` (a supervisor's assignment; ``reason`` is the task).
    """

    type: ClassVar[str] = "handoff"
    source: str
    target: str
    reason: str = ""
    kind: str = "handoff"

    @property
    def agent(self) -> str:
        """The agent handing off."""
        return self.source


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """An incident the run logged in its ``events`` (``detail`` is the log entry)."""

    type: ClassVar[str] = "recorded"
    kind: str
    agent: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class GuardrailTripped:
    """Guardrail ``guardrail`` (``kind`` ``"input"`` or ``"output"``) of ``agent`` tripped."""

    type: ClassVar[str] = "guardrail_tripped"
    agent: str
    guardrail: str
    kind: str
    info: Any = None


@dataclass(frozen=True, kw_only=True)
class Interrupted:
    """The run waits for a human decision on ``value`` (resume the thread to answer)."""

    type: ClassVar[str] = "interrupted"
    value: Any = None

    @property
    def agent(self) -> str:
        """No agent acts while the run waits."""
        return ""


@dataclass(frozen=True, kw_only=True)
class RunFinished:
    """The run ended (or stopped for a decision); ``result`` is its ``RunResult``."""

    type: ClassVar[str] = "run_finished"
    result: RunResult

    @property
    def agent(self) -> str:
        """The agent whose output is the final output."""
        return self.result.last_agent or ""


Event = (AgentStarted | TokenDelta | ToolCalled | ToolResult | Handoff | Recorded
         | GuardrailTripped | Interrupted | RunFinished)
