"""Memory: an agent that remembers - the conversation per session, facts per user."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from agentpatterns.graphs._common import output_of, request_of
from agentpatterns.graphs._nodes import agent_node
from agentpatterns.graphs._tools import inner_tools_meta, participant_tools
from agentpatterns.graphs.pattern import END_ID, START_ID, Edge, Pattern, register
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import TurnResult, agent_turn
from agentpatterns.state import PatternState

__all__ = ["FACTS_NAMESPACE", "memory", "recall_facts", "remember_facts"]

FACTS_NAMESPACE = ("agentpatterns", "facts")
_FACT = re.compile(r"^\s*(my |i am |i'm |i live |i work |i like |i prefer |call me )", re.I)


def memory(agent: Agent, *, name: str = "", description: str = "") -> Pattern:
    """Memory-enhanced agent: earlier conversation and long-term facts are in its context.

    * **Session memory** is the thread: run with ``session=SQLiteSession(id, db)`` (or the
      same ``thread_id`` and checkpointer) and later runs see the earlier conversation;
      another session sees none of it.
    * **Long-term facts** are kept in a LangGraph ``BaseStore`` per ``user_id``
      (``configurable={"user_id": ...}`` or ``SQLiteSession(..., user_id=...)``): a
      statement about the user ("My favourite colour is teal.") is stored, and every later
      run for that user - in any session - gets the facts as a system note.

    Example:
        >>> from agentpatterns import Runner
        >>> expert = Agent(name="Expert", instructions="You learn from past conversations")
        >>> p = memory(expert)
        >>> _ = Runner.run_sync(p, "My favourite colour is teal.", thread_id="m1")
        >>> Runner.run_sync(p, "What is my favourite colour?", thread_id="m1").final_output
        '[Expert] From our earlier conversation: My favourite colour is teal.'
    """
    edges = (Edge(source=START_ID, target=agent.name, kind="route", label="entry"),
             Edge(source=agent.name, target=END_ID, kind="route", label="answer"))
    tool_nodes, tool_edges = participant_tools([agent])
    return Pattern(kind="memory", agents=(agent,), entry=agent.name,
                   edges=(*edges, *tool_edges), nodes=tuple(tool_nodes), name=name or "memory",
                   description=description)


def _user(config: RunnableConfig | None) -> str | None:
    value = ((config or {}).get("configurable") or {}).get("user_id")
    return str(value) if value else None


def recall_facts(store: Any, user_id: str) -> list[str]:
    """The facts stored for ``user_id``, oldest first."""
    items = store.search((*FACTS_NAMESPACE, user_id), limit=100)
    return [i.value["text"] for i in sorted(items, key=lambda i: i.created_at)]


def remember_facts(store: Any, user_id: str, text: str) -> bool:
    """Store ``text`` as a fact about the user if it is a statement about them."""
    if "?" in text or not _FACT.match(text):
        return False
    key = hashlib.sha256(text.strip().lower().encode()).hexdigest()[:16]
    store.put((*FACTS_NAMESPACE, user_id), key, {"text": text.strip()})
    return True


def _build(pattern: Pattern) -> StateGraph[Any]:
    agent = pattern.agents[0]
    graph = StateGraph(PatternState)

    def make(state: Mapping[str, Any]) -> Any:
        history = list(state.get("messages", []))
        facts = state.get("results", {}).get("__facts__") or []
        if facts:
            note = "Known facts about the user:\n" + "\n".join(f"- {f}" for f in facts)
            history = [SystemMessage(note), *history]
        return agent_turn(agent, history, state=state, handoffs=(),
                          check_input=request_of(state))

    def finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = res.state_update()
        update["final_output"] = output_of(res)
        update["last_agent"] = agent.name
        return update

    inner = agent_node(agent.name, make, finish)

    def with_facts(state: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        from langgraph.config import get_store

        user = _user(config)
        store = get_store() if user else None
        if store is None or user is None:
            return dict(state)
        remember_facts(store, user, request_of(state))
        facts = recall_facts(store, user)
        return {**state, "results": {**(state.get("results") or {}), "__facts__": facts}}

    from langgraph._internal._runnable import RunnableCallable

    def run(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        return inner.invoke(with_facts(state, config), config)

    async def arun(state: Mapping[str, Any], config: RunnableConfig) -> Any:
        return await inner.ainvoke(with_facts(state, config), config)

    graph.add_node(agent.name, RunnableCallable(run, arun, name=agent.name),
                   metadata={"agentpatterns": inner_tools_meta(agent)})
    graph.add_edge(START, agent.name)
    graph.add_edge(agent.name, END)
    return graph


register("memory")(_build)
