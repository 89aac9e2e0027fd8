"""``OfflineModel``: a deterministic, rule-based chat model that needs no network and no key.

It is not a language model. It exists so every pattern, example, notebook and test runs on a
fresh machine, and it follows stated rules that make the agent semantics visible:

* **hand on** - instructions that say "..., then hand off to X" make it write its part and
  hand off to X (the handoff tool whose name contains X);
* **route** - given tools (handoffs, agents as tools, function tools), it calls the one whose
  name + description share the most stemmed words with the latest user request, one call per
  reply, never the same tool twice for one request; no match -> it answers itself (with
  ``tool_choice="required"`` it calls the first tool offered instead; a tool's name offers
  only that tool; ``"none"`` offers none);
* **arguments** - the call's arguments come from the request, by the tool's schema
  (identifiers, numbers, dates, quoted strings, enum options; the whole request only for a
  single free-text parameter): see :mod:`agentpatterns.nodes._tool_args`;
* **recall** - a question whose key words all appear in an earlier message of the
  conversation (or in a "Known facts" system note) is answered from that message;
* **review** - an agent told to review/critique gives feedback on drafts 1 and 2 and
  answers ``APPROVED`` from draft 3 on (drafts are numbered by the generator: "draft N");
* **structured** - given a response format (a JSON schema), it fills the schema from the
  request: string lists from the request's phrases, strings from its key terms, defaults
  for the rest;
* **write** - otherwise it writes ``[Agent Name] <what> based on: <what it worked from>``.

``latency`` sleeps (``asyncio.sleep`` on the async path) on every call to simulate a slow
model. Usage is reported as counted words, in ``usage_metadata``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable

from agentpatterns.nodes._text import agent_name, key_terms, message_text, snake, stems
from agentpatterns.nodes._tool_args import fill_arguments

__all__ = ["OfflineModel", "offline_reply"]

_HAND_ON = re.compile(
    r"then\s+hand(?:s)?[\s-]*off\s+to\s+(?:the\s+)?([\w ]+?)\s*(?:[.,;!]|$)", re.I
)
_DRAFT = re.compile(r"draft (\d+)", re.I)
_PHRASE_SPLIT = re.compile(
    r"\s*(?:,|;|\band\b|\bor\b|\bwith\b|\bfor\b|\bon\b|\babout\b|\bin\b|"
    r"\bof\b|\bto\b)\s*",
    re.I,
)
_PHRASE_STOP = {"advice", "question", "questions", "implications", "expertise", "needed"}

# Verbs in an agent's instructions and what the agent writes when it has that job.
_NOUNS: tuple[tuple[str, str], ...] = (
    ("sql", "SQL query"),
    ("python", "Python code"),
    ("research", "research notes"),
    ("polish", "edited text"),
    ("edit", "edited text"),
    ("plan", "plan"),
    ("execut", "execution report"),
    ("synthesi", "synthesis"),
    ("combin", "synthesis"),
    ("aggregat", "summary"),
    ("analy", "analysis"),
    ("process", "processed data"),
    ("generat", "draft"),
    ("writ", "draft"),
    ("draft", "draft"),
)
_REVIEW = re.compile(r"\b(review|critique|critic|feedback)", re.I)
_MAX_SOURCE = 400


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SOURCE else text[: _MAX_SOURCE - 1].rstrip() + "…"


def _tool_name(tool: dict[str, Any]) -> str:
    return str(tool.get("function", tool).get("name", ""))


def _tool_text(tool: dict[str, Any]) -> str:
    fn = tool.get("function", tool)
    return f"{fn.get('name', '').replace('_', ' ')} {fn.get('description', '')}"


def _call_args(tool: dict[str, Any], request: str) -> dict[str, Any]:
    return fill_arguments(tool.get("function", tool).get("parameters") or {}, request)


def _fill(schema: dict[str, Any], request: str, defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"] or schema["anyOf"]
        return _fill(options[0], request, defs)
    kind = schema.get("type")
    if kind == "object":
        return {
            key: _fill(sub, request, defs) for key, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        items = schema.get("items") or {}
        if items.get("type") == "string":
            return _phrases(request)
        return []
    if kind == "string":
        return " ".join(key_terms(request)) or request
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    return None


def _phrases(request: str) -> list[str]:
    """The request's phrases: split at and/or/commas/prepositions, content words kept."""
    out: list[str] = []
    for chunk in _PHRASE_SPLIT.split(request):
        words = [w for w in key_terms(chunk, limit=3) if w not in _PHRASE_STOP]
        phrase = " ".join(words)
        if phrase and phrase not in out:
            out.append(phrase)
    return out


def _schema_of(response_format: Any) -> dict[str, Any] | None:
    if response_format is None:
        return None
    if isinstance(response_format, type) and hasattr(response_format, "model_json_schema"):
        return dict(response_format.model_json_schema())
    if isinstance(response_format, dict):
        if "json_schema" in response_format:
            return dict(response_format["json_schema"].get("schema", {}))
        if response_format.get("type") == "json_object":
            return {"type": "object", "properties": {}}
        return response_format
    return None


def _usage(messages: Sequence[BaseMessage], reply: AIMessage) -> dict[str, int]:
    words_in = sum(len(message_text(m).split()) for m in messages)
    words_out = len(message_text(reply).split()) + sum(
        len(json.dumps(c.get("args", {})).split()) for c in reply.tool_calls
    )
    return {
        "input_tokens": words_in,
        "output_tokens": words_out,
        "total_tokens": words_in + words_out,
    }


def offline_reply(
    messages: Sequence[BaseMessage],
    tools: Sequence[dict[str, Any]] = (),
    response_format: Any = None,
    *,
    call_id: Callable[[], str] | None = None,
    agent: str | None = None,
    required: bool = False,
) -> AIMessage:
    """Apply the offline rules to a conversation; see the module docstring.

    ``agent`` is the name of the agent answering (default: the one the system message names,
    see :func:`~agentpatterns.nodes._text.agent_name`, else ``"Assistant"``).
    """
    named, instructions = agent_name(messages)
    name = agent or named or "Assistant"
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    request = message_text(messages[last_human]) if last_human >= 0 else ""
    since = messages[last_human + 1 :] if last_human >= 0 else messages
    called = {c["name"] for m in since if isinstance(m, AIMessage) for c in m.tool_calls}
    counter = iter(range(1, 10_000))
    new_id = call_id or (lambda: f"call_{snake(name)}_{len(messages)}_{next(counter)}")

    def call(tool: dict[str, Any], content: str = "") -> AIMessage:
        return AIMessage(
            content=content,
            tool_calls=[
                {
                    "name": _tool_name(tool),
                    "args": _call_args(tool, request),
                    "id": new_id(),
                    "type": "tool_call",
                }
            ],
        )

    schema = _schema_of(response_format)
    if schema is not None:
        return AIMessage(content=json.dumps(_fill(schema, request, schema.get("$defs", {}))))

    fresh = [t for t in tools if _tool_name(t) not in called]
    hand_on = _HAND_ON.search(instructions)
    if hand_on:
        target = snake(hand_on.group(1))
        for tool in fresh:
            if target in _tool_name(tool):
                return call(tool, _write(name, instructions, messages, since, request))
    wanted = stems(request)
    best, best_score = None, 0
    for tool in fresh:
        score = len(wanted & stems(_tool_text(tool)))
        if score > best_score:
            best, best_score = tool, score
    if best is None and required and fresh:
        best = fresh[0]  # tool_choice "required" (or a tool's name): some tool is called
    if best is not None:
        return call(best)
    recalled = _recall(messages, last_human, request)
    if recalled:
        return AIMessage(content=f"[{name}] From our earlier conversation: {recalled}")
    return AIMessage(content=_write(name, instructions, messages, since, request))


def _recall(messages: Sequence[BaseMessage], last_human: int, request: str) -> str | None:
    if "?" not in request:
        return None
    wanted = stems(request)
    if not wanted:
        return None
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if i == last_human or isinstance(message, AIMessage | ToolMessage):
            continue
        text = message_text(message)
        if isinstance(message, SystemMessage):
            if not text.startswith("Known facts"):
                continue
            for line in text.splitlines()[1:]:
                if wanted <= stems(line):
                    return line.lstrip("- ").strip()
            continue
        if "?" not in text and wanted <= stems(text):
            return _short(text)
    return None


def _write(
    name: str,
    instructions: str,
    messages: Sequence[BaseMessage],
    since: Sequence[BaseMessage],
    request: str,
) -> str:
    handoff_ids = {
        c.get("id")
        for m in since
        if isinstance(m, AIMessage)
        for c in m.tool_calls
        if c["name"].startswith("transfer_to_")
    }
    # answer from every tool result received for this request (hierarchical, supervisor)
    tool_outputs = [
        message_text(m)
        for m in since
        if isinstance(m, ToolMessage) and m.tool_call_id not in handoff_ids
    ]
    if _REVIEW.search(instructions):
        drafts = [int(n) for n in _DRAFT.findall(request)]
        number = max(drafts, default=1)
        if number >= 3:
            return f"[{name}] APPROVED: draft {number} is ready."
        return f"[{name}] feedback on draft {number}: be more specific and add an example."
    lowered = instructions.lower()
    # the verb that comes first in the instructions names what the agent writes
    # (a language named in them comes first: "Write SQL queries" writes a SQL query)
    found = [(lowered.find(verb), n) for verb, n in _NOUNS if verb in lowered]
    domain = [n for verb, n in _NOUNS[:2] if verb in lowered]
    noun = domain[0] if domain else min(found)[1] if found else "answer"
    if noun == "draft":
        noun = f"draft {max((int(n) for n in _DRAFT.findall(request)), default=0) + 1}"
    if tool_outputs:
        source = " | ".join(_short(t) for t in tool_outputs)
    else:
        previous = next(
            (
                message_text(m)
                for m in reversed(since)
                if isinstance(m, AIMessage)
                and message_text(m)
                and not message_text(m).startswith(f"[{name}]")
            ),
            "",
        )
        feedback = re.search(r"^Feedback: (.+)$", request, re.M)
        # an improvement request (reflection) is worked from the feedback it carries
        source = _short(f"feedback {feedback.group(1)}" if feedback else previous or request)
    return f"[{name}] {noun} based on: {source}"


class OfflineModel(BaseChatModel):
    """Deterministic offline chat model (not an LLM); see the module docstring for its rules.

    Args:
        latency: Seconds to sleep per call (``asyncio.sleep`` when awaited).

    Example:
        >>> from langchain_core.messages import HumanMessage, SystemMessage
        >>> OfflineModel().invoke([SystemMessage("You are Writer. Write a poem"),
        ...                        HumanMessage("the sea")]).content
        '[Writer] draft 1 based on: the sea'
    """

    latency: float = 0.0
    model_name: str = "offline"

    @property
    def _llm_type(self) -> str:
        return "agentpatterns-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "latency": self.latency}

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools (OpenAI dicts, LangChain tools, pydantic models or functions)."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        formatted = [
            t if isinstance(t, dict) and "type" in t else convert_to_openai_tool(t) for t in tools
        ]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any],
               run_manager: Any = None) -> AIMessage:
        name, _ = agent_name(messages, run_manager)
        tools = list(kwargs.get("tools") or ())
        choice = kwargs.get("tool_choice")
        if choice == "none":
            tools = []
        elif isinstance(choice, str) and choice not in ("auto", "required", "any"):
            tools = [t for t in tools if _tool_name(t) == choice]
        reply = offline_reply(messages, tools, kwargs.get("response_format"), agent=name,
                              required=choice not in (None, "auto", "none"))
        reply.usage_metadata = _usage(messages, reply)  # type: ignore[assignment]
        reply.response_metadata = {"model_name": self.model_name}
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            time.sleep(self.latency)
        reply = self._reply(messages, kwargs, run_manager)
        return ChatResult(generations=[ChatGeneration(message=reply)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        reply = self._reply(messages, kwargs, run_manager)
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _chunks(self, reply: AIMessage) -> Iterator[ChatGenerationChunk]:
        words = re.split(r"(\s+)", reply.content if isinstance(reply.content, str) else "")
        for i in range(0, len(words), 2):
            piece = "".join(words[i : i + 2])
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        if reply.tool_calls:
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "name": c["name"],
                            "args": json.dumps(c["args"]),
                            "id": c["id"],
                            "index": i,
                            "type": "tool_call_chunk",
                        }
                        for i, c in enumerate(reply.tool_calls)
                    ],
                )
            )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", usage_metadata=reply.usage_metadata, chunk_position="last"
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if self.latency:
            time.sleep(self.latency)
        for chunk in self._chunks(self._reply(messages, kwargs, run_manager)):
            if run_manager and isinstance(chunk.message.content, str) and chunk.message.content:
                run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self.latency:
            await asyncio.sleep(self.latency)
        for chunk in self._chunks(self._reply(messages, kwargs, run_manager)):
            if run_manager and isinstance(chunk.message.content, str) and chunk.message.content:
                await run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk
