"""A local fake of the OpenAI HTTP API with scripted replies (a pytest plugin).

Register with ``pytest_plugins = ["tests._openai_server"]`` to get the ``openai_server``
fixture: a started :class:`FakeOpenAIServer` (function-scoped, stopped afterwards). Point
any OpenAI client at ``server.base_url`` with any API key, e.g.
``openai.OpenAI(base_url=server.base_url, api_key="test")``.

It speaks enough of the wire protocol for the real ``openai`` client, langchain-openai's
``ChatOpenAI`` (Chat Completions and Responses API) and the OpenAI Agents SDK's
``OpenAIChatCompletionsModel`` / ``OpenAIResponsesModel``:

* ``POST /v1/chat/completions``: plain JSON, or server-sent events with ``stream: true``
  (``stream_options.include_usage`` adds a final usage chunk).
* ``POST /v1/responses``: plain JSON, or server-sent events with ``stream: true``
  (``response.created`` … ``response.completed``, with every intermediate event the
  clients' stream accumulators expect).
* ``GET /v1/models`` and ``GET /v1/models/{id}``.

Anything else gets a 404 in OpenAI's error format. Each completion request consumes one
scripted reply::

    server.script([
        ToolCall("get_weather", {"city": "Paris"}),            # one tool call
        [ToolCall("a", {}), ToolCall("b", {"x": 1})],          # parallel tool calls
        Reply(text="Let me check.", tool_calls=[ToolCall("c")]),
        "It is sunny.",                                        # assistant text
        ErrorReply(429, "slow down"),                          # an API error
    ])

When the script is empty, ``server.responder(request_json)`` (if set) produces the reply;
with neither, the request fails with HTTP 500 saying the script is exhausted. Error
replies carry ``x-should-retry: false`` unless asked otherwise, so the clients' automatic
retries do not consume further replies.

The module makes no assertions, hence PYTEST_DONT_REWRITE: it keeps pytest from warning
when a test module imports it before it is registered as a plugin.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeAlias

import pytest

__all__ = [
    "ErrorReply",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Reply",
    "ScriptedReply",
    "ToolCall",
    "last_user_text",
    "offered_tool_names",
    "openai_server",
]

JSON: TypeAlias = dict[str, Any]

_CHAT_PATH = "/v1/chat/completions"
_RESPONSES_PATH = "/v1/responses"
_MODELS_PATH = "/v1/models"


# ---------------------------------------------------------------------------------------
# Scripted replies
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """A tool (function) call the fake model makes.

    Attributes:
        name: The function name, e.g. ``"get_weather"`` or ``"transfer_to_billing_agent"``.
        arguments: The arguments, as a dict (JSON-encoded on the wire) or a raw JSON string
            (sent verbatim, so malformed arguments can be tested).
        call_id: The call id; ``None`` assigns a unique ``call_<n>`` id.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    def arguments_json(self) -> str:
        """Returns the arguments as the JSON string sent on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """An assistant turn: optional text followed by optional tool calls.

    Attributes:
        text: The assistant text, or ``None`` for a tool-calls-only turn.
        tool_calls: The tool calls, made in parallel in one turn.
    """

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()


@dataclass(frozen=True)
class ErrorReply:
    """An API error returned instead of a completion.

    Attributes:
        status: The HTTP status code, e.g. 400, 429 or 500.
        message: The error message (``error.message`` in the body).
        type: The error type (``error.type``).
        code: The error code (``error.code``), if any.
        retry: Whether to tell the client it may retry (the ``x-should-retry`` header).
            With ``False`` the openai client raises at once instead of retrying.
    """

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    retry: bool = False


ScriptedReply: TypeAlias = str | ToolCall | Sequence[ToolCall] | Reply | ErrorReply
"""One scripted reply: text, a tool call, parallel tool calls, a :class:`Reply` or an error."""

Responder: TypeAlias = Callable[[JSON], ScriptedReply]
"""Produces a reply from the request's JSON body once the script is exhausted."""


@dataclass(frozen=True)
class RecordedRequest:
    """An HTTP request the server received.

    Attributes:
        method: ``"GET"`` or ``"POST"`` (or whatever the client sent).
        path: The request path without the query string, e.g. ``"/v1/chat/completions"``.
        body: The decoded JSON body (``{}`` for requests without a body).
        headers: The request headers, with lower-cased names.
    """

    method: str
    path: str
    body: JSON
    headers: dict[str, str]


def _normalize(reply: object) -> Reply | ErrorReply:
    """Turns any accepted scripted-reply shape into a :class:`Reply` or :class:`ErrorReply`.

    Args:
        reply: A scripted reply.

    Returns:
        The equivalent ``Reply`` (or the ``ErrorReply`` itself).

    Raises:
        TypeError: If ``reply`` is not a supported shape.
    """
    if isinstance(reply, Reply | ErrorReply):
        return reply
    if isinstance(reply, str):
        return Reply(text=reply)
    if isinstance(reply, ToolCall):
        return Reply(tool_calls=(reply,))
    if isinstance(reply, list | tuple) and all(isinstance(c, ToolCall) for c in reply):
        if not reply:
            raise TypeError("an empty list is not a reply; use Reply(text='') for no output")
        return Reply(tool_calls=tuple(reply))
    raise TypeError(
        f"unsupported scripted reply {reply!r}: use a str, ToolCall, list of ToolCall, "
        "Reply or ErrorReply"
    )


# ---------------------------------------------------------------------------------------
# Request helpers (for responders)
# ---------------------------------------------------------------------------------------


def offered_tool_names(request: JSON) -> list[str]:
    """Lists the function tools a Chat Completions or Responses request offers.

    Args:
        request: The request's JSON body, as passed to a responder.

    Returns:
        The tool names, in request order (``tools[i].function.name`` for Chat Completions,
        ``tools[i].name`` for the Responses API).
    """
    names: list[str] = []
    for tool in request.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
        elif isinstance(tool.get("name"), str):
            names.append(tool["name"])
    return names


def _text_of(content: object) -> str:
    """Concatenates the text parts of a message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in {"text", "input_text"}
        )
    return ""


def last_user_text(request: JSON) -> str:
    """Returns the text of the last user message of a Chat Completions or Responses request.

    Args:
        request: The request's JSON body, as passed to a responder.

    Returns:
        The text, or ``""`` if there is no user message.
    """
    items = request.get("messages")
    if items is None:
        items = request.get("input")
    if isinstance(items, str):
        return items
    for item in reversed(items or []):
        if isinstance(item, dict) and item.get("role") == "user":
            return _text_of(item.get("content"))
    return ""


# ---------------------------------------------------------------------------------------
# Wire-format rendering
# ---------------------------------------------------------------------------------------


def _approx_tokens(value: object) -> int:
    """Estimates a token count (about four characters per token, at least one)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return max(1, len(text) // 4)


def _text_pieces(text: str) -> list[str]:
    """Splits text into word-sized stream deltas (at least one piece)."""
    return re.findall(r"\s*\S+\s*|\s+", text) or [text]


def _chunks(text: str, size: int = 8) -> list[str]:
    """Splits a string into fixed-size stream deltas (at least one piece)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _error_body(message: str, type_: str, code: str | None = None) -> JSON:
    """Builds an error body in OpenAI's format."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@dataclass
class _Rendered:
    """A reply with ids assigned and token counts computed, ready to serialize."""

    text: str | None
    calls: list[tuple[ToolCall, str]]  # (tool call, call id)
    input_tokens: int
    output_tokens: int
    model: str
    created: int


class _ChatCompletions:
    """Renders replies in the Chat Completions format."""

    def __init__(self, rendered: _Rendered, completion_id: str) -> None:
        self._r = rendered
        self._id = completion_id

    def _usage(self) -> JSON:
        r = self._r
        return {
            "prompt_tokens": r.input_tokens,
            "completion_tokens": r.output_tokens,
            "total_tokens": r.input_tokens + r.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _finish_reason(self) -> str:
        return "tool_calls" if self._r.calls else "stop"

    def completion(self) -> JSON:
        """Returns the ``chat.completion`` object of a non-streaming request."""
        r = self._r
        message: JSON = {
            "role": "assistant",
            "content": r.text,
            "refusal": None,
            "annotations": [],
        }
        if r.calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for call, call_id in r.calls
            ]
        return {
            "id": self._id,
            "object": "chat.completion",
            "created": r.created,
            "model": r.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish_reason(),
                }
            ],
            "usage": self._usage(),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, delta: JSON, finish_reason: str | None = None) -> JSON:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._r.created,
            "model": self._r.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
            "usage": None,
        }

    def chunks(self, include_usage: bool) -> Iterator[JSON]:
        """Yields the ``chat.completion.chunk`` objects of a streaming request.

        Args:
            include_usage: Whether to end with a usage-only chunk (``choices: []``), as
                ``stream_options.include_usage`` asks.

        Yields:
            The chunks, in order (the caller adds the final ``[DONE]``).
        """
        r = self._r
        yield self._chunk({"role": "assistant", "content": "", "refusal": None})
        if r.text:
            for piece in _text_pieces(r.text):
                yield self._chunk({"content": piece})
        for index, (call, call_id) in enumerate(r.calls):
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield self._chunk({"tool_calls": [head]})
            for piece in _chunks(call.arguments_json()):
                if piece:
                    tail = {"index": index, "function": {"arguments": piece}}
                    yield self._chunk({"tool_calls": [tail]})
        yield self._chunk({}, finish_reason=self._finish_reason())
        if include_usage:
            last = self._chunk({})
            last["choices"] = []
            last["usage"] = self._usage()
            yield last


class _Responses:
    """Renders replies in the Responses API format."""

    def __init__(self, rendered: _Rendered, request: JSON, ids: Callable[[str], str]) -> None:
        self._r = rendered
        self._request = request
        self._id = ids("resp")
        self._message_id = ids("msg") if rendered.text is not None else None
        self._item_ids = [ids("fc") for _ in rendered.calls]

    def _usage(self) -> JSON:
        r = self._r
        return {
            "input_tokens": r.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": r.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": r.input_tokens + r.output_tokens,
        }

    def _message(self, text: str, status: str) -> JSON:
        content = [] if status == "in_progress" else [self._text_part(text)]
        return {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": content,
        }

    @staticmethod
    def _text_part(text: str) -> JSON:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def _function_call(self, index: int, status: str) -> JSON:
        call, call_id = self._r.calls[index]
        return {
            "id": self._item_ids[index],
            "type": "function_call",
            "status": status,
            "name": call.name,
            "call_id": call_id,
            "arguments": "" if status == "in_progress" else call.arguments_json(),
        }

    def _output(self) -> list[JSON]:
        output: list[JSON] = []
        if self._r.text is not None:
            output.append(self._message(self._r.text, "completed"))
        output.extend(self._function_call(i, "completed") for i in range(len(self._r.calls)))
        return output

    def response(self, status: str = "completed") -> JSON:
        """Returns the ``response`` object (complete, or empty while ``in_progress``).

        Args:
            status: ``"completed"`` for the final object, ``"in_progress"`` for the one in
                the opening stream events (no output, no usage yet).

        Returns:
            The response object.
        """
        request = self._request
        done = status == "completed"
        return {
            "id": self._id,
            "object": "response",
            "created_at": self._r.created,
            "completed_at": self._r.created if done else None,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"),
            "max_tool_calls": request.get("max_tool_calls"),
            "model": self._r.model,
            "output": self._output() if done else [],
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "previous_response_id": request.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": request.get("store", True),
            "temperature": request.get("temperature", 1.0),
            "text": request.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": request.get("tool_choice", "auto"),
            "tools": request.get("tools") or [],
            "top_logprobs": request.get("top_logprobs", 0),
            "top_p": request.get("top_p", 1.0),
            "truncation": request.get("truncation", "disabled"),
            "usage": self._usage() if done else None,
            "user": request.get("user"),
            "metadata": request.get("metadata") or {},
        }

    def events(self) -> Iterator[JSON]:
        """Yields the server-sent events of a streaming request, numbered in order.

        Yields:
            The event objects; each has ``type`` and ``sequence_number``.
        """
        sequence = itertools.count()

        def event(type_: str, **fields: Any) -> JSON:
            return {"type": type_, "sequence_number": next(sequence), **fields}

        yield event("response.created", response=self.response("in_progress"))
        yield event("response.in_progress", response=self.response("in_progress"))
        output_index = 0
        if self._r.text is not None:
            text = self._r.text
            where = {"item_id": self._message_id, "output_index": output_index}
            yield event(
                "response.output_item.added",
                output_index=output_index,
                item=self._message("", "in_progress"),
            )
            yield event(
                "response.content_part.added",
                **where,
                content_index=0,
                part=self._text_part(""),
            )
            for piece in _text_pieces(text) if text else []:
                yield event(
                    "response.output_text.delta",
                    **where,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            yield event(
                "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
            )
            yield event(
                "response.content_part.done",
                **where,
                content_index=0,
                part=self._text_part(text),
            )
            yield event(
                "response.output_item.done",
                output_index=output_index,
                item=self._message(text, "completed"),
            )
            output_index += 1
        for index, (call, _) in enumerate(self._r.calls):
            where = {"item_id": self._item_ids[index], "output_index": output_index}
            yield event(
                "response.output_item.added",
                output_index=output_index,
                item=self._function_call(index, "in_progress"),
            )
            arguments = call.arguments_json()
            for piece in _chunks(arguments):
                if piece:
                    yield event("response.function_call_arguments.delta", **where, delta=piece)
            yield event(
                "response.function_call_arguments.done",
                **where,
                name=call.name,
                arguments=arguments,
            )
            yield event(
                "response.output_item.done",
                output_index=output_index,
                item=self._function_call(index, "completed"),
            )
            output_index += 1
        yield event("response.completed", response=self.response("completed"))


# ---------------------------------------------------------------------------------------
# The HTTP server
# ---------------------------------------------------------------------------------------


class _HTTPError(Exception):
    """An error answered in OpenAI's error format."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        retry: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.retry = retry


class _Handler(BaseHTTPRequestHandler):
    """Handles one connection for a :class:`FakeOpenAIServer`."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    timeout = 60  # idle keep-alive connections are dropped after this many seconds
    server: _Server

    def setup(self) -> None:
        """Registers the connection so ``FakeOpenAIServer.stop`` can close it."""
        super().setup()
        self.server.fake.track_connection(self.connection, add=True)

    def finish(self) -> None:
        """Forgets the connection once it is closed."""
        try:
            super().finish()
        finally:
            self.server.fake.track_connection(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Keeps the test output quiet (requests are in ``FakeOpenAIServer.requests``)."""

    def do_GET(self) -> None:
        """Handles GET requests."""
        self._dispatch()

    def do_POST(self) -> None:
        """Handles POST requests."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Handles DELETE requests (all answered 404)."""
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self.server.fake.handle(self)
        except _HTTPError as error:
            self.send_json(
                error.status, _error_body(error.message, error.type, error.code), error.retry
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def read_json(self) -> JSON:
        """Reads and decodes the request's JSON body (``{}`` if there is none).

        Returns:
            The decoded body.

        Raises:
            _HTTPError: If the body is not a JSON object.
        """
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise _HTTPError(400, f"We could not parse the JSON body: {error}") from error
        if not isinstance(body, dict):
            raise _HTTPError(400, "The request body must be a JSON object.")
        return body

    def send_json(self, status: int, body: JSON, retry: bool = False) -> None:
        """Sends a complete JSON response.

        Args:
            status: The HTTP status code.
            body: The JSON body.
            retry: For errors, the value of the ``x-should-retry`` header.
        """
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", self.server.fake.new_id("req"))
        if status >= 400:
            self.send_header("x-should-retry", "true" if retry else "false")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_events(self, events: Iterable[tuple[str | None, str]]) -> None:
        """Sends a server-sent-event stream with chunked transfer encoding.

        Args:
            events: ``(event name or None, data)`` pairs, sent as ``event:``/``data:`` lines.
        """
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", self.server.fake.new_id("req"))
        self.end_headers()
        for name, data in events:
            frame = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            payload = frame.encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that knows its :class:`FakeOpenAIServer`."""

    daemon_threads = True
    fake: FakeOpenAIServer


class FakeOpenAIServer:
    """A local, scripted stand-in for the OpenAI API (see the module docstring).

    Thread-safe: the script, the responder and the request log may be used from the test
    while client requests are being served.

    Attributes:
        responder: Produces a reply from a request's JSON body when the script is empty;
            ``None`` makes such requests fail with HTTP 500.
        models: The model ids ``GET /v1/models`` lists.
    """

    def __init__(
        self,
        replies: Iterable[ScriptedReply] = (),
        *,
        responder: Responder | None = None,
        models: Sequence[str] = ("gpt-4.1-mini", "gpt-4.1", "gpt-4o-mini"),
    ) -> None:
        """Creates a stopped server.

        Args:
            replies: Replies to script right away (see :meth:`script`).
            responder: The fallback responder (see :attr:`responder`).
            models: The model ids ``GET /v1/models`` lists.
        """
        self.responder: Responder | None = responder
        self.models: list[str] = list(models)
        self._lock = threading.Lock()
        self._script: deque[Reply | ErrorReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._counter = itertools.count(1)
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.script(replies)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Starts serving on a free port of 127.0.0.1 in a background thread.

        Returns:
            The server itself.

        Raises:
            RuntimeError: If the server is already running.
        """
        if self._httpd is not None:
            raise RuntimeError("the fake OpenAI server is already running")
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-openai-{httpd.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stops serving and closes open client connections (does nothing if stopped)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._httpd is None:
            raise RuntimeError("the fake OpenAI server is not running; call start()")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The API base URL to give clients, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------------

    def script(self, replies: Iterable[ScriptedReply]) -> Self:
        """Appends replies to the script; each completion request consumes the next one.

        Args:
            replies: Each a ``str`` (assistant text), a :class:`ToolCall`, a list of
                ``ToolCall`` (parallel calls), a :class:`Reply` (text and/or tool calls) or
                an :class:`ErrorReply`. A lone ``str`` is one reply, not one per character.

        Returns:
            The server itself, for chaining.

        Raises:
            TypeError: If a reply has an unsupported shape.
        """
        if isinstance(replies, str | ToolCall | Reply | ErrorReply):
            replies = [replies]
        normalized = [_normalize(reply) for reply in replies]
        with self._lock:
            self._script.extend(normalized)
        return self

    def reset(self) -> None:
        """Drops the remaining script, the responder and the request log."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self.responder = None

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been consumed yet."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def completion_requests(self) -> list[JSON]:
        """The JSON bodies of the chat-completions and responses requests, oldest first."""
        paths = {_CHAT_PATH, _RESPONSES_PATH}
        return [r.body for r in self.requests if r.path in paths]

    # -- internals used by the handler -------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """Returns a fresh id such as ``call_fake0007`` (unique within this server).

        Args:
            prefix: The id prefix, e.g. ``"call"`` or ``"resp"``.

        Returns:
            The id.
        """
        with self._lock:
            n = next(self._counter)
        return f"{prefix}_fake{n:04d}"

    def track_connection(self, connection: socket.socket, *, add: bool) -> None:
        """Registers (or forgets) an open client connection, so :meth:`stop` can close it.

        Args:
            connection: The connection's socket.
            add: ``True`` when it opens, ``False`` when it closes.
        """
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _next_reply(self, body: JSON) -> Reply:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
            responder = self.responder
        if scripted is None:
            if responder is None:
                raise _HTTPError(
                    500,
                    "FakeOpenAIServer: the reply script is exhausted (no scripted reply left "
                    "and no responder set) - script more replies with server.script([...])",
                    "server_error",
                    "script_exhausted",
                )
            try:
                scripted = _normalize(responder(body))
            except Exception as error:
                raise _HTTPError(
                    500,
                    f"FakeOpenAIServer: the responder failed: {type(error).__name__}: {error}",
                    "server_error",
                    "responder_failed",
                ) from error
        if isinstance(scripted, ErrorReply):
            raise _HTTPError(
                scripted.status, scripted.message, scripted.type, scripted.code, scripted.retry
            )
        return scripted

    def _render(self, reply: Reply, body: JSON, prompt: object) -> _Rendered:
        calls = [(call, call.call_id or self.new_id("call")) for call in reply.tool_calls]
        output = [reply.text or ""] + [[c.name, c.arguments_json()] for c, _ in calls]
        return _Rendered(
            text=reply.text,
            calls=calls,
            input_tokens=_approx_tokens(prompt),
            output_tokens=_approx_tokens(output),
            model=str(body.get("model") or "gpt-4.1-mini"),
            created=int(time.time()),
        )

    def handle(self, handler: _Handler) -> None:
        """Answers one request (called on the handler's thread).

        Args:
            handler: The request handler, positioned after the request headers.

        Raises:
            _HTTPError: For requests answered with an error.
        """
        path = handler.path.split("?", 1)[0].rstrip("/")
        method = handler.command
        body = handler.read_json() if method == "POST" else {}
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self._requests.append(RecordedRequest(method, path, body, headers))

        if method == "POST" and path == _CHAT_PATH:
            self._chat(handler, body)
        elif method == "POST" and path == _RESPONSES_PATH:
            self._responses(handler, body)
        elif method == "GET" and path == _MODELS_PATH:
            handler.send_json(
                200, {"object": "list", "data": [self._model(m) for m in self.models]}
            )
        elif method == "GET" and path.startswith(_MODELS_PATH + "/"):
            model = path[len(_MODELS_PATH) + 1 :]
            if model not in self.models:
                raise _HTTPError(404, f"The model '{model}' does not exist", code="model_not_found")
            handler.send_json(200, self._model(model))
        else:
            raise _HTTPError(
                HTTPStatus.NOT_FOUND,
                f"Invalid URL ({method} {path}): FakeOpenAIServer does not serve it",
                code="unknown_url",
            )

    @staticmethod
    def _model(model: str) -> JSON:
        return {"id": model, "object": "model", "created": 1700000000, "owned_by": "openai"}

    def _chat(self, handler: _Handler, body: JSON) -> None:
        if not isinstance(body.get("messages"), list):
            raise _HTTPError(400, "Missing required parameter: 'messages'.", code="missing")
        reply = self._next_reply(body)
        prompt = [body["messages"], body.get("tools")]
        chat = _ChatCompletions(self._render(reply, body, prompt), self.new_id("chatcmpl"))
        if not body.get("stream"):
            handler.send_json(200, chat.completion())
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        frames: list[tuple[str | None, str]] = [
            (None, json.dumps(chunk)) for chunk in chat.chunks(include_usage)
        ]
        handler.send_events([*frames, (None, "[DONE]")])

    def _responses(self, handler: _Handler, body: JSON) -> None:
        if "input" not in body and "prompt" not in body:
            raise _HTTPError(400, "Missing required parameter: 'input'.", code="missing")
        reply = self._next_reply(body)
        prompt = [body.get("instructions"), body.get("input"), body.get("tools")]
        responses = _Responses(self._render(reply, body, prompt), body, self.new_id)
        if not body.get("stream"):
            handler.send_json(200, responses.response())
            return
        handler.send_events((e["type"], json.dumps(e)) for e in responses.events())


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A started :class:`FakeOpenAIServer` with an empty script, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server
