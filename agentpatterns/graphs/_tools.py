"""The tools of a pattern's agents in its topology: tool nodes, ``tool`` edges, and the
same folded into compiled nodes' metadata (``inner``) so both views draw them.

Function and hosted tools become ``tool`` nodes beside their agent; an agent used as a tool
becomes an ``agent`` node (a pattern used as a tool a ``pattern`` node) reached by a
``tool`` edge labelled with the tool's name, with its own tools in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentpatterns.graphs.pattern import Edge, Node, Pattern, _first_line
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.tools import AgentTool, FunctionTool, HostedTool

__all__ = ["inner_tools", "inner_tools_meta", "participant_tools", "tool_nodes_and_edges"]


def tool_nodes_and_edges(agents: Sequence[Agent]) -> tuple[list[Node], list[Edge]]:
    """``tool`` nodes for function tools and ``tool`` edges for tools and agents-as-tools."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for a in agents:
        for t in a.tools:
            if isinstance(t, AgentTool):
                edges.append(Edge(source=a.name, target=t.agent.name, kind="tool", label=t.name))
            elif isinstance(t, FunctionTool | HostedTool):
                node_id = f"{a.name}:{t.name}"
                description = (t.description if isinstance(t, FunctionTool)
                               else f"hosted {t.kind} (OpenAI Agents SDK runtime only)")
                nodes.append(Node(id=node_id, kind="tool", label=t.name, description=description))
                edges.append(Edge(source=a.name, target=node_id, kind="tool", label=t.name))
    return nodes, edges


def participant_tools(participants: Sequence[Any]) -> tuple[list[Node], list[Edge]]:
    """The tool nodes and edges of the agents among ``participants``, for the patterns that
    are not handoff networks (supervisor, parallel, reflection, human approval, memory,
    dynamic): function tools beside each agent, and the agents it uses as tools as nodes of
    their own, with their tools in turn (a participant that is a pattern draws its own).

    An agent used as a tool that is also a participant keeps its one node; the ``tool`` edge
    is drawn to it.
    """
    members = {p.name for p in participants}
    nodes: list[Node] = []
    edges: list[Edge] = []
    seen = set(members)
    todo = [p for p in participants if isinstance(p, Agent)]
    while todo:
        agent = todo.pop(0)
        own_nodes, own_edges = tool_nodes_and_edges([agent])
        nodes += own_nodes
        edges += own_edges
        for t in agent.tools:
            if not isinstance(t, AgentTool) or t.agent.name in seen:
                continue
            seen.add(t.agent.name)
            if not isinstance(t.agent, Pattern):  # a pattern is nested: Pattern.patterns
                nodes.append(Node(id=t.agent.name, kind="agent", label=t.agent.name,
                                  description=t.agent.handoff_description
                                  or _first_line(t.agent)))
                todo.append(t.agent)
    return nodes, edges


def inner_tools(agent: Agent) -> list[dict[str, str]]:
    """The tool edges that run inside ``agent``'s node, through agents used as tools too.

    Drawn from the compiled graph (``to_networkx``) they restore the tool nodes and the
    tool-only agents, which have no LangGraph node of their own.
    """
    out: list[dict[str, str]] = []
    seen, todo = {agent.name}, [agent]
    while todo:
        current = todo.pop(0)
        nodes, edges = tool_nodes_and_edges([current])
        kinds: dict[str, str] = {n.id: n.kind for n in nodes}
        for t in current.tools:
            if isinstance(t, AgentTool) and isinstance(t.agent, Pattern):
                kinds[t.agent.name] = "pattern"
        out += [{"source": e.source, "target": e.target, "label": e.label,
                 "target_kind": kinds.get(e.target, "agent")} for e in edges]
        for t in current.tools:
            sub = getattr(t, "agent", None)
            if isinstance(sub, Agent) and sub.name not in seen:
                seen.add(sub.name)
                todo.append(sub)
    return out


def inner_tools_meta(participant: Any, kind: str = "agent") -> dict[str, Any]:
    """A compiled node's ``metadata["agentpatterns"]``: its kind, and (for an agent) the
    tools that run inside it, agents used as tools and theirs included (``inner``)."""
    meta: dict[str, Any] = {"kind": kind}
    inner = inner_tools(participant) if isinstance(participant, Agent) else []
    if inner:
        meta["inner"] = inner
    return meta
