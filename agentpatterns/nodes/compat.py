"""OpenAI-compatible servers: what each supports, and every request adapted to it.

"Any OpenAI-compatible server" differs in the details that decide whether a multi-agent
run works at all: llama.cpp's server ignores ``tools`` unless ``tool_choice`` is sent,
answers ``"required"`` with HTTP 500, cannot stream with tools, wants ``json_object`` plus a
schema instead of ``json_schema``, rejects ``content: null`` next to ``tool_calls``, does not
render ``role: tool`` messages and has no Responses API. A :class:`ServerProfile` says what a
server supports; :func:`profile_for` picks one - ``OPENAI_COMPAT=openai|llama.cpp|ollama|vllm``,
else probed once per base URL from ``GET /models`` (``owned_by``) and cached for the process.

The adaptation sits *below both runtimes*, in the HTTP transport of the OpenAI clients
(:func:`http_clients`): langchain-openai's ``ChatOpenAI`` (LangGraph runtime) and the
``AsyncOpenAI`` client of the SDK's ``OpenAIChatCompletionsModel`` send the same request
bodies through the same :func:`adapt_request`, so the two runtimes cannot adapt differently.
A streamed call with tools on a server that cannot stream them is made non-streamed and its
reply replayed as a server-sent-event stream, so callers still see their stream events.

The async transport also keeps one connection pool per event loop: a client cached by the
process (the environment's model, the SDK bridge) is reused by ``asyncio.run`` after
``asyncio.run``, and connections opened on a loop that has closed fail with "Event loop is
closed".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from agentpatterns.errors import InputError

__all__ = [
    "PROFILES",
    "ServerProfile",
    "adapt_request",
    "estimate_tokens",
    "fill_usage",
    "http_clients",
    "is_transient",
    "named_profile",
    "probe",
    "profile_for",
    "reask",
    "replay_as_stream",
]

logger = logging.getLogger("agentpatterns.compat")


@dataclass(frozen=True, kw_only=True)
class ServerProfile:
    """What an OpenAI-compatible server supports (``True``: as OpenAI does).

    Attributes:
        name: ``openai``, ``llama.cpp``, ``ollama`` or ``vllm``.
        tool_choice_default: Offers tools even without ``tool_choice``; ``False``: ``"auto"``
            is sent whenever tools are offered and the request names no choice.
        tool_choice_required: Accepts ``tool_choice="required"``; ``False``: one tool is
            named instead, several become ``"auto"`` (with a warning).
        null_content: Accepts ``content: null`` on an assistant message with ``tool_calls``;
            ``False``: ``""`` is sent.
        tool_messages: Renders ``role: tool`` messages; ``False``: each tool result is sent
            as a user message naming the tool.
        json_schema: Accepts ``response_format={"type": "json_schema", ...}``; ``False``:
            ``{"type": "json_object", "schema": ...}`` is sent (grammar-constrained there).
        max_completion_tokens: Understands ``max_completion_tokens``; ``False``: it is sent
            as ``max_tokens``.
        stream_with_tools: Streams replies when tools are offered; ``False``: the call is
            made non-streamed and the reply replayed as a stream.
        text_with_tools: Can answer in text when tools are offered; ``False`` (llama.cpp's
            grammar leaves such a reply empty, or just ``functions.<name>:``): a reply without
            tool calls is asked again - for that tool by name, else without tools.
        one_call_stop: Stop strings sent with tools so a reply ends after its first tool
            call (llama.cpp's grammar otherwise lets a small model call tools again and again
            until the context is full); the model calls the next tool in its next reply.
        stream_usage: Reports usage in streams (``stream_options.include_usage``); ``False``:
            the budget estimates streamed calls' tokens (and says so in the run's events).
        responses_api: Serves ``/v1/responses``; ``False``: the SDK runtime uses Chat
            Completions.
        deterministic_errors: Its HTTP 5xx replies are validation errors that would fail the
            same way again: they are marked ``x-should-retry: false`` and not retried.
        argument_max_chars: A ``maxLength`` given to every string parameter of the tools
            offered (llama.cpp ignores ``max_tokens`` while it writes tool arguments, and a
            small model's argument string otherwise runs until the context is full).
        client_retries: Retries of the OpenAI client itself (our turn retries a transient
            failure once more); llama.cpp serves one request at a time and keeps generating
            for a caller that timed out, so a retry there only queues behind it.
    """

    name: str
    tool_choice_default: bool = True
    tool_choice_required: bool = True
    null_content: bool = True
    tool_messages: bool = True
    json_schema: bool = True
    max_completion_tokens: bool = True
    stream_with_tools: bool = True
    text_with_tools: bool = True
    one_call_stop: tuple[str, ...] = ()
    stream_usage: bool = True
    responses_api: bool = True
    deterministic_errors: bool = False
    argument_max_chars: int | None = None
    client_retries: int = 2

    @property
    def adapts(self) -> bool:
        """Whether any request is changed for this server."""
        return self != replace(PROFILES["openai"], name=self.name)


#: The known servers, as measured (llama.cpp: llama-cpp-python 0.3.36 with
#: ``--chat_format chatml-function-calling``) or as their documentation states.
PROFILES: Mapping[str, ServerProfile] = {
    "openai": ServerProfile(name="openai"),
    "llama.cpp": ServerProfile(
        name="llama.cpp", tool_choice_default=False, tool_choice_required=False,
        null_content=False, tool_messages=False, json_schema=False,
        max_completion_tokens=False, stream_with_tools=False, text_with_tools=False,
        one_call_stop=("functions.",), stream_usage=False,
        responses_api=False, deterministic_errors=True, argument_max_chars=200,
        client_retries=0),
    # Ollama's OpenAI layer: tools are always considered; no Responses API before 0.13
    "ollama": ServerProfile(name="ollama", tool_choice_required=False,
                            max_completion_tokens=False, responses_api=False),
    # vLLM: tool calls need `--enable-auto-tool-choice --tool-call-parser ...` on the server
    "vllm": ServerProfile(name="vllm", responses_api=False),
}
_ALIASES = {"llama-cpp": "llama.cpp", "llamacpp": "llama.cpp", "llama_cpp": "llama.cpp",
            "llama-cpp-python": "llama.cpp"}
#: ``owned_by`` in ``GET /models`` -> profile (llama-cpp-python says "me", llama-server
#: "llamacpp", Ollama "library", vLLM "vllm")
_OWNERS = {"me": "llama.cpp", "llamacpp": "llama.cpp", "library": "ollama", "vllm": "vllm"}

_PROBED: dict[str, ServerProfile] = {}
_PROBE_LOCK = threading.Lock()


def named_profile(name: str) -> ServerProfile:
    """The profile called ``name`` (case-insensitive; ``llama-cpp`` etc. accepted).

    Raises:
        InputError: An unknown name (the message lists the known ones).
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in PROFILES:
        raise InputError(f"OPENAI_COMPAT={name!r} is not a known server profile; use one of "
                         f"{', '.join(PROFILES)} (or unset it to probe the server)")
    return PROFILES[key]


def probe(base_url: str, *, timeout: float = 3.0) -> ServerProfile:
    """The profile of the server at ``base_url``, from its ``GET /models`` (cached).

    An unreachable server or an unknown owner gives the ``openai`` profile, not cached for
    an unreachable one (it may not be up yet).
    """
    key = base_url.rstrip("/")
    with _PROBE_LOCK:
        if key in _PROBED:
            return _PROBED[key]
    try:
        reply = httpx.get(f"{key}/models", timeout=timeout)
        owners = {str(m.get("owned_by", "")).lower() for m in reply.json().get("data") or []}
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        logger.warning("could not probe %s/models (%s); assuming an OpenAI-like server - set "
                       "OPENAI_COMPAT to say which server it is", key, exc)
        return PROFILES["openai"]
    found = next((_OWNERS[o] for o in sorted(owners) if o in _OWNERS), "openai")
    with _PROBE_LOCK:
        _PROBED[key] = PROFILES[found]
    return PROFILES[found]


def profile_for(base_url: str | None, env: Mapping[str, str] | None = None) -> ServerProfile:
    """The profile for a base URL: ``OPENAI_COMPAT`` if set, else OpenAI's own API for no
    URL or ``api.openai.com``, else :func:`probe`.

    Raises:
        InputError: ``OPENAI_COMPAT`` names no known profile.
    """
    env = os.environ if env is None else env
    named = (env.get("OPENAI_COMPAT") or "").strip()
    if named:
        return named_profile(named)
    if not base_url or httpx.URL(base_url).host.endswith("openai.com"):
        return PROFILES["openai"]
    return probe(base_url)


# ------------------------------------------------------------------ failures and usage


def is_transient(exc: BaseException) -> bool:
    """Whether a failed model call may succeed when made again.

    HTTP 4xx replies (a context that is too long, a request that does not validate) fail
    the same way every time, except 408, 409 and 429; a 5xx is transient unless the server
    (or the compat transport, for servers whose 5xx are validation errors) says
    ``x-should-retry: false``. Anything without a status (a timeout, a lost connection) is
    transient.
    """
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return True
    if status in (408, 409, 429):
        return True
    if status < 500:
        return False
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    return str(headers.get("x-should-retry", "")).lower() != "false"


#: characters per token when a server reports no usage (OpenAI's rule of thumb for English)
CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` by the characters/4 rule (at least 1 for non-empty text)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def fill_usage(reply: Any, messages: Sequence[Any]) -> bool:
    """Estimate a LangChain reply's usage when its server reported none (a stream without
    ``include_usage``); True when it did. The reply's ``response_metadata`` gets
    ``usage_estimated``, and the turn records a ``usage_estimated`` event, so a token budget
    never silently counts 0."""
    if getattr(reply, "usage_metadata", None) or not hasattr(reply, "response_metadata"):
        return False
    from agentpatterns.nodes._text import message_text

    out = message_text(reply) + "".join(
        str(c.get("name", "")) + json.dumps(c.get("args") or {})
        for c in getattr(reply, "tool_calls", None) or [])
    if not out:
        return False
    sent = estimate_tokens("".join(message_text(m) for m in messages))
    got = estimate_tokens(out)
    reply.usage_metadata = {"input_tokens": sent, "output_tokens": got,
                            "total_tokens": sent + got}
    reply.response_metadata = {**(reply.response_metadata or {}), "usage_estimated": True}
    return True


# ------------------------------------------------------------------ request adaptation


def _tool_names(messages: list[Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for message in messages:
        for call in (message.get("tool_calls") or []) if isinstance(message, dict) else []:
            names[str(call.get("id"))] = str((call.get("function") or {}).get("name", "tool"))
    return names


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _bounded(schema: Any, limit: int) -> Any:
    """``schema`` with ``maxLength`` on every string that has none (a copy)."""
    if isinstance(schema, list):
        return [_bounded(s, limit) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v, limit) for k, v in schema.items()}
    if out.get("type") == "string" and "maxLength" not in out and "enum" not in out:
        out["maxLength"] = limit
    return out


def _bounded_tool(tool: Any, limit: int) -> Any:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or "parameters" not in function:
        return tool
    return {**tool, "function": {**function,
                                 "parameters": _bounded(function["parameters"], limit)}}


def adapt_request(profile: ServerProfile, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A Chat Completions request body as ``profile``'s server accepts it.

    Returns:
        The adapted body (a copy when anything changed) and whether the call was made
        non-streamed and its reply must be replayed as a stream (:func:`replay_as_stream`).
    """
    if not profile.adapts:
        return body, False
    body = dict(body)
    tools = body.get("tools") or []
    if tools and not profile.tool_choice_default and "tool_choice" not in body:
        body["tool_choice"] = "auto"
    if body.get("tool_choice") == "required" and not profile.tool_choice_required:
        if len(tools) == 1:
            body["tool_choice"] = {"type": "function",
                                   "function": {"name": tools[0]["function"]["name"]}}
        else:
            logger.warning("%s server: tool_choice='required' is not supported; sent as 'auto' "
                           "(the model may answer without a tool call)", profile.name)
            body["tool_choice"] = "auto"
    if tools and profile.argument_max_chars:
        body["tools"] = [_bounded_tool(t, profile.argument_max_chars) for t in tools]
    if tools and profile.one_call_stop:
        stop = body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        body["stop"] = stop + [s for s in profile.one_call_stop if s not in stop]
    messages = body.get("messages")
    if isinstance(messages, list) and not (profile.null_content and profile.tool_messages):
        names = _tool_names(messages)
        adapted = []
        for message in messages:
            message = dict(message)
            role = message.get("role")
            if role == "assistant" and message.get("tool_calls") and not profile.null_content:
                message["content"] = _text(message.get("content"))
            if role == "tool" and not profile.tool_messages:
                name = names.get(str(message.get("tool_call_id")), "tool")
                message = {"role": "user",
                           "content": f"Result of {name}: {_text(message.get('content'))}"}
            adapted.append(message)
        body["messages"] = adapted
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and not profile.json_schema:
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        body["response_format"] = {"type": "json_object", "schema": schema}
    if "max_completion_tokens" in body and not profile.max_completion_tokens:
        body.setdefault("max_tokens", body.pop("max_completion_tokens"))
    replay = bool(body.get("stream") and tools and not profile.stream_with_tools)
    if replay:
        body["stream"] = False
        body.pop("stream_options", None)
    elif body.get("stream") and not profile.stream_usage:
        body.pop("stream_options", None)
    return body, replay


def replay_as_stream(completion: Mapping[str, Any]) -> bytes:
    """A ``chat.completion`` reply as the server-sent events a streamed call would get."""
    head = {"id": completion.get("id", "chatcmpl-replay"), "object": "chat.completion.chunk",
            "created": completion.get("created", 0), "model": completion.get("model", "")}
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    chunks: list[dict[str, Any]] = []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
        chunks.append({**head, "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish}]})

    first: dict[str, Any] = {"role": "assistant"}
    if message.get("content"):
        first["content"] = message["content"]
    chunk(first)
    calls = message.get("tool_calls") or []
    if calls:
        chunk({"tool_calls": [{"index": i, "id": c.get("id"), "type": "function",
                               "function": {"name": c["function"]["name"],
                                            "arguments": c["function"].get("arguments", "")}}
                              for i, c in enumerate(calls)]})
    chunk({}, choice.get("finish_reason") or ("tool_calls" if calls else "stop"))
    if completion.get("usage"):
        chunks.append({**head, "choices": [], "usage": completion["usage"]})
    events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return events + b"data: [DONE]\n\n"


# ------------------------------------------------------------------ transports

_NAMED = re.compile(r"^\s*functions\.([\w.-]+):?\s*$")


def reask(profile: ServerProfile, body: Mapping[str, Any],
          reply: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request to send again when a reply without tool calls is a server artefact
    (``text_with_tools=False``), else ``None``.

    ``functions.<name>:`` as the text means the model chose that tool: it is asked for its
    arguments by name. An empty text means it chose to answer: it is asked without tools.
    """
    tools = body.get("tools") or []
    if profile.text_with_tools or not tools or body.get("tool_choice") not in (None, "auto"):
        return None
    message = ((reply.get("choices") or [{}])[0]).get("message") or {}
    if message.get("tool_calls"):
        return None
    text = _text(message.get("content"))
    named = _NAMED.match(text)
    offered = {t["function"]["name"] for t in tools}
    if named and named.group(1) in offered:
        return {**body, "tool_choice": {"type": "function",
                                        "function": {"name": named.group(1)}}}
    if text.strip():
        return None
    plain = {k: v for k, v in body.items() if k not in ("tools", "tool_choice", "stop")}
    stop = [s for s in body.get("stop") or [] if s not in profile.one_call_stop]
    return {**plain, "stop": stop} if stop else plain


def _merge_usage(first: Mapping[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    a, b = first.get("usage") or {}, second.get("usage") or {}
    if a and b:
        second["usage"] = {k: int(a.get(k, 0) or 0) + int(b.get(k, 0) or 0)
                           for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return second


@dataclass
class _Call:
    """One Chat Completions call through a compat transport."""

    profile: ServerProfile
    request: httpx.Request
    body: dict[str, Any] | None = None
    replay: bool = False

    def first(self) -> httpx.Request:
        request = self.request
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return request
        try:
            body = json.loads(request.content)
        except ValueError:
            return request
        adapted, self.replay = adapt_request(self.profile, body)
        if adapted is body:
            return request
        self.body = adapted
        return self.build(adapted)

    def build(self, body: Mapping[str, Any]) -> httpx.Request:
        headers = [(k, v) for k, v in self.request.headers.multi_items()
                   if k.lower() != "content-length"]
        return httpx.Request(self.request.method, self.request.url, headers=headers,
                             content=json.dumps(body).encode(),
                             extensions=self.request.extensions)

    def must_read(self, response: httpx.Response) -> bool:
        if response.status_code >= 500 and self.profile.deterministic_errors:
            return True
        return self.body is not None and not self.body.get("stream") and (
            self.replay or not self.profile.text_with_tools)

    def again(self, response: httpx.Response) -> httpx.Request | None:
        if self.body is None or response.status_code != 200:
            return None
        second = reask(self.profile, self.body, response.json())
        return None if second is None else self.build(second)

    def finish(self, response: httpx.Response, first: httpx.Response | None) -> httpx.Response:
        if response.status_code >= 500 and self.profile.deterministic_errors:
            response.headers["x-should-retry"] = "false"
        if response.status_code != 200 or (first is None and not self.replay):
            return response
        completion = response.json()
        if first is not None:
            completion = _merge_usage(first.json(), completion)
        content = (replay_as_stream(completion) if self.replay
                   else json.dumps(completion).encode())
        kind = "text/event-stream" if self.replay else "application/json"
        return httpx.Response(200, headers={"content-type": kind}, content=content,
                              request=self.request)


class CompatTransport(httpx.BaseTransport):
    """A blocking httpx transport adapting Chat Completions calls to a server profile."""

    def __init__(self, profile: ServerProfile) -> None:
        self.profile = profile
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` adapted to the profile (see the module docstring)."""
        call = _Call(self.profile, request)
        response = self._inner.handle_request(call.first())
        if not call.must_read(response):
            return response
        response.read()
        second = call.again(response)
        if second is None:
            return call.finish(response, None)
        retried = self._inner.handle_request(second)
        retried.read()
        return call.finish(retried, response)

    def close(self) -> None:
        """Close the connection pool."""
        self._inner.close()


class AsyncCompatTransport(httpx.AsyncBaseTransport):
    """The async transport: adapts calls as :class:`CompatTransport`, with one connection
    pool per event loop."""

    def __init__(self, profile: ServerProfile) -> None:
        self.profile = profile
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                               httpx.AsyncHTTPTransport] = (
            weakref.WeakKeyDictionary())

    def _pool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for old in [old for old in self._pools if old.is_closed()]:
                del self._pools[old]  # its connections died with their loop
            pool = self._pools[loop] = httpx.AsyncHTTPTransport()
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` adapted to the profile, on this event loop's connections."""
        call = _Call(self.profile, request)
        pool = self._pool()
        response = await pool.handle_async_request(call.first())
        if not call.must_read(response):
            return response
        await response.aread()
        second = call.again(response)
        if second is None:
            return call.finish(response, None)
        retried = await pool.handle_async_request(second)
        await retried.aread()
        return call.finish(retried, response)

    async def aclose(self) -> None:
        """Close this event loop's connection pool."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.aclose()


def http_clients(profile: ServerProfile) -> tuple[httpx.Client, httpx.AsyncClient]:
    """A blocking and an async httpx client for an OpenAI client talking to ``profile``'s
    server (``ChatOpenAI(http_client=..., http_async_client=...)``,
    ``AsyncOpenAI(http_client=...)``)."""
    return (httpx.Client(transport=CompatTransport(profile)),
            httpx.AsyncClient(transport=AsyncCompatTransport(profile)))
