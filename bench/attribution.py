"""Where the 0 ms overhead goes: a hand-written 10-step chain, made to do our bookkeeping
one piece at a time. ``python bench/attribution.py`` (about 30 s).

Each variant is the hand-written sequential graph (same model, same prompts, same
``InMemorySaver``) with one more thing agentpatterns does per step:

* ``PatternState``: the shared 23-key schema instead of ``{messages}`` (wider state read
  into every node, more channels per checkpoint);
* ``+path``, ``+calls,usage``, ``+results,active_agent``, ``+events``: the per-turn
  bookkeeping writes ``TurnResult.state_update()`` makes (each is a channel write: a
  reducer call, a pending write and a checkpoint blob to serialise);
* ``agentpatterns``: ``sequential(...).compile(checkpointer=...)`` itself (adds the agent
  turn generator, model resolution, progress events, the ``input`` key).

Process CPU time, paired with the plain hand-written graph, median of 31 batches.
"""

from __future__ import annotations

import itertools
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import compare, median, paired_ratio
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from shapes import Msgs, _steps, sequential_pattern, system

from agentpatterns import OfflineModel
from agentpatterns.nodes.runtime import MODEL_KEY
from agentpatterns.state import PatternState

N = 10


def chain(model: Any, schema: type, extra: int) -> Any:
    graph = StateGraph(schema)
    steps = _steps(N)
    for name, job in steps:
        sys_msg = system(name, job)

        def node(state: Any, sys_msg: Any = sys_msg, name: str = name) -> dict[str, Any]:
            reply = model.invoke([sys_msg, *state["messages"]])
            update: dict[str, Any] = {"messages": [reply]}
            if extra >= 1:
                update["path"] = [name]
            if extra >= 2:
                update["calls"] = {name: 1}
                update["usage"] = {name: {"input": 1, "output": 2, "total": 3}}
            if extra >= 3:
                update["results"] = {name: reply.content}
                update["active_agent"] = name
            if extra >= 4:
                update["events"] = []
            return update

        graph.add_node(name, node)
    graph.add_edge(START, steps[0][0])
    for (a, _), (b, _) in itertools.pairwise(steps):
        graph.add_edge(a, b)
    graph.add_edge(steps[-1][0], END)
    return graph.compile(checkpointer=InMemorySaver())


def main() -> None:
    model = OfflineModel()
    request = "The history of the printing press"
    graphs = {"hand-written": chain(model, Msgs, 0), "PatternState": chain(model, PatternState, 0),
              "+path": chain(model, PatternState, 1), "+calls,usage": chain(model, PatternState, 2),
              "+results,active_agent": chain(model, PatternState, 3),
              "+events": chain(model, PatternState, 4)}
    variants = {k: (lambda g=g: g.invoke({"messages": [HumanMessage(request)]},
                                         {"configurable": {"thread_id": uuid.uuid4().hex}}))
                for k, g in graphs.items()}
    ours = sequential_pattern(N).compile(checkpointer=InMemorySaver())
    variants["agentpatterns"] = lambda: ours.invoke(
        {"messages": [HumanMessage(request)], "input": request},
        {"configurable": {"thread_id": uuid.uuid4().hex, MODEL_KEY: model}})
    t = compare(variants, reps=31, n=4)
    for k in variants:
        print(f"{k:24s} {median(t[k + ':cpu']) * 1e3:7.2f} ms CPU  "
              f"x{paired_ratio(t, k + ':cpu', 'hand-written:cpu'):.3f}")


if __name__ == "__main__":
    main()
