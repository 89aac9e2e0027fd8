"""Patterns and their LangGraph builders (one module per pattern)."""

from agentpatterns.graphs.handoffs import from_agent, sequential, triage
from agentpatterns.graphs.pattern import Edge, Node, Pattern

__all__ = ["Edge", "Node", "Pattern", "from_agent", "sequential", "triage"]
