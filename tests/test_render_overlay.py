"""The run overlay tells the whole story: tools called, edges taken (start and end too), and
the human decision's state - on every engine, from a thread or from a ``RunResult``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentpatterns import Agent, Runner, function_tool, triage
from agentpatterns.adapters.networkx import draw, run_overlay
from agentpatterns.adapters.render import RunOverlay, has_dot
from agentpatterns.examples import example


@function_tool
def track_order(order_id: str) -> str:
    """Track an order's delivery status."""
    return f"{order_id}: shipped"


@function_tool
def cancel_subscription(plan: str) -> str:
    """Cancel a subscription plan."""
    return "cancelled"


def _desk() -> object:
    orders = Agent(name="Orders Agent", handoff_description="Order tracking and delivery",
                   instructions="Help with orders", tools=[track_order, cancel_subscription])
    billing = Agent(name="Billing Agent", handoff_description="Invoices and payments")
    return triage(Agent(name="Front Desk", instructions="Route", handoffs=[orders, billing]))


def _mermaid(target: object, **kwargs: object) -> tuple[set[str], set[str], str]:
    """(visited node ids, walked edges 'u->v', text) from the Mermaid overlay."""
    text = draw(target, format="mmd", **kwargs).decode()
    visited = set(re.search(r"class (\S+) visited", text).group(1).split(","))  # type: ignore[union-attr]
    edges = [(m.group(1), m.group(2)) for m in
             re.finditer(r"^    (\w+) \S+?(?:\|\"[^\"]*\"\|)? (\w+)$", text, re.M)]
    walked_idx = re.search(r"linkStyle ([\d,]+) stroke:#f97316", text)
    walked = {f"{edges[int(i)][0]}->{edges[int(i)][1]}"
              for i in (walked_idx.group(1).split(",") if walked_idx else [])}
    return visited, walked, text


def test_called_tools_and_the_end_are_lit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    p = _desk()
    result = Runner.run_sync(p, "Track the delivery of order A1001", thread_id="t1",
                             checkpointer=db)
    assert [c["tool"] for c in result.tool_calls] == ["track_order"]
    visited, walked, text = _mermaid(p, thread_id="t1", checkpointer=db)
    assert {"Orders_Agent_track_order", "__start__", "__end__"} <= visited
    assert "Orders_Agent_cancel_subscription" not in visited  # not called: dimmed
    assert {"__start__->Front_Desk", "Front_Desk->Orders_Agent",
            "Orders_Agent->Orders_Agent_track_order", "Orders_Agent->__end__"} <= walked
    assert "track_order<br/>called" in text
    assert draw(p, format="mmd", result=result) == draw(p, format="mmd", thread_id="t1",
                                                        checkpointer=db)


@pytest.mark.parametrize("decision", [None, False, True])
def test_the_decision_node_shows_waiting_rejected_or_approved(decision: bool | None) -> None:
    p = example("human_approval")
    result = Runner.run_sync(p, "Migrate the db")
    if decision is not None:
        result = Runner.resume_sync(p, thread_id=result.thread_id, decision=decision)
    state = {None: "waiting", False: "rejected", True: "approved"}[decision]
    visited, walked, text = _mermaid(p, result=result)
    assert f"human approval<br/>{state}" in text
    assert "Planner->approval" in walked
    assert ("approval->__end__" in walked) == (state == "rejected")
    assert ("Executor->__end__" in walked) == (state == "approved")
    assert ("__end__" in visited) == (state != "waiting")
    svg = draw(p, result=result, engine="python").decode()
    assert f">{state}</text>" in svg
    colour = {"waiting": "#d97706", "approved": "#16a34a", "rejected": "#dc2626"}[state]
    assert colour in svg
    if has_dot():
        assert state in draw(p, result=result, engine="dot").decode()


def test_a_waiting_and_a_rejected_run_no_longer_look_alike() -> None:
    p = example("human_approval")
    waiting = Runner.run_sync(p, "Migrate the db")
    rejected = Runner.resume_sync(p, thread_id=Runner.run_sync(p, "Migrate the db").thread_id,
                                  decision=False)
    assert waiting.path == rejected.path  # the same agents ran...
    assert draw(p, result=waiting, engine="python") != draw(p, result=rejected,
                                                            engine="python")


def test_parallel_lights_the_fan_out_and_the_join() -> None:
    p = example("parallel")
    result = Runner.run_sync(p, "Compare three databases")
    visited, walked, _ = _mermaid(p, result=result)
    branches = [a.name.replace(" ", "_") for a in p.agents[:-1]]
    assert {f"__start__->{b}" for b in branches} <= walked
    assert {f"{b}->join" for b in branches} | {"join->Synthesizer",
                                               "Synthesizer->__end__"} <= walked
    assert {"join", "__end__"} <= visited


def test_run_overlay_reads_a_cut_off_thread_as_not_finished(tmp_path: Path) -> None:
    from agentpatterns import BudgetExceeded

    db = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(BudgetExceeded):
        Runner.run_sync(example("sequential"), "Write about bees", thread_id="cut",
                        checkpointer=db, max_model_calls=1)
    overlay = run_overlay(example("sequential"), thread_id="cut", checkpointer=db)
    assert isinstance(overlay, RunOverlay) and not overlay.finished


def test_drawing_to_a_file_returns_the_path_not_the_bytes(tmp_path: Path) -> None:
    target = tmp_path / "triage.png"
    written = example("triage").draw(path=str(target), engine="python")
    assert written == target and target.read_bytes().startswith(b"\x89PNG")
    assert len(repr(written)) < 200


@pytest.mark.parametrize("kind", ["supervisor", "parallel"])
def test_supervisor_and_parallel_drawings_include_the_workers_tools(kind: str) -> None:
    from agentpatterns import parallel, supervisor
    from agentpatterns.adapters.networkx import to_networkx, view_differences

    worker = Agent(name="Worker", instructions="Track orders", tools=[track_order])
    other = Agent(name="Other", instructions="Write")
    boss = Agent(name="Boss", instructions="Assign")
    p = supervisor(boss, [worker, other]) if kind == "supervisor" else parallel(
        [worker, other], boss)
    g = to_networkx(p)
    assert g.nodes["Worker:track_order"]["kind"] == "tool"
    assert g.edges["Worker", "Worker:track_order"]["kind"] == "tool"
    assert view_differences(p) == []  # the compiled view folds the tool back in too
    assert "track_order" in p.draw("svg", engine="python").decode()


# ------------------------------------------------------------------ compositions (issue 14)
def _walked(p: object, result: object) -> tuple[set[tuple[str, str]], set[str]]:
    """The edges and nodes the overlay of ``result`` lights on ``p``'s topology."""
    from agentpatterns.adapters.networkx import result_overlay, to_networkx
    from agentpatterns.adapters.render.scheme import _resolve_overlay

    g = to_networkx(p)
    ov = _resolve_overlay(g, result_overlay(result))
    assert ov is not None
    return {(str(u), str(v)) for u, v in ov.edges}, {str(n) for n in ov.steps}


def test_a_compositions_overlay_lights_the_edges_through_its_clusters() -> None:
    p = example("research_pipeline")
    result = Runner.run_sync(p, "Compare heat pumps and gas boilers")
    edges, nodes = _walked(p, result)
    assert {("__start__", "Research:__start__"), ("Research:__start__", "Researcher 1"),
            ("Synthesizer", "Research:__end__"), ("Research:__end__", "Polish:__start__"),
            ("Polish:__start__", "Writer"), ("Critic", "Polish:__end__"),
            ("Polish:__end__", "Editor"), ("Editor", "__end__")} <= edges
    assert {"__start__", "Research:__start__", "Research:__end__", "Polish:__start__",
            "Polish:__end__", "__end__"} <= nodes
    visited, walked, _ = _mermaid(p, result=result)
    assert "__start__" in visited
    assert {f"{u}->{v}" for u, v in _mermaid_ids(p, edges)} <= walked


def _mermaid_ids(p: object, edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    from agentpatterns.adapters.networkx import to_networkx
    from agentpatterns.adapters.render.scheme import _stable_ids

    ids = _stable_ids(to_networkx(p))
    return {(ids[u], ids[v]) for u, v in edges}


def test_three_levels_and_a_nested_approval_light_their_way_in_and_out() -> None:
    from agentpatterns import sequential

    def agent(name: str) -> Agent:
        return Agent(name=name, instructions="Research the topic thoroughly")

    inner = sequential([agent("Deep 1"), agent("Deep 2")], name="Inner")
    middle = sequential([inner, agent("Mid")], name="Middle")
    p = sequential([agent("First"), middle], name="Top")
    result = Runner.run_sync(p, "tides")
    assert result.path == ["First", "Deep 1", "Deep 2", "Mid"]
    edges, _ = _walked(p, result)
    assert {("First", "Middle:__start__"), ("Middle:__start__", "Inner:__start__"),
            ("Inner:__start__", "Deep 1"), ("Deep 1", "Deep 2"), ("Deep 2", "Inner:__end__"),
            ("Inner:__end__", "Mid"), ("Mid", "Middle:__end__"),
            ("Middle:__end__", "__end__")} <= edges

    gate = example("release_gate")
    waiting = Runner.run_sync(gate, "Release 2.0")
    assert waiting.interrupted
    edges, _ = _walked(gate, waiting)
    assert ("__start__", "Release Researcher") in edges
    assert not any(v == "__end__" for _, v in edges)  # waiting: not at the end yet
    done = Runner.resume_sync(gate, thread_id=waiting.thread_id, decision=True)
    edges, _ = _walked(gate, done)
    assert ("Reporter", "__end__") in edges
    assert any(u.endswith(":__end__") and v == "Reporter" for u, v in edges)
