"""Resuming a composition on the SDK runtime: the run is replayed from a journal.

A composition's drivers keep their place in Python (a loop, a gather, a tool call of a
supervisor...), and an SDK ``RunState`` holds only one ``Runner.run``; so a composition with a
``human_approval`` anywhere in it is resumed by running it again from the start with a
:class:`Journal`: every model call the first run completed is answered from the journal
(no model is called again - the same response, so the same route), every function tool
call it completed gives its recorded result (the tool is not run again), and each approval
gate the run reaches takes the next recorded decision. The gate with no decision left stops
the run again (:class:`Paused`); the record then holds everything up to it.

Responses are keyed by the agent and a digest of what it was sent, so concurrent branches
replay in any order; a call the journal does not know (a model that answered differently)
is made for real.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.exceptions import AgentsException
from agents.items import ModelResponse, TResponseOutputItem
from agents.usage import Usage
from pydantic import TypeAdapter

from agentpatterns.nodes.journal import keyed

__all__ = ["Journal", "Paused", "dump_response", "load_response", "replay_key"]

_OUTPUT: TypeAdapter[Any] = TypeAdapter(TResponseOutputItem)


class Paused(AgentsException):
    """A ``human_approval`` inside a composition waits for a decision: the whole run stops.

    Attributes:
        question: What to decide on (the plan, how to answer, ``pattern``, ``patterns``).
        scope: The pattern path of the waiting approval (``["release_gate", "Approval"]``).
    """

    def __init__(self, question: dict[str, Any], scope: Sequence[str]) -> None:
        super().__init__(f"pattern {scope[-1]!r} waits for a human decision")
        self.question, self.scope = question, list(scope)


def _bare(value: Any) -> Any:
    """``value`` as JSON data without ``None`` fields (an item rebuilt from the journal may
    carry them where the first run's did not)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): _bare(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_bare(v) for v in value]
    return value


def replay_key(agent: str, system: Any, input: Any) -> str:
    """The journal key of a model call: the agent and a digest of what it was sent."""
    sent = json.dumps(_bare([agent, system, input]), default=str, sort_keys=True)
    return hashlib.sha256(sent.encode()).hexdigest()


def dump_response(response: Any) -> dict[str, Any]:
    """A model response (``ModelResponse``, or a streamed ``Response``) as JSON data."""
    usage = response.usage
    return {"output": [{"type": item.type, **item.model_dump(mode="json", exclude_unset=True)}
                       for item in response.output],
            "usage": {k: int(getattr(usage, k, 0) or 0)
                      for k in ("requests", "input_tokens", "output_tokens", "total_tokens")},
            "response_id": getattr(response, "response_id", None)}


def load_response(data: Mapping[str, Any]) -> ModelResponse:
    """The ``ModelResponse`` of :func:`dump_response` data."""
    usage = dict(data.get("usage") or {})
    return ModelResponse(output=[_OUTPUT.validate_python(o) for o in data["output"]],
                         usage=Usage(requests=usage.get("requests", 1),
                                     input_tokens=usage.get("input_tokens", 0),
                                     output_tokens=usage.get("output_tokens", 0),
                                     total_tokens=usage.get("total_tokens", 0)),
                         response_id=data.get("response_id"))


@dataclass
class Journal:
    """What a composition's run did, to answer its replay (see the module docstring).

    Attributes:
        recorded: Model responses and tool results of the run being replayed, by key
            (a list: the same call may be made more than once).
        record: This run's own record (replayed entries included): what is saved when it
            stops again.
        decisions: The decisions given so far, in order: ``[pattern path, decision]``.
    """

    recorded: dict[str, list[Any]] = field(default_factory=dict)
    record: dict[str, list[Any]] = field(default_factory=dict)
    decisions: list[list[Any]] = field(default_factory=list)
    used: int = 0
    #: the approval gates take the journal's decisions (a composition's replay); ``False``:
    #: a crash-durable run's journal, which only records and replays effects
    gates: bool = True
    #: where each completed entry is written before the run goes on (a crash-durable run:
    #: :class:`~agentpatterns.adapters.openai_agents.durable.Sink`), or ``None``
    sink: Any = None

    def replayed(self, key: str) -> Any:
        """The recorded entry for ``key`` (``None`` if there is none left); kept in the
        record too."""
        entries = self.recorded.get(key)
        if not entries:
            return None
        entry = entries.pop(0)
        self.record.setdefault(key, []).append(entry)
        return entry

    def remember(self, key: str, entry: Any) -> None:
        """Record a completed model call or tool call (written to the sink first, if any)."""
        if self.sink is not None:
            self.sink.write(key, entry)
        self.record.setdefault(key, []).append(entry)

    def check(self) -> None:
        """Before an effect starts: the run still holds its thread (the sink's fence).

        Raises:
            LeaseLostError: Another process took the thread over.
        """
        if self.sink is not None:
            self.sink.check()

    def effect_key(self, key: str) -> str | None:
        """The idempotency key of the next call ``key`` about to run (``None`` unless the
        run is crash-durable: nothing else makes a completed call again)."""
        if self.sink is None:
            return None
        return str(self.sink.effect_key(key, len(self.record.get(key, ()))))

    def decision_for(self, scope: Sequence[str]) -> dict[str, Any] | None:
        """The next decision, when it is meant for the approval at ``scope``."""
        if self.used >= len(self.decisions):
            return None
        where, decision = self.decisions[self.used]
        if list(where) != list(scope):
            return None
        self.used += 1
        return dict(decision)

    def saved(self) -> dict[str, Any]:
        """What to keep with the stopped run."""
        return {"record": self.record, "decisions": self.decisions}

    @classmethod
    def resumed(cls, saved: Mapping[str, Any], scope: Sequence[str],
                decision: Mapping[str, Any]) -> Journal:
        """The journal that replays ``saved`` and answers the gate at ``scope``."""
        recorded = {k: list(v) for k, v in dict(saved.get("record") or {}).items()}
        decisions = [list(d) for d in saved.get("decisions") or []]
        return cls(recorded=recorded, decisions=[*decisions, [list(scope), dict(decision)]])


def journaled_tool(tool: Any, journal: Journal) -> Any:
    """A copy of the SDK ``FunctionTool`` ``tool`` whose completed calls are recorded, and
    answered from the journal on a replay (the function is not run again)."""
    import copy

    inner = tool.on_invoke_tool

    async def invoke(ctx: Any, raw: str) -> Any:
        key = f"tool:{tool.name}:{getattr(ctx, 'tool_call_id', '')}"
        hit = journal.replayed(key)
        if hit is not None:
            return hit[0]
        journal.check()
        with keyed(journal.effect_key(key)):  # idempotency_key() inside the tool
            result = await inner(ctx, raw)
        kept = result if isinstance(result, str | int | float | bool | list | dict) or \
            result is None else str(result)
        journal.remember(key, [kept])
        return result

    made = copy.copy(tool)
    object.__setattr__(made, "on_invoke_tool", invoke)
    return made
