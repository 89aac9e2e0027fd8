"""The ``Pattern`` topology, one builder module per pattern, compile to LangGraph, analysis.

May import nodes, storage, state, events and errors; adapters only in Pattern's drawing
conveniences (lazily).
"""

from agentpatterns.graphs.dynamic import dynamic
from agentpatterns.graphs.handoffs import from_agent, sequential, triage
from agentpatterns.graphs.hierarchical import hierarchical
from agentpatterns.graphs.human_approval import human_approval
from agentpatterns.graphs.memory import memory
from agentpatterns.graphs.parallel import parallel
from agentpatterns.graphs.pattern import Edge, Node, Pattern
from agentpatterns.graphs.reflection import reflection
from agentpatterns.graphs.supervisor import supervisor

__all__ = [
    "Edge",
    "Node",
    "Pattern",
    "dynamic",
    "from_agent",
    "hierarchical",
    "human_approval",
    "memory",
    "parallel",
    "reflection",
    "sequential",
    "supervisor",
    "triage",
]
