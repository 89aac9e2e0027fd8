"""``failure_error_function`` of agents used as tools, across the two runtimes.

In the SDK a failing tool run - for ``Agent.as_tool``, the nested agent's run raising
(``MaxTurnsExceeded``, a model error, a guardrail's tripwire...) - is handed to the tool's
``failure_error_function``: the default gives the model ``"An error occurred while running
the tool. Please try again."``, a function's answer is the message, ``None`` lets the run fail.
Our ``AgentTool.failure_error_function`` holds the same rule with our ``ToolContext``
(:func:`agentpatterns.nodes.tools.failure_message`); these helpers translate it both ways.
A budget stop always stops the run (never a message for the model), on both runtimes.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

from typing import Any

import agents
from agents.tool_context import ToolContext as SDKToolContext

from agentpatterns.adapters.openai_agents.guard import BudgetStop
from agentpatterns.errors import BudgetExceeded
from agentpatterns.nodes.context import ToolContext
from agentpatterns.nodes.tools import DEFAULT_FAILURE, SDK_TOOL_ERROR, AgentTool

__all__ = ["failure_back", "sdk_failure"]

#: the SDK function behind one of ours made by :func:`failure_back`
_SDK_FUNCTION = "_agentpatterns_sdk_function"


def failure_back(tool: Any) -> Any:
    """Our ``failure_error_function`` for an imported SDK agent tool: the SDK's policy, called
    with an SDK ``ToolContext`` (``None`` stays ``None``)."""
    from agents import tool as sdk_tool

    resolve = getattr(sdk_tool, "resolve_function_tool_failure_error_function", None)
    policy = resolve(tool) if resolve is not None else getattr(
        tool, "_failure_error_function", sdk_tool.default_tool_error_function)
    if policy is None:
        return None

    def ours(ctx: ToolContext[Any], error: Exception) -> Any:
        return policy(SDKToolContext(context=ctx.context, tool_name=ctx.tool_name,
                                     tool_call_id=ctx.tool_call_id,
                                     tool_arguments=ctx.tool_arguments), error)

    setattr(ours, _SDK_FUNCTION, policy)
    return ours


def sdk_failure(tool: AgentTool) -> Any:
    """The ``as_tool(failure_error_function=)`` for our agent tool on the SDK runtime."""
    policy = tool.failure_error_function
    if policy is None:
        return None
    function = getattr(policy, _SDK_FUNCTION, None)

    def sdk(ctx: Any, error: Exception) -> Any:
        if isinstance(error, BudgetStop | BudgetExceeded):
            raise error  # the run's budget: never a message for the model
        if policy is DEFAULT_FAILURE:
            if isinstance(error, agents.InputGuardrailTripwireTriggered
                          | agents.OutputGuardrailTripwireTriggered):
                raise error  # ours stops at a nested guardrail unless a function is given
            return SDK_TOOL_ERROR
        if function is not None:  # an imported SDK function: the SDK's own context
            return function(ctx, error)
        return policy(ToolContext(context=ctx.context, tool_name=tool.name,
                                  tool_call_id=str(getattr(ctx, "tool_call_id", "") or ""),
                                  tool_arguments=str(getattr(ctx, "tool_arguments", "") or ""),
                                  ), error)

    return sdk
