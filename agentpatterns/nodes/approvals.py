"""Tool approvals inside an agent turn: the run stops *before* a gated tool runs.

A tool with ``needs_approval`` (``True``, or the SDK's ``(ctx, params, call_id) -> bool``,
sync or async) is not called when the model asks for it. The turn collects every such call
of the model's reply - the other calls of the reply run first, as in the SDK - and the
driver stops the run with LangGraph's ``interrupt()``::

    {"question": "Approve these tool calls?",
     "approvals": [{"agent", "tool", "arguments" (JSON text), "call_id"}, ...]}

(``RunResult.interruption``; the same shape as on the SDK runtime). ``Runner.resume(...,
decision=...)`` answers it, from any process: ``True`` approves every pending call,
``False`` rejects every one, ``{"approved": False, "feedback": "why"}`` rejects with that
message, ``{"calls": {call_id: True | False}}`` decides call by call (calls left out stay
pending and are asked for again). As with the SDK's ``RunState.reject``, a rejected call is
not run: the model gets ``"Tool execution was not approved."`` (or the feedback) as the
call's result and the turn goes on.

When the node runs again after the interrupt, its completed model and tool calls are
replayed from the turn journal (:mod:`agentpatterns.nodes.journal`), not repeated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentpatterns.errors import InputError
from agentpatterns.nodes.context import RunContextWrapper, current_context

__all__ = [
    "QUESTION",
    "REJECTION_MESSAGE",
    "Approval",
    "ApprovalCheck",
    "PendingCall",
    "ask",
    "gated",
    "needs_approval",
    "verdicts_of",
]

#: What a rejected call returns to the model (the SDK's ``DEFAULT_APPROVAL_REJECTION_MESSAGE``).
REJECTION_MESSAGE = "Tool execution was not approved."
QUESTION = "Approve these tool calls?"


@dataclass(frozen=True)
class PendingCall:
    """One tool call waiting for a decision."""

    agent: str
    tool: Any  # FunctionTool | AgentTool
    args: dict[str, Any]
    call_id: str
    raw: str = ""

    def describe(self) -> dict[str, Any]:
        """The call as the interruption lists it (JSON values only: it is checkpointed)."""
        return {"agent": self.agent, "tool": self.tool.name,
                "arguments": self.raw or json.dumps(self.args), "call_id": self.call_id}


@dataclass(frozen=True)
class ApprovalCheck:
    """A turn's request: does this call need a decision? (the tool's ``needs_approval``)"""

    call: PendingCall


@dataclass(frozen=True)
class Approval:
    """A turn's request: decide on these calls (of one model reply) before they run."""

    calls: tuple[PendingCall, ...]


def gated(tool: Any) -> bool:
    """True when calls of ``tool`` may need approval (its ``needs_approval`` is not False)."""
    setting = getattr(tool, "needs_approval", False)
    return setting is not False


def needs_approval(request: ApprovalCheck) -> Any:
    """Whether ``call`` needs a decision: the tool's setting, or its function's answer for
    ``(ctx, params, call_id)`` (may be awaitable; the caller awaits it)."""
    call = request.call
    setting = getattr(call.tool, "needs_approval", False)
    if isinstance(setting, bool):
        return setting
    return setting(RunContextWrapper(context=current_context()), dict(call.args), call.call_id)


def verdicts_of(decision: Any, calls: Sequence[PendingCall]
                ) -> dict[str, tuple[bool, str | None]]:
    """The decided calls of ``calls`` under ``decision`` (undecided ones are left out).

    Raises:
        InputError: A decision that is not ``True``/``False`` or a decision mapping.
    """
    if isinstance(decision, bool):
        decision = {"approved": decision}
    if not isinstance(decision, Mapping):
        raise InputError(f"decision {decision!r} for tool approvals is not understood; pass "
                         "True, False, {'approved': bool, 'feedback': str} or "
                         "{'calls': {call_id: bool}}")
    per_call = decision.get("calls") or {}
    if not isinstance(per_call, Mapping):
        raise InputError("decision['calls'] must map call ids to True or False")
    default = decision.get("approved")
    feedback = decision.get("feedback") or None
    out: dict[str, tuple[bool, str | None]] = {}
    for call in calls:
        verdict = per_call.get(call.call_id, default)
        if verdict is None:
            continue
        if not isinstance(verdict, bool):
            raise InputError(f"decision for call {call.call_id!r} must be True or False")
        out[call.call_id] = (verdict, None if verdict else feedback)
    return out


def ask(request: Approval) -> dict[str, tuple[bool, str | None]]:
    """Stop the run (``interrupt()``) until every call of ``request`` is decided.

    Returns ``{call_id: (approved, message)}``.
    """
    from langgraph.types import interrupt

    out: dict[str, tuple[bool, str | None]] = {}
    pending = list(request.calls)
    while pending:
        decision = interrupt({"question": QUESTION,
                              "approvals": [c.describe() for c in pending]})
        out.update(verdicts_of(decision, pending))
        pending = [c for c in pending if c.call_id not in out]
    return out
