"""Conversations as OpenAI Agents SDK input items and back (no ``agents`` import).

The SDK speaks Responses-API input items (``{"role": "user", "content": ...}``,
``function_call``, ``function_call_output``...); LangGraph keeps LangChain messages. These
converters are shared by the SDK bridge (what a chat model is shown), ``Runner.run`` with a
list of input items (as ``agents.Runner.run`` takes them) and ``RunResult.to_input_list()``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentpatterns.errors import UnsupportedError
from agentpatterns.nodes._text import message_text

__all__ = ["items_to_messages", "last_user_text", "messages_to_items"]

# Output item ids carry the reply they came from (``msg_<reply>``, ``fc_<reply>_<n>``), so
# an assistant's text and its tool calls fold back into one AIMessage - and two replies
# that happen to be adjacent (a sequence of agents) do not.
_MSG = "msg_lc"
_FC = "fc_lc"


def _plain(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        return dict(dump(exclude_unset=True))
    raise UnsupportedError(f"input item {item!r} is neither a dict nor a pydantic model")


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        part = _plain(part)
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(str(part.get("text", "")))
        elif kind == "refusal":
            parts.append(str(part.get("refusal", "")))
        else:
            raise UnsupportedError(f"message content part of type {kind!r} (images, files, "
                                   "audio) cannot be passed to a LangChain chat model by the "
                                   "bridge; send text")
    return "".join(parts)


def _reply_of(item_id: Any) -> str | None:
    """The bridge's reply id inside an output item id, or None for foreign ids."""
    if not isinstance(item_id, str):
        return None
    if item_id.startswith(_MSG + "_"):
        return item_id[len(_MSG) + 1:]
    if item_id.startswith(_FC + "_"):
        return item_id[len(_FC) + 1:].rsplit("_", 1)[0]
    return None


def _parse_args(raw: Any) -> tuple[dict[str, Any] | None, str]:
    text = raw if isinstance(raw, str) else json.dumps(raw or {})
    try:
        value = json.loads(text, strict=False) if text.strip() else {}  # as LangChain reads
    except json.JSONDecodeError:
        return None, text
    return (value if isinstance(value, dict) else None), text


def items_to_messages(system_instructions: str | None,
                      items: str | Sequence[Any], *, agent: str | None = None) -> list[BaseMessage]:
    """SDK input items -> LangChain messages, the system instructions first.

    Args:
        system_instructions: The agent's system prompt (``None`` for none).
        agent: The agent's name, kept in the system message's ``response_metadata`` as on
            LangGraph (never sent to a model).
        items: A user string or Responses-API input items (dicts or pydantic models):
            user/system/developer/assistant messages, ``function_call`` and
            ``function_call_output`` items (handoffs are function calls too); reasoning
            items are dropped.

    Raises:
        UnsupportedError: An item a chat model cannot be given (a hosted tool call, an
            image), naming its type.
    """
    out: list[BaseMessage] = []
    if system_instructions:
        out.append(SystemMessage(system_instructions,
                                 response_metadata={"agent": agent} if agent else {}))
    if isinstance(items, str):
        out.append(HumanMessage(items))
        return out
    open_ai: AIMessage | None = None  # the assistant reply tool calls still attach to
    open_reply: str | None = None
    for raw in items:
        item = _plain(raw)
        kind = item.get("type")
        role = item.get("role")
        if kind in (None, "message") and role is not None:
            text = _content_text(item.get("content"))
            if role == "user":
                out.append(HumanMessage(text))
                open_ai = None
            elif role in ("system", "developer"):
                out.append(SystemMessage(text))
                open_ai = None
            elif role == "assistant":
                open_ai = AIMessage(content=text)
                open_reply = _reply_of(item.get("id"))
                out.append(open_ai)
            else:
                raise UnsupportedError(f"input message with role {role!r} is not supported")
        elif kind == "function_call":
            reply = _reply_of(item.get("id"))
            same = open_ai is not None and (reply is None or open_reply is None
                                            or reply == open_reply)
            if open_ai is None or not same:
                open_ai = AIMessage(content="")
                open_reply = reply
                out.append(open_ai)
            args, text = _parse_args(item.get("arguments"))
            call_id = str(item.get("call_id") or item.get("id") or "")
            if args is None:
                open_ai.invalid_tool_calls.append({
                    "name": item.get("name"), "args": text, "id": call_id,
                    "error": "arguments are not a JSON object", "type": "invalid_tool_call"})
            else:
                open_ai.tool_calls.append({"name": str(item.get("name")), "args": args,
                                           "id": call_id, "type": "tool_call"})
        elif kind == "function_call_output":
            output = item.get("output")
            content = output if isinstance(output, str) else _content_text(output)
            out.append(ToolMessage(content, tool_call_id=str(item.get("call_id"))))
        elif kind == "reasoning":
            continue
        else:
            raise UnsupportedError(
                f"input item of type {kind!r} cannot be converted for a LangChain chat model "
                "(hosted tools, computer use and MCP items are not supported by the bridge)")
    return out



def _reply_items(message: AIMessage, reply: str) -> list[dict[str, Any]]:
    # the same dicts as the bridge's output items dumped (ids carry the reply, see above)
    items: list[dict[str, Any]] = []
    text = message_text(message)
    if text:
        items.append({"id": f"{_MSG}_{reply}", "content": [
            {"annotations": [], "text": text, "type": "output_text", "logprobs": []}],
            "role": "assistant", "status": "completed", "type": "message"})
    for i, call in enumerate(message.tool_calls):
        items.append({"arguments": json.dumps(call.get("args") or {}),
                      "call_id": call.get("id") or f"call_{reply}_{i}", "name": call["name"],
                      "type": "function_call", "id": f"{_FC}_{reply}_{i}",
                      "status": "completed"})
    for j, bad in enumerate(message.invalid_tool_calls, start=len(message.tool_calls)):
        items.append({"arguments": str(bad.get("args") or ""),
                      "call_id": bad.get("id") or f"call_{reply}_{j}",
                      "name": str(bad.get("name") or ""), "type": "function_call",
                      "id": f"{_FC}_{reply}_{j}", "status": "completed"})
    return items


def messages_to_items(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> SDK input items (what a session hands back to the SDK).

    Human -> user message, AI -> assistant message plus ``function_call`` items, Tool ->
    ``function_call_output``, System -> system message.
    """
    items: list[dict[str, Any]] = []
    for n, message in enumerate(messages):
        if isinstance(message, HumanMessage):
            items.append({"role": "user", "content": message_text(message)})
        elif isinstance(message, SystemMessage):
            items.append({"role": "system", "content": message_text(message)})
        elif isinstance(message, AIMessage):
            items.extend(_reply_items(message, (message.id or f"h{n}").replace("_", "-")))
        elif isinstance(message, ToolMessage):
            items.append({"type": "function_call_output", "call_id": message.tool_call_id,
                          "output": message_text(message)})
        else:
            raise UnsupportedError(f"message of type {type(message).__name__} has no SDK item")
    return items


def last_user_text(messages: Sequence[BaseMessage]) -> str:
    """The text of the last user message ("" when there is none)."""
    return next((message_text(m) for m in reversed(messages) if isinstance(m, HumanMessage)),
                "")
