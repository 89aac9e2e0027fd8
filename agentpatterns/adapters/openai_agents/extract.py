"""``as_tool(custom_output_extractor=)`` across the two runtimes.

The SDK hands the extractor the nested run's ``agents.RunResult``; ours
(:class:`agentpatterns.nodes.tools.AgentToolRun`) carries the same facts under the same
names. An imported SDK extractor gets a real ``agents.RunResult`` on LangGraph too (built
from the nested turn: its run items, model responses, final output, the user's SDK agent and
an SDK context with the run's ``context=``); ours gets an ``AgentToolRun`` on both runtimes.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import agents
from agents.items import ModelResponse
from agents.tool_context import ToolContext as SDKToolContext
from langchain_core.messages import AIMessage

from agentpatterns.adapters.openai_agents.bridge import _usage, message_to_items
from agentpatterns.adapters.openai_agents.handoffs import run_items
from agentpatterns.adapters.openai_agents.hooks import ORIGINALS
from agentpatterns.adapters.openai_agents.tools import SOURCE
from agentpatterns.nodes.context import current_context
from agentpatterns.nodes.items import items_to_messages
from agentpatterns.nodes.tools import AgentTool, AgentToolRun

__all__ = ["extractor_back", "sdk_extractor"]

_SDK_FUNCTION = "_agentpatterns_sdk_extractor"


def extractor_back(sdk_agent: agents.Agent[Any], extractor: Any) -> Any:
    """Our ``custom_output_extractor`` for an imported agent tool's SDK one."""
    if extractor is None:
        return None

    async def ours(run: AgentToolRun) -> Any:
        agent = ORIGINALS.get(run.last_agent, sdk_agent)
        items = run_items(run.new_messages, agent, agent, set()) or ()
        result = agents.RunResult(
            input=run.input, new_items=list(items),
            raw_responses=[ModelResponse(output=message_to_items(m), usage=_usage(m),
                                         response_id=None)
                           for m in run.new_messages if isinstance(m, AIMessage)],
            final_output=run.final_output, input_guardrail_results=[],
            output_guardrail_results=[], tool_input_guardrail_results=[],
            tool_output_guardrail_results=[], _last_agent=agent,
            # the SDK's nested run runs in the tool call's context
            context_wrapper=SDKToolContext(context=current_context(), tool_name=run.tool_name,
                                           tool_call_id=run.tool_call_id,
                                           tool_arguments=run.tool_arguments))
        value = extractor(result)
        return await value if inspect.isawaitable(value) else value

    setattr(ours, _SDK_FUNCTION, extractor)
    return ours


def sdk_extractor(tool: AgentTool, record: Callable[[Any], Any] | None) -> Any:
    """The SDK runtime's ``custom_output_extractor`` for our agent tool: the run log's
    ``record`` (it notes the nested run), then the tool's own extractor, if any."""
    own = tool.custom_output_extractor
    if own is None:
        return record
    function = getattr(own, _SDK_FUNCTION, None)

    async def extract(result: Any) -> Any:
        if record is not None:
            await record(result)
        if function is not None:  # an imported SDK extractor: the SDK's RunResult itself
            value = function(result)
        else:
            last = getattr(result.last_agent, SOURCE, None) or result.last_agent
            value = own(AgentToolRun(
                input=result.input if isinstance(result.input, str) else str(result.input),
                final_output=result.final_output, last_agent=last,
                new_messages=items_to_messages(None, [i.to_input_item()
                                                      for i in result.new_items])))
        return await value if inspect.isawaitable(value) else value

    return extract
