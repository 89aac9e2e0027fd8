"""Agents, tools, models and the agent turn."""

from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.offline import OfflineModel
from agentpatterns.nodes.tools import AgentTool, FunctionTool, function_tool

__all__ = ["Agent", "AgentTool", "FunctionTool", "OfflineModel", "function_tool"]
