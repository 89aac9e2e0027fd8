"""Resuming an SDK run: a deliberate stop (a decision, a budget) or a killed durable run.

:func:`resume` reads what the thread's run saved in the store and continues it: with the
pending decision (``RunState.from_json`` + approve/reject, or a composition's replay),
after its budget cut it off, or - a durable run killed while it ran (its marker says
``running``) - by making it again with its completed calls replayed (:func:`crash_resume`,
see :mod:`~agentpatterns.adapters.openai_agents.durable`).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentpatterns.adapters.openai_agents.approval import resume_approval
from agentpatterns.adapters.openai_agents.drivers import network
from agentpatterns.adapters.openai_agents.durable import durably, finish
from agentpatterns.adapters.openai_agents.nested import drive, journaled
from agentpatterns.adapters.openai_agents.replay import Journal
from agentpatterns.adapters.openai_agents.run import Run
from agentpatterns.adapters.openai_agents.store import MISSING, load
from agentpatterns.errors import ResumeError
from agentpatterns.graphs.human_approval import normalize_decision
from agentpatterns.run.result import RunResult

__all__ = ["continue_stop", "crash_resume", "resume"]


async def resume(run: Run, decision: Any = MISSING) -> RunResult:
    """Continue a thread's SDK run: answer its pending decision, finish a handoff-network
    run that its budget cut off (no decision then), or - a durable run killed while it ran
    (its marker says ``running``) - make it again with its completed calls replayed
    (:func:`~agentpatterns.adapters.openai_agents.durable.crash_resume`).

    The budget of the resumed run counts the whole run: what it spent before is the baseline.

    Raises:
        ResumeError: No run of this thread in the store, it already finished, or a decision
            where none is awaited (or none where one is).
    """
    saved = await load(run.store, run.thread_id)
    if saved is None:
        raise ResumeError(f"thread {run.thread_id!r} has no SDK run waiting in this store; "
                          "check the thread id and pass the same store= as the run")
    status = saved.get("status")
    if status == "running":
        if decision is not MISSING:
            raise ResumeError(f"thread {run.thread_id!r} was cut off while it ran (its "
                              "process ended) and waits for no decision; resume it without "
                              "one to finish it")
        return await crash_resume(run, saved)  # type: ignore[no-any-return]
    if status not in ("waiting", "budget"):
        raise ResumeError(f"thread {run.thread_id!r} already finished; start a new run instead")
    if status == "waiting" and decision is MISSING:
        raise ResumeError(f"thread {run.thread_id!r} is waiting for a decision; pass "
                          "decision=True (approve), False (reject) or a dict with feedback")
    if status == "budget" and decision is not MISSING:
        raise ResumeError(f"thread {run.thread_id!r} is not waiting for a decision; resume it "
                          "without one to continue a run that was cut off")
    decided = normalize_decision(decision) if status == "waiting" else {}
    if run.durable is None:
        return await continue_stop(run, saved, decided)
    async with durably(run, {"mode": "resume", "saved": saved, "decision": decided},
                       expect=saved):
        return await finish(run, await continue_stop(run, saved, decided))  # type: ignore[no-any-return]


async def continue_stop(run: Run, saved: Mapping[str, Any], decided: Any) -> RunResult:
    """Continue the deliberate stop ``saved`` (waiting for ``decided``, or cut off by its
    budget: ``decided == {}``)."""
    status = saved.get("status")
    run.request = str(saved.get("input") or "")
    run.state["input"] = run.request
    if saved.get("kind") == "replay":  # a composition: replayed with the decision
        assert run.guard is not None
        mine = run.guard.journal  # a durable run's: its sink, and calls a crash left
        journal = run.guard.journal = Journal.resumed(dict(saved.get("journal") or {}),
                                                      list(saved.get("scope") or []),
                                                      dict(decided))
        if mine is not None:
            journal.sink = mine.sink
            for key, entries in mine.recorded.items():
                journal.recorded.setdefault(key, []).extend(entries)
        if run.guard.budget is not None:
            run.guard.budget.start({})  # the replay spends the whole run's calls again
        return await drive(run, saved)
    run.values.update(dict(saved.get("values") or {}))
    run.merge_counts(saved)
    if run.guard is not None and run.guard.budget is not None:
        run.guard.budget.start({"calls": run.log.calls, "usage": run.log.usage})
    run.values["__resumed__"] = True
    path = list(saved.get("path") or [])
    current = str(saved["current"]) if saved.get("current") else None
    if status == "budget":
        return await network(run, start=current, items=list(saved.get("items") or []),
                             path=path, same_turn=bool(path) and path[-1] == current)
    if saved.get("kind") == "human_approval":
        run.values.pop("__resumed__")
        return await resume_approval(run, saved, dict(decided))
    run.values["__decision__"] = dict(decided)
    return await network(run, start=current, state=dict(saved["state"]), path=path)


async def crash_resume(run: Run, saved: Mapping[str, Any]) -> Any:
    """Continue the killed run of ``saved`` (its running marker): made again from its start
    with the recorded calls replayed.

    Raises:
        ResumeError: Through the resumed stop's own checks (``mode == "resume"``).
    """
    start = dict(saved.get("start") or {})
    run.request = str(saved.get("input") or "")
    run.state["input"] = run.request
    run.items = list(saved["items"]) if saved.get("items") is not None else None
    if run.guard is not None and run.guard.budget is not None:
        run.guard.budget.start({})  # the replay spends the whole run's calls again
    if run.guard is not None and run.guard.journal is None and journaled(run.pattern):
        run.guard.journal = Journal()  # a composition's gates take recorded decisions
    async with durably(run, start, resumed=saved, expect=saved):
        if start.get("mode") == "resume":
            result = await continue_stop(run, dict(start["saved"]), start.get("decision"))
        else:
            result = await drive(run)
        return await finish(run, result)
