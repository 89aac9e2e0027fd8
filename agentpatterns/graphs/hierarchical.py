"""Hierarchical: an orchestrator uses specialist agents as tools."""

from __future__ import annotations

from agentpatterns.errors import PatternError
from agentpatterns.graphs.handoffs import _network, build_network
from agentpatterns.graphs.pattern import Pattern, register
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.tools import AgentTool

__all__ = ["hierarchical"]


def hierarchical(orchestrator: Agent, *, name: str = "", description: str = "") -> Pattern:
    """Agents as tools: the orchestrator calls specialists and gets their output back.

    Each specialist runs inside the orchestrator's node (its own instructions, its own
    model call); the topology shows a ``tool`` edge to each, and ``RunResult.path`` lists a
    specialist when it took a turn.

    Raises:
        PatternError: The orchestrator has no agent tools.

    Example:
        >>> from agentpatterns import Runner
        >>> sql = Agent(name="SQL Expert", instructions="Write SQL queries")
        >>> py = Agent(name="Python Expert", instructions="Write Python code")
        >>> boss = Agent(name="Orchestrator", instructions="Coordinate specialists", tools=[
        ...     sql.as_tool(tool_name="sql_expert", tool_description="Use for database queries"),
        ...     py.as_tool(tool_name="python_expert",
        ...                tool_description="Use for Python coding tasks")])
        >>> Runner.run_sync(hierarchical(boss), "Write SQL queries to count orders").path
        ['Orchestrator', 'SQL Expert']
    """
    if not any(isinstance(t, AgentTool) for t in orchestrator.tools):
        raise PatternError(
            f"hierarchical orchestrator {orchestrator.name!r} has no agents as tools; add "
            "tools=[specialist.as_tool(tool_name=..., tool_description=...)]")
    return _network("hierarchical", orchestrator, name=name, fallback=None,
                    description=description)


register("hierarchical")(build_network)
