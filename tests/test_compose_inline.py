"""One-step nested patterns run inside their parent's task (agentpatterns/graphs/_inline.py).

A child that is one agent step and cannot pause has nothing to resume inside it, so it runs
without a Pregel loop and checkpoints of its own. What a user sees must not change: the same
result, events, drawing and durability as when the child runs as its own loop (the crash
test is tests/test_compose_durable.py::test_sigkill_inside_a_one_step_child_replays_its_turn).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

import agentpatterns.graphs._nested as nested
from agentpatterns import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    Pattern,
    Runner,
    function_tool,
    human_approval,
    input_guardrail,
    parallel,
    reflection,
    sequential,
    triage,
)
from agentpatterns.graphs._nested import inline_of
from agentpatterns.storage.journal_sql import JOURNAL_TABLE
from tests._durable_helpers import clerk_with_refund


def _agent(name: str, instructions: str = "Research the topic thoroughly", **kw: Any) -> Agent:
    return Agent(name=name, instructions=instructions, **kw)


def _desk() -> Pattern:
    @function_tool
    def look_up(item: str) -> str:
        """Look something up.

        Args:
            item: What.
        """
        return f"found {item}"

    steps = [sequential([_agent("Researcher", tools=[look_up])], name="Research step"),
             sequential([sequential([_agent("Writer", "Write based on research")],
                                    name="Write inner")], name="Write step"),
             parallel([_agent("Fact 1"), _agent("Fact 2")], _agent("Checker"), name="Checks"),
             sequential([_agent("Editor", "Edit and polish the content")], name="Edit step")]
    return sequential(steps, name="Desk")


def _inline_of(p: Pattern) -> Any:
    return inline_of(p)


def test_which_children_run_inline() -> None:
    one = sequential([_agent("A")], name="One")
    assert _inline_of(one) is not None
    assert _inline_of(sequential([_agent("A"), _agent("B")], name="Two")) is None
    router = _agent("Router", handoffs=[_agent("Target")])
    assert _inline_of(triage(router, name="Routes")) is None
    assert _inline_of(reflection(_agent("G"), _agent("C"), name="Loop")) is None
    assert _inline_of(human_approval(_agent("P"), _agent("E"), name="Gate")) is None
    clerk, _ = clerk_with_refund([], approval=True)  # a tool with needs_approval: can pause
    assert _inline_of(sequential([clerk], name="Clerk step")) is None
    plain, _ = clerk_with_refund([], approval=False)
    assert _inline_of(sequential([plain], name="Plain step")) is not None
    # a one-step child whose only node is itself a one-step pattern: inline all the way
    assert _inline_of(sequential([one], name="Outer")) is not None
    # ... but not when that pattern has steps of its own (it keeps its loop, so this one too)
    two = sequential([_agent("C"), _agent("D")], name="Two steps")
    assert _inline_of(sequential([two], name="Around two")) is None


def _everything(r: Any) -> dict[str, Any]:
    return {"path": r.path, "steps": r.steps, "calls": r.calls, "usage": r.usage,
            "events": r.events, "tool_calls": r.tool_calls, "handoffs": r.handoffs,
            "final_output": r.final_output, "last_agent": r.last_agent}


def _streamed(p: Pattern) -> list[Any]:
    async def go() -> list[Any]:
        return [e async for e in Runner.run_streamed(p, "tides", checkpointer=InMemorySaver())]
    return asyncio.run(go())


def test_inline_children_give_what_their_own_loops_give(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    inline = _everything(Runner.run_sync(_desk(), "tides", checkpointer=InMemorySaver()))
    inline_async = _everything(asyncio.run(Runner.run(_desk(), "tides",
                                                      checkpointer=InMemorySaver())))
    inline_events = _streamed(_desk())
    monkeypatch.setattr(nested, "inline_of", lambda pattern: None)
    looped = _everything(Runner.run_sync(_desk(), "tides", checkpointer=InMemorySaver()))
    looped_events = _streamed(_desk())
    assert inline == looped
    assert inline_async["path"][:2] == looped["path"][:2]  # branches may finish in any order
    assert {k: v for k, v in inline_async.items() if k not in ("path", "steps", "events")} == {
        k: v for k, v in looped.items() if k not in ("path", "steps", "events")}
    assert [type(e).__name__ for e in inline_events] == [type(e).__name__ for e in
                                                          looped_events]
    started = [(e.agent, e.patterns) for e in inline_events if type(e).__name__ ==
               "AgentStarted"]
    assert started == [(e.agent, e.patterns) for e in looped_events
                       if type(e).__name__ == "AgentStarted"]
    assert ("Researcher", ("Research step",)) in started
    assert ("Writer", ("Write step", "Write inner")) in started


def test_an_inline_child_is_still_a_subgraph_and_writes_no_checkpoints() -> None:
    saver = InMemorySaver()
    graph = _desk().compile(checkpointer=saver)
    assert {"Research step:Researcher", "Edit step:Editor", "Checks:Checker"} <= set(
        graph.get_graph(xray=True).nodes)
    assert {name for name, _ in graph.get_subgraphs()} == {"Research step", "Write step",
                                                           "Checks", "Edit step"}
    Runner.run_sync(_desk(), "tides", thread_id="x", checkpointer=saver)
    spaces = {ns.split(":")[0] for ns in saver.storage["x"]}
    assert spaces == {"", "Checks"}  # the multi-step child keeps its own checkpoints


def test_a_guardrail_in_an_inline_child_stops_the_run() -> None:
    @input_guardrail
    def no_secrets(ctx: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={}, tripwire_triggered="secret" in str(text))

    gate = sequential([_agent("Gatekeeper", input_guardrails=[no_secrets])], name="Gate")
    p = sequential([gate, _agent("After", "Edit and polish")], name="Outer")
    assert _inline_of(gate) is not None
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        Runner.run_sync(p, "tell me the secret")
    assert "After" not in caught.value.result.path
    assert Runner.run_sync(p, "tell me a story").path == ["Gatekeeper", "After"]


def test_a_finished_run_of_inline_children_leaves_no_journal_rows(tmp_path: Any) -> None:
    from agentpatterns.storage import open_checkpointer

    ran: list[str] = []
    clerk, _ = clerk_with_refund(ran, approval=False)
    p = sequential([sequential([clerk], name="Clerk step"), _agent("After", "Summarize")],
                   name="Desk")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    r = Runner.run_sync(p, "refund me", thread_id="f", checkpointer=url)
    assert r.path == ["Clerk", "After"] and ran == ["look order", "refund 5"]
    with open_checkpointer(url) as saver, saver.cursor() as cur:  # type: ignore[attr-defined]
        rows = cur.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE thread_id = 'f'")
        assert rows.fetchone()[0] == 0  # its rows were keyed by the parent's task: pruned


@pytest.mark.parametrize("by_id", [False, True])
def test_an_interrupt_from_a_tool_in_an_inline_child_is_its_parent_tasks(
        checkpointer_url: str, by_id: bool) -> None:
    """A tool may call LangGraph's ``interrupt()``: inside a one-step child it stops the run
    as the parent's task, resumes (plainly or by the interrupt's id) and replays the turn's
    earlier calls - as in a flat graph."""
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command

    from tests.test_journal import _interrupting_agent

    executed: list[str] = []
    host, model = _interrupting_agent(executed)
    step = sequential([host], name="Host step")
    assert _inline_of(step) is not None
    graph = sequential([step, _agent("After", "Summarize")], name="Outer").compile(
        checkpointer=checkpointer_url)
    config: Any = {"configurable": {"thread_id": f"i-{by_id}"}}
    first = graph.invoke({"messages": [HumanMessage("table for 4")]}, config)
    asked = first["__interrupt__"][0]
    assert asked.value == {"question": "window seat?"}
    assert graph.get_state(config).next == ("Host step",)
    out = graph.invoke(Command(resume={asked.id: "yes"} if by_id else "yes"), config)
    assert out["path"] == ["Host", "After"]
    assert executed == ["book 4", "asked yes"]  # the booking ran once
    assert len(model.requests) == 3  # each model call of the turn made once


def test_streaming_subgraphs_shows_an_inline_child_as_its_loop_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``graph.stream(..., subgraphs=True)``: the child's ``values``, ``tasks``, ``updates``,
    ``custom`` and ``messages`` chunks come under its namespace, as from its own loop; only
    its ``checkpoints`` are missing (it writes none)."""
    import re

    from langchain_core.messages import HumanMessage

    def chunks() -> list[tuple[tuple[str, ...], str, str]]:
        p = sequential([sequential([_agent("A")], name="A step"), _agent("B")], name="Top")
        graph = p.compile(checkpointer=InMemorySaver())
        out = []
        for ns, mode, chunk in graph.stream(
                {"messages": [HumanMessage("hi", id="h")]}, {"configurable": {"thread_id": "s"}},
                stream_mode=["values", "tasks", "updates", "custom", "messages", "checkpoints"],
                subgraphs=True):
            text = "" if mode in ("messages", "checkpoints") else repr(chunk)
            out.append((tuple(part.split(":")[0] for part in ns), mode,
                        re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|'id': '[^']*'", "ID", text)))
        return out

    inline = chunks()
    monkeypatch.setattr(nested, "inline_of", lambda pattern: None)
    looped = chunks()
    assert inline == [c for c in looped if c[:2] != (("A step",), "checkpoints")]
    assert {mode for ns, mode, _ in inline if ns} == {"values", "tasks", "updates", "custom",
                                                      "messages"}
