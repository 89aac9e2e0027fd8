"""Where SDK runs that stop (for a human decision, or at their budget) are kept.

The SDK ``RunState`` JSON of a run waiting for approval, or the conversation of a run its
budget cut off, is put in a LangGraph store under ``SAVED`` and the thread id, with the run's
counters, so that ``resume_sdk`` can continue it - from another process if the store is a
file or server.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import copy
from typing import Any

from agentpatterns.adapters.openai_agents.bridge import _plain
from agentpatterns.adapters.openai_agents.run import Run

__all__ = ["MISSING", "SAVED", "approvals", "load", "save"]

SAVED = ("agentpatterns", "openai_agents", "runs")
#: ``resume(run)`` without a decision: continue a run its budget cut off
MISSING: Any = object()


async def save(run: Run, payload: dict[str, Any]) -> None:
    from agentpatterns.storage.kept import kept

    # a copy: an in-memory store keeps the object, and this run's log goes on changing
    value = copy.deepcopy({**payload, "input": run.request, "values": run.values,
                           "pattern": run.pattern.name, **run.saved_counts()})
    with kept(run.store, "store") as store:  # kept open for the process's later runs
        await store.aput(SAVED, run.thread_id, value)
    run.log.saved = str(payload.get("status") or "")


async def load(store_spec: Any, thread_id: str) -> dict[str, Any] | None:
    from agentpatterns.storage.kept import kept

    with kept(store_spec, "store") as store:
        item = await store.aget(SAVED, thread_id)
    return copy.deepcopy(dict(item.value)) if item is not None else None


def approvals(result: Any) -> list[dict[str, Any]]:
    out = []
    for item in result.interruptions:
        raw = _plain(item.raw_item)
        out.append({"agent": item.agent.name, "tool": item.tool_name or raw.get("name"),
                    "arguments": raw.get("arguments"), "call_id": raw.get("call_id")})
    return out
