"""Test helpers for code built on agentpatterns.

Sections are owned by different features; each keeps its imports inside its functions so
``import agentpatterns.testing`` stays cheap and never imports the OpenAI Agents SDK.
"""

from __future__ import annotations

import difflib
import json
import re
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

# (langchain_core is loaded by ``import agentpatterns`` already; ScriptedModel subclasses it)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from agentpatterns.errors import RunError
from agentpatterns.nodes.offline import _usage

if TYPE_CHECKING:
    from agentpatterns.graphs.pattern import Pattern
    from agentpatterns.nodes.agent import Agent
    from agentpatterns.run.result import RunResult

__all__ = [
    # runtime parity
    "assert_same_route",
    # testing your agents
    "ScriptedModel",
    "Step",
    "assert_route",
    "fail",
    "handoff",
    "malformed_tool_call",
    "text",
    "tool_call",
]


# =========================================================================================
# Runtime parity: LangGraph vs the OpenAI Agents SDK (agentpatterns.adapters.openai_agents)
# =========================================================================================

_MISSING: Any = object()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "..."


def _diff_text(a: Any, b: Any) -> str:
    if not (isinstance(a, str) and isinstance(b, str)):
        return ""
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
              min(len(a), len(b)))
    lines = [f"    first difference at character {at}: "
             f"{a[max(0, at - 20):at + 40]!r} vs {b[max(0, at - 20):at + 40]!r}"]
    if "\n" in a or "\n" in b:
        lines += ["    " + line for line in difflib.unified_diff(
            a.splitlines(), b.splitlines(), "langgraph", "openai-agents", lineterm="", n=1)]
    return "\n".join(lines)


def _parallel_scopes(pattern: Pattern) -> dict[tuple[str, ...], str]:
    """Each ``parallel`` pattern of the tree, by its pattern path -> its synthesizer."""
    return {pattern.pattern_path(p.name): str(p.options["synthesizer"])
            for p in pattern.all_patterns() if p.kind == "parallel"}


def _canonical(steps: Sequence[tuple[str, Sequence[str]]], scopes: Mapping[tuple[str, ...], str],
               depth: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """A run's steps with every parallel section's branches in one fixed order.

    Branches run concurrently, so their turns may interleave in any order; within a branch
    (an agent's turns, or a nested pattern's) the order is the run's. A section's turns are
    grouped by branch (sorted by name) and put before its synthesizer's.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    items = [(a, tuple(where)) for a, where in steps]
    i = 0
    while i < len(items):
        where = items[i][1]
        k = next((k for k in range(depth + 1, len(where) + 1) if where[:k] in scopes), 0)
        if not k:
            out.append(items[i])
            i += 1
            continue
        scope, j = where[:k], i
        while j < len(items) and items[j][1][:k] == scope:
            j += 1
        groups: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for a, w in items[i:j]:
            groups.setdefault(w[k] if len(w) > k else a, []).append((a, w))
        synthesizer = scopes[scope]
        for key in [*sorted(g for g in groups if g != synthesizer), synthesizer]:
            out += _canonical(groups.get(key, []), scopes, k)
        i = j
    return out


def _differences(pattern: Pattern, lg: RunResult, sdk: RunResult, strict: bool,
                 label: str) -> list[str]:
    problems: list[str] = []

    def field(name: str, a: Any, b: Any) -> None:
        if a != b:
            problems.append(f"  {label}{name}:\n    langgraph:     {_show(a)}\n"
                            f"    openai-agents: {_show(b)}")
            extra = _diff_text(a, b)
            if extra:
                problems.append(extra)

    scopes = _parallel_scopes(pattern)
    if scopes:
        # branches run concurrently, at any depth: compare each branch's own turns in order
        lg_steps = _canonical([(s.agent, s.patterns) for s in lg.steps], scopes)
        sdk_steps = _canonical([(s.agent, s.patterns) for s in sdk.steps], scopes)
        field("path (parallel branches in name order)", [a for a, _ in lg_steps],
              [a for a, _ in sdk_steps])
        if strict:
            field("steps (parallel branches in name order)", lg_steps, sdk_steps)
    else:
        field("path", lg.path, sdk.path)
        if strict:
            field("steps", [(s.agent, s.patterns) for s in lg.steps],
                  [(s.agent, s.patterns) for s in sdk.steps])
    if pattern.kind == "parallel":
        lg_out = {k: v.get("output") for k, v in (lg.values.get("branches") or {}).items()}
        sdk_out = {k: v.get("output") for k, v in (sdk.values.get("branches") or {}).items()}
        field("branch outputs", lg_out, sdk_out)
    field("final_output", lg.final_output, sdk.final_output)
    field("last_agent", lg.last_agent, sdk.last_agent)
    field("interrupted", lg.interrupted, sdk.interrupted)
    if lg.interrupted and sdk.interrupted:
        plan = (lg.interruption or {}).get("plan") if isinstance(lg.interruption,
                                                                   Mapping) else None
        if plan is not None:
            field("interruption plan", plan, (sdk.interruption or {}).get("plan"))
    if strict:
        field("calls", lg.calls, sdk.calls)
        field("usage", lg.usage, sdk.usage)
        field("handoffs", lg.handoffs, sdk.handoffs)
    return problems


def assert_same_route(target: Pattern | Agent, input: str, *, decision: Any = _MISSING,
                      model: Any = None, strict: bool = False,
                      **kwargs: Any) -> tuple[RunResult, RunResult]:
    """Run ``target`` on both runtimes, offline, and assert they took the same route.

    LangGraph (``Runner.run_sync``) and the OpenAI Agents SDK (``run_sdk_sync``) must give
    the same ``path``, ``final_output``, ``last_agent`` and ``interrupted``. Wherever the
    composition has a ``parallel`` pattern (at any depth) its branches run concurrently, so
    each branch's turns are compared in order and the branches in name order, then the
    synthesizer's; a top-level ``parallel`` also gives the same output per branch. Both
    runs use the offline model unless ``model=`` names another (it is given to both).

    Args:
        target: A ``Pattern`` or an ``Agent``.
        input: The request.
        decision: For a run that stops for approval: resume both with this decision
            (``True``, ``False`` or a dict) and compare again.
        model: The model for both runtimes (default: a fresh ``OfflineModel()``).
        strict: Also compare model calls and token usage per agent (equal usage means the
            model was shown the same messages on both runtimes), the handoff log and the
            ``steps`` (each turn's pattern path).
        **kwargs: Passed to both runs (``checkpointer=``, ``configurable=``...).

    Returns:
        The LangGraph and the SDK ``RunResult`` (the resumed ones when ``decision`` is given).

    Raises:
        AssertionError: The runtimes disagree; the message shows both sides field by field.

    Example:
        >>> from agentpatterns.examples import example
        >>> lg, sdk = assert_same_route(example("triage"), "I need to book a table")
        >>> lg.path == sdk.path == ["Triage Agent", "Booking Agent"]
        True
    """
    from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_sync
    from agentpatterns.graphs.handoffs import as_pattern
    from agentpatterns.nodes.offline import OfflineModel
    from agentpatterns.run.runner import Runner

    pattern = as_pattern(target)
    model = OfflineModel() if model is None else model
    threads = {"lg": f"parity-lg-{uuid.uuid4().hex[:12]}",
               "sdk": f"parity-sdk-{uuid.uuid4().hex[:12]}"}
    lg = Runner.run_sync(pattern, input, model=model, thread_id=threads["lg"], **kwargs)
    sdk = run_sdk_sync(pattern, input, model=model, thread_id=threads["sdk"], **kwargs)
    problems = _differences(pattern, lg, sdk, strict, "")
    if decision is not _MISSING and not problems:
        if not (lg.interrupted and sdk.interrupted):
            problems.append("  decision= was given but the runs did not stop for approval "
                            f"(langgraph: {lg.interrupted}, openai-agents: {sdk.interrupted})")
        else:
            store = {k: v for k, v in kwargs.items() if k in ("checkpointer", "store")}
            lg = Runner.resume_sync(pattern, thread_id=threads["lg"], decision=decision,
                                    model=model, **store)
            sdk = resume_sdk_sync(pattern, thread_id=threads["sdk"], decision=decision,
                                  model=model, **store)
            problems = _differences(pattern, lg, sdk, strict, "after the decision: ")
    if problems:
        raise AssertionError(f"the runtimes disagree on pattern {pattern.name!r} for input "
                             f"{input!r}:\n" + "\n".join(problems))
    return lg, sdk


# =========================================================================================
# Testing your agents: scripted models and route assertions (issue 8, "Test Handoffs")
# =========================================================================================


class Step:
    """One scripted reply (or part of one): text, tool calls, malformed calls, or an error.

    Make steps with :func:`text`, :func:`tool_call`, :func:`handoff`,
    :func:`malformed_tool_call` and :func:`fail`; a tuple of steps is one reply holding all
    of them (``(text("On it"), handoff("Booking Agent"))``).
    """

    __slots__ = ("calls", "content", "error", "malformed")

    def __init__(self, *, content: str = "", calls: tuple[tuple[str, Any], ...] = (),
                 malformed: tuple[tuple[str, str], ...] = (),
                 error: BaseException | None = None) -> None:
        self.content = content
        self.calls = calls
        self.malformed = malformed
        self.error = error

    def __add__(self, other: Step) -> Step:
        return Step(content=self.content + other.content, calls=self.calls + other.calls,
                    malformed=self.malformed + other.malformed,
                    error=self.error or other.error)

    def __repr__(self) -> str:
        parts = [f"text({self.content!r})"] if self.content else []
        parts += [f"tool_call({name!r}, **{args!r})" for name, args in self.calls]
        parts += [f"malformed_tool_call({name!r}, {raw!r})" for name, raw in self.malformed]
        parts += [f"fail({self.error!r})"] if self.error is not None else []
        return " + ".join(parts) or "text('')"


def text(content: str) -> Step:
    """A reply with this text and no tool calls (the agent's final answer)."""
    return Step(content=content)


def tool_call(name: str, /, **args: Any) -> Step:
    """A reply calling tool ``name`` with ``args`` (any name: test hallucinations too)."""
    return Step(calls=((name, args),))


def handoff(agent_name: str) -> Step:
    """A reply handing off to ``agent_name`` (the ``transfer_to_<snake_name>`` tool call)."""
    from agentpatterns.nodes._text import handoff_tool_name

    return tool_call(handoff_tool_name(agent_name))


def malformed_tool_call(name: str, arguments: str = '{"oops": ') -> Step:
    """A reply calling ``name`` with arguments that are not valid JSON."""
    return Step(malformed=((name, arguments),))


def fail(error: BaseException | str = "scripted model failure") -> Step:
    """A model call that raises ``error`` (a ``ConnectionError`` when given text)."""
    return Step(error=ConnectionError(error) if isinstance(error, str) else error)


def _step(value: Any) -> Step:
    if isinstance(value, Step):
        return value
    if isinstance(value, str):
        return text(value)
    if isinstance(value, tuple | list) and value and all(isinstance(v, Step | str)
                                                         for v in value):
        out = Step()
        for part in value:
            out = out + _step(part)
        return out
    raise TypeError(f"script step {value!r} is not a step; use text(...), tool_call(...), "
                    "handoff(...), malformed_tool_call(...) or fail(...)")


class ScriptedModel(BaseChatModel):
    """A LangChain chat model that replies from a script: routing tests on both runtimes.

    It runs wherever a chat model runs: ``Agent(model=...)``, ``Runner.run(...,
    model=...)``, and the OpenAI Agents SDK runtime (through the adapter's model bridge).
    Each model call takes the next step; it supports tools, streaming (text streams word
    by word) and reports word-count token usage.

    Args:
        steps: The replies. A list is shared by every agent, in the order they call the
            model; a dict ``{agent name: [steps]}`` gives each agent its own script (the
            agent is recognised by the run metadata both runtimes give every model call,
            or a system prompt starting ``"You are <name>."``). A step
            is ``text(...)``, ``tool_call(...)``, ``handoff(...)``,
            ``malformed_tool_call(...)``, ``fail(...)``, a plain string (text), or a
            tuple of steps (one reply).

    Attributes:
        requests: Every call received: ``{"agent", "messages", "tools"}`` (tool names),
            plus ``"tool_choice"``, ``"response_format"`` and the other bound ``"settings"``
            (``temperature``, ``max_tokens``...).

    Raises:
        RunError: (at call time) The script has no step left for the caller.
    """

    steps: Any
    model_name: str = "scripted"
    _cursor: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _requests: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def __init__(self, steps: Any = (), **kwargs: Any) -> None:
        super().__init__(steps=steps, **kwargs)  # type: ignore[call-arg]
        if isinstance(steps, Mapping):
            self.steps = {str(k): [_step(v) for v in vs] for k, vs in steps.items()}
        else:
            self.steps = [_step(v) for v in steps]

    @property
    def _llm_type(self) -> str:
        return "agentpatterns-scripted"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every call received, in order."""
        return list(self._requests)

    @property
    def remaining(self) -> int:
        """Steps not yet used."""
        if isinstance(self.steps, Mapping):
            return sum(len(v) - self._cursor.get(k, 0) for k, v in self.steps.items())
        return len(self.steps) - self._cursor.get("", 0)

    def reset(self) -> ScriptedModel:
        """Rewind the script to its first step and forget the requests (to run it again).

        Returns:
            The model itself, so ``Runner.run_sync(p, "...", model=model.reset())`` reads well.
        """
        with self._lock:
            self._cursor.clear()
            self._requests.clear()
        return self

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        """Accept any tools; the script decides what is called."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        offered = [t if isinstance(t, dict) and "type" in t else convert_to_openai_tool(t)
                   for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=offered, **kwargs)

    def _next(self, messages: list[BaseMessage], kwargs: dict[str, Any],
              run_manager: Any = None) -> AIMessage:
        from agentpatterns.nodes._text import agent_name

        agent = agent_name(messages, run_manager)[0] or ""
        tools = [t.get("function", t).get("name") for t in kwargs.get("tools") or ()]
        settings = {k: v for k, v in kwargs.items()
                    if k not in ("tools", "tool_choice", "response_format")}
        with self._lock:
            self._requests.append({"agent": agent, "messages": list(messages),
                                   "tools": tools, "tool_choice": kwargs.get("tool_choice"),
                                   "response_format": kwargs.get("response_format"),
                                   "settings": settings})
            key = agent if isinstance(self.steps, Mapping) else ""
            script = self.steps.get(agent, []) if key else self.steps
            n = self._cursor.get(key, 0)
            if n >= len(script):
                who = f"agent {agent!r}" if agent else "a caller"
                raise RunError(f"ScriptedModel has no step left for {who} (call "
                               f"{n + 1}, script of {len(script)}); add a step")
            self._cursor[key] = n + 1
            number = len(self._requests)
        step = script[n]
        if step.error is not None:
            raise step.error
        reply = AIMessage(
            content=step.content,
            tool_calls=[{"name": name, "args": dict(args), "id": f"call_{number}_{i}",
                         "type": "tool_call"} for i, (name, args) in enumerate(step.calls)],
            invalid_tool_calls=[{"name": name, "args": raw, "id": f"call_{number}_bad{i}",
                                 "error": "arguments are not valid JSON",
                                 "type": "invalid_tool_call"}
                                for i, (name, raw) in enumerate(step.malformed)])
        reply.usage_metadata = _usage(messages, reply)  # type: ignore[assignment]
        reply.response_metadata = {"model_name": self.model_name}
        return reply

    def _generate(self, messages: list[BaseMessage], stop: Any = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        reply = self._next(messages, kwargs, run_manager)
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(self, messages: list[BaseMessage], stop: Any = None,
                run_manager: Any = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        reply = self._next(messages, kwargs, run_manager)
        words = re.split(r"(\s+)", str(reply.content))
        for i in range(0, len(words), 2):
            piece = "".join(words[i:i + 2])
            if piece:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
        calls = [(c["name"], json.dumps(c["args"]), c["id"]) for c in reply.tool_calls]
        calls += [(str(c["name"]), str(c["args"]), str(c["id"]))
                  for c in reply.invalid_tool_calls]
        if calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                {"name": name, "args": raw, "id": call_id, "index": i,
                 "type": "tool_call_chunk"} for i, (name, raw, call_id) in enumerate(calls)]))
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", usage_metadata=reply.usage_metadata, chunk_position="last"))


def assert_route(result: RunResult, expected: list[str]) -> None:
    """Assert a run took the route ``expected`` (its ``path``), on either runtime.

    Args:
        result: A ``RunResult`` (``Runner.run``, ``run_sdk``, or ``exc.result`` of a
            stopped run).
        expected: Agent names in the order they took a turn.

    Raises:
        AssertionError: The route differs; the message shows both routes, the handoffs
            with their reasons, the recorded incidents and the final output.

    Example:
        >>> from agentpatterns import Runner
        >>> from agentpatterns.examples import example
        >>> assert_route(Runner.run_sync(example("triage"), "I need to book a table"),
        ...              ["Triage Agent", "Booking Agent"])
    """
    actual = list(result.path)
    if actual == list(expected):
        return
    lines = [f"the run took another route ({result.runtime}, thread {result.thread_id}):",
             f"  expected: {' → '.join(expected) or '(no agent)'}",
             f"  actual:   {' → '.join(actual) or '(no agent)'}"]
    at = next((i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
              min(len(actual), len(expected)))
    lines.append(f"  first difference at step {at + 1}: expected "
                 f"{expected[at] if at < len(expected) else '(end)'!r}, got "
                 f"{actual[at] if at < len(actual) else '(end)'!r}")
    for h in result.handoffs:
        lines.append(f"  handoff {h.get('from')} → {h.get('to')}: {h.get('reason', '')!r}")
    for e in result.events:
        lines.append(f"  event {e.get('type')}: "
                     f"{ {k: v for k, v in e.items() if k != 'type'} }")
    stop = (result.values or {}).get("stopped")
    if stop:
        lines.append(f"  stopped: {stop}")
    lines.append(f"  final output ({result.last_agent}): {_show(result.final_output)}")
    raise AssertionError("\n".join(lines))
