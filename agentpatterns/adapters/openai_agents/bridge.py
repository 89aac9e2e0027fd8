"""The model bridge: any LangChain chat model as an OpenAI Agents SDK ``Model``.

The SDK speaks Responses-API items; LangChain speaks messages. ``LangChainModel`` converts
both ways so that the model sees *the same messages* it would see on the LangGraph runtime:
the system instructions first, then the conversation, with an assistant's text and its tool
calls of one reply folded into one ``AIMessage`` (as LangGraph keeps them).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import FunctionTool as SDKFunctionTool
from agents.tool import Tool as SDKTool
from agents.usage import Usage
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
)
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from agentpatterns.errors import UnsupportedError
from agentpatterns.nodes._text import AGENT_KEY, message_text
from agentpatterns.nodes.items import _FC, _MSG, items_to_messages, messages_to_items
from agentpatterns.nodes.items import _content_text as _content_text  # re-exported
from agentpatterns.nodes.items import _plain as _plain  # re-exported

__all__ = [
    "LangChainModel",
    "items_to_messages",
    "message_to_items",
    "messages_to_items",
    "tool_dicts",
]

# ------------------------------------------------------------------ messages -> SDK items


def message_to_items(message: AIMessage, reply: str | None = None) -> list[Any]:
    """An ``AIMessage`` -> SDK output items: its text, then one item per tool call."""
    reply = reply or uuid.uuid4().hex[:16]
    items: list[Any] = []
    text = message_text(message)
    if text:
        items.append(ResponseOutputMessage(
            id=f"{_MSG}_{reply}", type="message", role="assistant", status="completed",
            content=[ResponseOutputText(text=text, type="output_text", annotations=[],
                                        logprobs=[])]))
    for i, call in enumerate(message.tool_calls):
        items.append(ResponseFunctionToolCall(
            id=f"{_FC}_{reply}_{i}", call_id=call.get("id") or f"call_{reply}_{i}",
            type="function_call", name=call["name"], status="completed",
            arguments=json.dumps(call.get("args") or {})))
    for j, bad in enumerate(message.invalid_tool_calls, start=len(message.tool_calls)):
        items.append(ResponseFunctionToolCall(
            id=f"{_FC}_{reply}_{j}", call_id=bad.get("id") or f"call_{reply}_{j}",
            type="function_call", name=str(bad.get("name") or ""), status="completed",
            arguments=str(bad.get("args") or "")))
    return items


def _usage(message: AIMessage) -> Usage:
    meta: Mapping[str, Any] = message.usage_metadata or {}
    return Usage(requests=1, input_tokens=int(meta.get("input_tokens", 0)),
                 output_tokens=int(meta.get("output_tokens", 0)),
                 total_tokens=int(meta.get("total_tokens", 0)))


# ------------------------------------------------------------------ tools and schemas


def tool_dicts(tools: Sequence[SDKTool],
               handoffs: Sequence[Handoff[Any, Any]]) -> list[dict[str, Any]]:
    """SDK function tools and handoffs -> OpenAI function-tool dicts for ``bind_tools``.

    Raises:
        UnsupportedError: A hosted tool (web search, file search, computer, MCP...), which
            a LangChain chat model cannot run.
    """
    out: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, SDKFunctionTool):
            raise UnsupportedError(
                f"tool {getattr(tool, 'name', tool)!r} ({type(tool).__name__}) is a hosted or "
                "special SDK tool; a LangChain chat model can only be offered function tools")
        out.append({"type": "function", "function": {
            "name": tool.name, "description": tool.description,
            "parameters": tool.params_json_schema}})
    for h in handoffs:
        out.append({"type": "function", "function": {
            "name": h.tool_name, "description": h.tool_description,
            "parameters": h.input_json_schema or {"type": "object", "properties": {},
                                                  "additionalProperties": False}}})
    return out


def _response_format(output_schema: AgentOutputSchemaBase | None) -> dict[str, Any] | None:
    if output_schema is None or output_schema.is_plain_text():
        return None
    return {"type": "json_schema", "json_schema": {
        "name": output_schema.name(), "schema": output_schema.json_schema(),
        "strict": output_schema.is_strict_json_schema()}}


# ------------------------------------------------------------------ the model


class LangChainModel(Model):
    """A LangChain chat model (``OfflineModel``, ``ChatOpenAI``, any ``BaseChatModel``) as an
    OpenAI Agents SDK ``Model``, so ``agents.Runner`` can run it.

    Args:
        model: The chat model. It must support ``bind_tools`` when agents have tools or
            handoffs, and honour ``response_format`` for structured output.

    Example:
        >>> import agents
        >>> from agentpatterns import OfflineModel
        >>> bot = agents.Agent(name="Writer", instructions="Write a poem",
        ...                    model=LangChainModel(OfflineModel(), agent="Writer"))
        >>> from agents import RunConfig, Runner
        >>> Runner.run_sync(bot, "the sea",
        ...                 run_config=RunConfig(tracing_disabled=True)).final_output
        '[Writer] draft 1 based on: the sea'
    """

    def __init__(self, model: BaseChatModel, *, agent: str | None = None) -> None:
        if not isinstance(model, BaseChatModel):
            raise TypeError(f"LangChainModel needs a LangChain chat model, got {model!r}")
        self.model = model
        self.agent = agent

    def __repr__(self) -> str:
        return f"LangChainModel({type(self.model).__name__})"

    def for_agent(self, agent: str) -> LangChainModel:
        """The same chat model, answering for ``agent`` (named in the run metadata of every
        call, as on LangGraph, so models that tell agents apart can)."""
        return self if self.agent == agent else LangChainModel(self.model, agent=agent)

    def _config(self) -> dict[str, Any]:
        return {"metadata": {AGENT_KEY: self.agent}} if self.agent else {}

    def _runnable(self, tools: list[SDKTool], handoffs: list[Handoff[Any, Any]],
                  output_schema: AgentOutputSchemaBase | None,
                  settings: ModelSettings) -> Any:
        from agentpatterns.adapters.openai_agents.behavior import settings_of

        ours = settings_of(settings)  # bound as on LangGraph (nodes/_drivers._bound)
        offered = tool_dicts(tools, handoffs)
        runnable: Any = self.model
        if offered:
            choice = ours.tool_choice if ours is not None else None
            runnable = self.model.bind_tools(offered,
                                             **({"tool_choice": choice} if choice else {}))
        extra: dict[str, Any] = ours.call_kwargs() if ours is not None else {}
        response_format = _response_format(output_schema)
        if response_format is not None:
            extra["response_format"] = response_format
        return runnable.bind(**extra) if extra else runnable

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[SDKTool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> ModelResponse:
        """Call the chat model once and return its reply as SDK output items."""
        messages = items_to_messages(system_instructions, input, agent=self.agent)
        runnable = self._runnable(tools, handoffs, output_schema, model_settings)
        reply = await runnable.ainvoke(messages, config=self._config())
        if not isinstance(reply, AIMessage):
            text = message_text(reply) if isinstance(reply, BaseMessage) else str(reply)
            reply = AIMessage(content=text)
        rid = uuid.uuid4().hex[:16]
        return ModelResponse(output=message_to_items(reply, rid), usage=_usage(reply),
                             response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[SDKTool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """Stream the chat model's reply as Responses-API stream events (text deltas live)."""
        messages = items_to_messages(system_instructions, input, agent=self.agent)
        runnable = self._runnable(tools, handoffs, output_schema, model_settings)
        rid = uuid.uuid4().hex[:16]
        seq = iter(range(1_000_000))
        response = _response(rid, [], None, "in_progress")
        yield ResponseCreatedEvent(type="response.created", response=response,
                                   sequence_number=next(seq))
        total: AIMessageChunk | None = None
        msg_id = f"{_MSG}_{rid}"
        started = False
        async for chunk in runnable.astream(messages, config=self._config()):
            total = chunk if total is None else total + chunk
            delta = chunk.content if isinstance(chunk.content, str) else message_text(chunk)
            if not delta:
                continue
            if not started:
                started = True
                yield ResponseOutputItemAddedEvent(
                    type="response.output_item.added", output_index=0,
                    sequence_number=next(seq), item=ResponseOutputMessage(
                        id=msg_id, type="message", role="assistant", status="in_progress",
                        content=[]))
                yield ResponseContentPartAddedEvent(
                    type="response.content_part.added", item_id=msg_id, output_index=0,
                    content_index=0, sequence_number=next(seq), part=ResponseOutputText(
                        text="", type="output_text", annotations=[], logprobs=[]))
            yield ResponseTextDeltaEvent(
                type="response.output_text.delta", item_id=msg_id, output_index=0,
                content_index=0, delta=delta, logprobs=[], sequence_number=next(seq))
        final = AIMessage(content="") if total is None else AIMessage(
            content=total.content, tool_calls=total.tool_calls,
            invalid_tool_calls=total.invalid_tool_calls, usage_metadata=total.usage_metadata)
        items = message_to_items(final, rid)
        for index, item in enumerate(items):
            if isinstance(item, ResponseOutputMessage):
                if not started:
                    yield ResponseOutputItemAddedEvent(
                        type="response.output_item.added", output_index=index,
                        sequence_number=next(seq), item=item)
                yield ResponseContentPartDoneEvent(
                    type="response.content_part.done", item_id=item.id, output_index=index,
                    content_index=0, part=item.content[0], sequence_number=next(seq))
            else:
                yield ResponseOutputItemAddedEvent(
                    type="response.output_item.added", output_index=index,
                    sequence_number=next(seq), item=item)
            yield ResponseOutputItemDoneEvent(type="response.output_item.done",
                                              output_index=index, item=item,
                                              sequence_number=next(seq))
        yield ResponseCompletedEvent(type="response.completed",
                                     response=_response(rid, items, _usage(final), "completed"),
                                     sequence_number=next(seq))


def _response(rid: str, output: list[Any], usage: Usage | None, status: str) -> Response:
    return Response(
        id=f"resp_lc_{rid}", created_at=0, model="langchain", object="response", output=output,
        tool_choice="auto", tools=[], top_p=None, parallel_tool_calls=True, status=status,  # type: ignore[arg-type]
        usage=None if usage is None else ResponseUsage(
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0)))
