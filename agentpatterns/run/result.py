"""``RunResult``: what a run produced, the same type on both runtimes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunResult", "Step"]


@dataclass(frozen=True, kw_only=True)
class Step:
    """One agent turn of a run, with where it sits in a composition.

    Attributes:
        agent: The agent that took the turn.
        patterns: The pattern path from the run's pattern down to the one the agent is
            in, e.g. ``("Pipeline", "Research")``.
    """

    agent: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a run produced, on either runtime.

    Attributes:
        final_output: The answer: a string, or an instance of the last agent's ``output_type``.
        path: Agents in the order they took a turn (agents used as tools included).
        last_agent: The agent whose output is the final output.
        thread_id: The thread the run is checkpointed under.
        interrupted: True while a human decision is awaited.
        interruption: What to decide on (for human approval: the plan and how to answer).
        model: Which model the run used (``offline (deterministic rules, not an LLM)``...).
        calls: Model calls per agent in this run.
        usage: Token usage per agent in this run.
        handoffs: The handoff log: ``{"from", "to", "reason", "step"}``.
        events: Recorded incidents (fallbacks, retries, caps, rejections).
        tool_calls: Every function tool and agent-as-tool call, in order: ``{"agent",
            "tool", "args", "result", "call_id"}`` (``args`` as the model sent them,
            ``result`` as the model was shown it).
        values: The raw final graph state.
        runtime: ``"langgraph"`` or ``"openai-agents"``.
        steps: ``path`` with each turn's pattern path (nested patterns show where they are).
    """

    final_output: Any
    path: list[str]
    last_agent: str | None
    thread_id: str
    interrupted: bool = False
    interruption: Any = None
    model: str = ""
    calls: dict[str, int] = field(default_factory=dict)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)
    runtime: str = "langgraph"
    steps: tuple[Step, ...] = ()

    @property
    def model_calls(self) -> int:
        """Total model calls in this run."""
        return sum(self.calls.values())

    def to_input_list(self) -> list[dict[str, Any]]:
        """The conversation as OpenAI Agents SDK input items, as ``agents.RunResult``'s.

        Add a user message and pass it to the next run (``Runner.run`` or ``run_sdk``) to
        continue the conversation without a thread. On LangGraph it is the thread's whole
        conversation; on the SDK runtime the SDK's own ``to_input_list()`` of the run.
        """
        items = self.values.get("input_items")
        if items is not None:
            return list(items)
        from agentpatterns.nodes.items import messages_to_items

        return messages_to_items(list(self.values.get("messages") or ()))

    def __repr__(self) -> str:
        def short(value: Any, n: int = 60) -> str:
            text = " ".join(str(value).split())
            return repr(text if len(text) <= n else text[: n - 1] + "…")

        if self.interrupted:
            info = self.interruption
            what = info.get("question", info) if isinstance(info, Mapping) else info
            head = f"interrupted={short(what, 40)}"
        else:
            head = f"final_output={short(self.final_output)}"
        route = " → ".join(self.path) if len(self.path) <= 6 else (
            " → ".join(self.path[:3]) + f" → … ({len(self.path)} turns) → {self.path[-1]}")
        return (f"RunResult({head}, path=[{route}], model_calls={self.model_calls}, "
                f"tool_calls={len(self.tool_calls)}, thread_id={self.thread_id!r})")

    def _repr_html_(self) -> str:
        """The notebook display: route, output or interruption, calls and tokens per agent,
        tool calls and recorded incidents (see :mod:`agentpatterns.run.display`)."""
        from agentpatterns.run.display import result_html

        return result_html(self)
