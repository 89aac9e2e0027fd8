"""The one state schema all patterns share, and its reducers.

Every pattern compiles to a ``StateGraph(PatternState)``. Keys a pattern does not use stay
absent. Per-run keys (path, handoff log, counters, pattern scratch space) are reset at the
start of each new run on a thread, while ``messages`` is the thread's conversation and
carries over (that is how session memory works).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, cast

from langchain_core.messages import AnyMessage
from langgraph.channels import DeltaChannel
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

__all__ = ["RESET", "PatternState", "add_counts", "add_messages_batch", "add_turns", "append",
           "fresh_run_update", "merge"]

#: Written to a per-run key by the runner when a new run starts on an existing thread.
RESET = "__agentpatterns_reset__"


def append(left: list[Any] | None, right: Any) -> list[Any]:
    """Append ``right`` (an item list) to ``left``; ``RESET`` empties the list."""
    if isinstance(right, str) and right == RESET:
        return []
    if left is None:
        left = []
    if not right:
        return left
    if not isinstance(right, list):
        right = [right]
    # the reducer appends, so parallel branches never overwrite each other
    return [*left, *right]


def merge(left: Mapping[str, Any] | None, right: Any) -> dict[str, Any]:
    """Shallow-merge dict ``right`` into ``left`` (fan-in); ``RESET`` empties."""
    if isinstance(right, str) and right == RESET:
        return {}
    out = dict(left or {})
    if right:
        out.update(right)
    return out


def add_counts(left: Mapping[str, Any] | None, right: Any) -> dict[str, Any]:
    """Add numeric counters key by key (model calls and tokens per agent); ``RESET`` empties."""
    if isinstance(right, str) and right == RESET:
        return {}
    out = dict(left or {})
    for key, value in (right or {}).items():
        if isinstance(value, Mapping):
            out[key] = add_counts(out.get(key), value)
        else:
            out[key] = out.get(key, 0) + value
    return out


def add_turns(left: int | None, right: Any) -> int:
    """Add model turns (``Runner.run(max_turns=)`` counts them); ``RESET`` restarts at 0."""
    if isinstance(right, str) and right == RESET:
        return 0
    return int(left or 0) + int(right or 0)


def add_messages_batch(left: list[Any], writes: Sequence[Any]) -> list[Any]:
    """``add_messages`` over a whole step's writes in one call (``DeltaChannel``'s reducer).

    Merging by id over the concatenated writes equals merging them one by one, so the
    result does not depend on how LangGraph batches them when it replays a thread.
    """
    right: list[Any] = []
    for write in writes:
        if isinstance(write, list):
            right.extend(write)
        else:
            right.append(write)
    return cast(list[Any], add_messages(left, right))


class PatternState(TypedDict, total=False):
    """Graph state of every compiled pattern.

    Attributes:
        messages: The thread's conversation (user, agents, tool calls and results).
        input: The user's request of the current run.
        path: Agents in the order they took a turn in this run.
        handoffs: The handoff log: ``{"from", "to", "reason", "step"}`` per handoff.
        results: The latest output of each agent (fan-in merges them).
        usage: Model calls and token usage per agent in this run (``calls``, ``input``,
            ``output``, ``total``): one channel, so a turn writes one channel fewer.
        events: Recorded incidents: fallbacks, retries (``unknown_retry``,
            ``arguments_retry``, ``model_error_retry``, ``output_retry``), tripped guardrails,
            caps, rejected decisions.
        tool_calls: The function tools and agents-as-tools called in this run, in order:
            ``{"agent", "tool", "args", "result", "call_id"}``.
        final_output: The run's answer (a string, or a dumped ``output_type`` model).
        last_agent: The agent whose output is ``final_output``.
        drafts: Reflection: every draft, in order.
        critiques: Reflection: every critique, in order.
        iteration: Reflection: drafts written so far.
        assignments: Supervisor: ``{"worker", "task", "round"}`` per assignment.
        reports: Supervisor: ``{"worker", "report", "round"}`` per report.
        rounds: Supervisor: assignments made so far.
        branches: Parallel and dynamic: per-branch ``{"status", "output", "error"}``.
        domains: Dynamic: the domains the analyzer named (after the cap).
        specialists: Dynamic: the specs of the agents created at run time.
        made: Agents created at run time (by a ``dynamic`` pattern, here or nested) -> the
            pattern path below this pattern they are in (``RunResult.steps`` names it).
        plan: Human approval: the plan awaiting or given approval.
        decision: Human approval: the decision that was taken.
        turns: Model calls of the run's own turns (agents used as tools excluded), written
            only when the run has a ``max_turns=`` bound.
        stopped: Why the run ended early, if it did: ``{"reason": "guardrail", "kind",
            "agent", "guardrail", "info"}`` for a tripped guardrail, ``{"reason":
            "rejected", ...}`` for a rejected plan. (A budget stop raises inside the node and
            writes nothing: the thread stays at its last completed step, to be resumed.)
    """

    # A DeltaChannel: a checkpoint stores the step's new messages, not the whole
    # conversation again (and a full snapshot every 100 updates), so a step's checkpoint
    # cost stays flat as the history grows; a fan-in of K branches is merged in one call.
    messages: Annotated[list[AnyMessage], DeltaChannel(add_messages_batch)]
    input: str
    path: Annotated[list[str], append]
    handoffs: Annotated[list[dict[str, Any]], append]
    results: Annotated[dict[str, Any], merge]
    usage: Annotated[dict[str, dict[str, int]], add_counts]
    events: Annotated[list[dict[str, Any]], append]
    tool_calls: Annotated[list[dict[str, Any]], append]
    final_output: Any
    last_agent: str
    drafts: Annotated[list[str], append]
    critiques: Annotated[list[str], append]
    iteration: int
    assignments: Annotated[list[dict[str, Any]], append]
    reports: Annotated[list[dict[str, Any]], append]
    rounds: int
    branches: Annotated[dict[str, dict[str, Any]], merge]
    domains: list[str]
    specialists: list[dict[str, Any]]
    made: Annotated[dict[str, list[str]], merge]
    plan: str
    decision: dict[str, Any]
    stopped: dict[str, Any] | None
    turns: Annotated[int, add_turns]


_PER_RUN_APPEND = (
    "path",
    "handoffs",
    "results",
    "usage",
    "events",
    "tool_calls",
    "drafts",
    "critiques",
    "assignments",
    "reports",
    "branches",
    "made",
)


def fresh_run_update(user_input: str, message: Any) -> dict[str, Any]:
    """The input of a new run on a (possibly used) thread: new request, per-run keys reset.

    ``message`` is the request's message, or a list of messages (input items).
    """
    update: dict[str, Any] = {key: RESET for key in _PER_RUN_APPEND}
    update.update(
        messages=list(message) if isinstance(message, list) else [message],
        input=user_input,
        final_output=None,
        last_agent="",
        iteration=0,
        rounds=0,
        domains=[],
        specialists=[],
        plan="",
        decision={},
        stopped=None,
        turns=RESET,
    )
    return update
