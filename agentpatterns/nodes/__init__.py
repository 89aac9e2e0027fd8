"""Agents, tools, guardrails, models (the offline one too), budgets and the agent turn.

Below graphs/: may import state, events and errors; never graphs, run, storage or adapters.
"""

from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.offline import OfflineModel
from agentpatterns.nodes.tools import AgentTool, FunctionTool, function_tool

__all__ = ["Agent", "AgentTool", "FunctionTool", "OfflineModel", "function_tool"]
