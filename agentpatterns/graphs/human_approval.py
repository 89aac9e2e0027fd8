"""Human approval: a planner's plan waits for a person's decision before anything executes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agentpatterns.errors import InputError, PatternError
from agentpatterns.graphs._common import fresh_turn, output_of, public_update, request_of
from agentpatterns.graphs._nested import members, node_kind, participant_node
from agentpatterns.graphs._nodes import add_step
from agentpatterns.graphs._tools import inner_tools_meta, participant_tools
from agentpatterns.graphs.pattern import (
    END_ID,
    START_ID,
    Edge,
    Node,
    Participant,
    Pattern,
    may_stop,
    register,
)
from agentpatterns.nodes.runtime import TurnResult
from agentpatterns.state import PatternState

__all__ = ["APPROVAL", "REJECTED", "human_approval", "normalize_decision"]

APPROVAL = "approval"
REJECTED = "Plan rejected"


def human_approval(planner: Participant, executor: Participant, *, max_revisions: int = 3,
                   name: str = "", description: str = "") -> Pattern:
    """Human-in-the-loop: plan, wait for approval (``interrupt()``), then execute.

    The run stops at the ``approval`` node with ``RunResult.interrupted`` true and the plan
    in ``RunResult.interruption``; its state is durable. ``Runner.resume(...,
    decision=True)`` runs the executor on the plan; ``False`` ends with ``"Plan rejected"``
    (the executor never runs); ``{"feedback": "..."}`` sends the plan back to the planner
    (at most ``max_revisions`` times); ``{"approved": True, "plan": "..."}`` executes an
    edited plan. Planner and executor may be whole patterns (subgraph nodes); nested in
    another pattern, the interrupt stops the whole run and names this pattern.

    Raises:
        PatternError: ``max_revisions < 0`` or one agent twice.

    Example:
        >>> from agentpatterns import Agent, Runner
        >>> planner = Agent(name="Planner", instructions="Create detailed plan")
        >>> executor = Agent(name="Executor", instructions="Execute plan precisely")
        >>> p = human_approval(planner, executor)
        >>> r = Runner.run_sync(p, "migrate the database", thread_id="ha-doc")
        >>> r.interrupted, r.interruption["plan"]
        (True, '[Planner] plan based on: migrate the database')
        >>> Runner.resume_sync(p, thread_id="ha-doc", decision=True).path
        ['Planner', 'Executor']
    """
    if not isinstance(max_revisions, int) or max_revisions < 0:
        raise PatternError(f"human_approval max_revisions={max_revisions!r}; use an int >= 0")
    if planner is executor or planner.name == executor.name:
        raise PatternError("human_approval needs two different agents (planner and executor)")
    if APPROVAL in (planner.name, executor.name):
        raise PatternError(f"an agent may not be named {APPROVAL!r} in human_approval()")
    edges = [
        Edge(source=START_ID, target=planner.name, kind="route", label="entry"),
        Edge(source=planner.name, target=APPROVAL, kind="interrupt", label="plan"),
        Edge(source=APPROVAL, target=executor.name, kind="route", label="approved"),
        Edge(source=APPROVAL, target=END_ID, kind="route", label="rejected"),
        Edge(source=executor.name, target=END_ID, kind="route", label="done"),
    ]
    if max_revisions:
        edges.append(Edge(source=APPROVAL, target=planner.name, kind="loop",
                          label=f"feedback (≤ {max_revisions})", bound=max_revisions))
    tool_nodes, tool_edges = participant_tools([planner, executor])
    return Pattern(kind="human_approval", **members(planner, executor), entry=planner.name,
                   description=description,
                   edges=(*edges, *tool_edges),
                   nodes=(Node(id=APPROVAL, kind="interrupt", label="human approval",
                               description="waits for a person's decision"), *tool_nodes),
                   options={"max_revisions": max_revisions, "planner": planner.name,
                            "executor": executor.name}, name=name or "human_approval")


def _build(pattern: Pattern) -> StateGraph[Any]:
    planner = pattern.participant(pattern.options["planner"])
    executor = pattern.participant(pattern.options["executor"])
    max_revisions = int(pattern.options["max_revisions"])
    graph = StateGraph(PatternState)

    def plan_turn(state: Mapping[str, Any]) -> Any:
        feedback = (state.get("decision") or {}).get("feedback")
        text = request_of(state)
        if feedback:
            text = f"{text}\nPrevious plan: {state.get('plan')}\nFeedback: {feedback}"
        return fresh_turn(planner, text, state)

    def plan_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        plan = output_of(res)
        update["plan"] = plan if isinstance(plan, str) else str(plan)
        return update

    def approval(state: PatternState) -> Any:
        revisions = int(state.get("iteration") or 0)
        raw = interrupt({
            "pattern": pattern.name,
            "plan": state.get("plan", ""),
            "question": "Approve this plan?",
            "answer_with": "True (approve), False (reject), or {'feedback': '...'} to revise, "
                           "or {'approved': True, 'plan': '...'} to run an edited plan",
            "revisions_left": max_revisions - revisions,
        })
        decision = normalize_decision(raw)
        if decision.get("approved") is True:
            update: dict[str, Any] = {"decision": decision}
            if decision.get("plan"):
                update["plan"] = decision["plan"]
            return Command(goto=executor.name, update=update)
        if decision.get("feedback") and revisions < max_revisions:
            return Command(goto=planner.name, update={"decision": decision,
                                                      "iteration": revisions + 1})
        return Command(goto=END, update={
            "decision": decision, "final_output": REJECTED, "last_agent": planner.name,
            "stopped": {"reason": "rejected", "feedback": decision.get("feedback")},
            "events": [{"type": "rejected", "feedback": decision.get("feedback")}]})

    def exec_turn(state: Mapping[str, Any]) -> Any:
        return fresh_turn(executor, str(state.get("plan") or ""), state)

    def exec_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        update["final_output"] = output_of(res)
        update["last_agent"] = executor.name
        return update

    graph.add_node(planner.name, participant_node(planner, plan_turn, plan_finish),
                   destinations=(END,) if may_stop(planner) else (),
                   metadata={"agentpatterns": inner_tools_meta(planner, node_kind(planner))})
    destinations = (executor.name, END, planner.name) if max_revisions else (executor.name, END)
    graph.add_node(APPROVAL, approval, destinations=destinations,
                   metadata={"agentpatterns": {"kind": "interrupt"}})
    graph.add_node(executor.name, participant_node(executor, exec_turn, exec_finish),
                   metadata={"agentpatterns": inner_tools_meta(executor, node_kind(executor))})
    graph.add_edge(START, planner.name)
    add_step(graph, planner.name, APPROVAL, guarded=may_stop(planner))
    graph.add_edge(executor.name, END)
    return graph


register("human_approval")(_build)


def normalize_decision(decision: Any) -> dict[str, Any]:
    """``True``/``False``/``{"approved": ..., "feedback": ..., "plan": ..., "calls": ...}``
    -> a dict. ``calls`` (``{call_id: bool}``) decides pending tool approvals call by call
    (see :mod:`agentpatterns.nodes.approvals`); with it, ``approved`` is only set if given.

    Nothing is reinterpreted: an empty dict, empty feedback or an empty plan, feedback on
    an approval (feedback sends the plan back) and an edited plan on a rejection are
    refused rather than guessed at.

    Raises:
        InputError: Anything else, naming the accepted forms.
    """
    if isinstance(decision, bool):
        return {"approved": decision}
    if isinstance(decision, Mapping):
        unknown = set(decision) - {"approved", "feedback", "plan", "calls"}
        if unknown:
            raise InputError(f"decision has unknown keys {sorted(unknown)}; use 'approved', "
                             "'feedback', 'plan' and/or 'calls'")
        if not decision:
            raise InputError("decision {} says nothing; pass True (approve), False (reject), "
                             "{'feedback': '...'} (revise) or {'approved': True, 'plan': '...'}")
        out = dict(decision)
        for key, what in (("feedback", "text"), ("plan", "text (the edited plan)")):
            if key in out and not isinstance(out[key], str):
                raise InputError(f"decision[{key!r}] must be {what}")
            if key in out and not out[key].strip():
                raise InputError(f"decision[{key!r}] is empty; give the {key} or leave the "
                                 "key out")
        calls = out.get("calls")
        if "calls" in out and not (isinstance(calls, Mapping) and all(
                isinstance(k, str) and isinstance(v, bool) for k, v in calls.items())):
            raise InputError("decision['calls'] must map tool call ids to True or False")
        if "calls" in out:
            out["calls"] = dict(calls)  # type: ignore[arg-type]
            if "approved" in out and not isinstance(out["approved"], bool):
                raise InputError("decision['approved'] must be True or False")
            return out
        if "approved" not in out:
            if "plan" in out and "feedback" in out:
                raise InputError("decision has both 'plan' (run this edited plan) and "
                                 "'feedback' (send the plan back); pass one of them")
            # feedback alone means "not yet: revise"; an edited plan alone means "run this"
            out["approved"] = "plan" in out
        if not isinstance(out["approved"], bool):
            raise InputError("decision['approved'] must be True or False")
        if out["approved"] and "feedback" in out:
            raise InputError("decision approves the plan and gives feedback, which sends it "
                             "back for revision; pass {'feedback': ...} to revise, or approve "
                             "without feedback")
        if not out["approved"] and "plan" in out:
            raise InputError("decision rejects the plan and gives an edited plan to run; pass "
                             "{'approved': True, 'plan': ...} to run it, or reject without one")
        return out
    raise InputError(f"decision {decision!r} is not understood; pass True, False or a dict "
                     "{'approved': bool, 'feedback': str, 'plan': str}")
