"""The nine built-in patterns as module-level compiled graphs, for the LangGraph server.

``langgraph.json`` at the repository root points ``langgraph dev`` (and LangGraph Platform
deployments) here. The graphs are compiled **without** a checkpointer or store: the
server brings its own (in memory for ``langgraph dev``, PostgreSQL when deployed) and
refuses graphs that carry one.

A run's input is the graph state a new request starts from: the request as ``input`` and
as the first user message, e.g. with ``langgraph_sdk``::

    client.runs.wait(thread["thread_id"], "triage", input={
        "input": "I need to book a table",
        "messages": [{"role": "user", "content": "I need to book a table"}],
    })

The human-approval graph stops at its ``interrupt()``; answer it with
``command={"resume": True}`` (or ``False``, or ``{"approved": ..., "feedback": ...}``).
The memory graph reads ``config={"configurable": {"user_id": ...}}`` and keeps its facts
in the server's store. Models resolve as everywhere else: ``AGENTPATTERNS_MODEL``, then
``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` in the server's environment, else offline.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agentpatterns.examples import example

__all__ = [
    "dynamic",
    "hierarchical",
    "human_approval",
    "memory",
    "parallel",
    "reflection",
    "sequential",
    "supervisor",
    "triage",
]


def _graph(name: str) -> CompiledStateGraph[Any, Any, Any, Any]:
    return example(name).compile(checkpointer=None, store=None)


triage = _graph("triage")
sequential = _graph("sequential")
hierarchical = _graph("hierarchical")
supervisor = _graph("supervisor")
reflection = _graph("reflection")
parallel = _graph("parallel")
dynamic = _graph("dynamic")
memory = _graph("memory")
human_approval = _graph("human_approval")
