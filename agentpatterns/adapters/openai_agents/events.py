"""Streamed runs on the OpenAI Agents SDK: the same typed events as on LangGraph.

:func:`run_sdk_streamed` runs a pattern with the adapter's drivers, but every
``Runner.run`` they make becomes ``Runner.run_streamed``; the SDK's stream events are
translated into :mod:`agentpatterns.events` as they arrive:

* ``AgentUpdatedStreamEvent`` -> ``AgentStarted`` (each run's first agent, each handoff);
* ``response.output_text.delta`` raw events -> ``TokenDelta`` of the current agent;
* ``tool_called`` / ``tool_output`` items -> ``ToolCalled`` / ``ToolResult``;
* ``handoff_occured`` items -> ``Handoff``;
* a tripwire -> ``GuardrailTripped``, then our tripwire exception is raised;
* the end -> ``RunFinished(result)`` with the adapter's ``RunResult``.

* incidents the run logs (``RunResult.events``: retries, fallbacks...) -> ``Recorded``, as
  they happen; a fallback is followed by ``Handoff(kind="fallback")``.

* an agent used as a tool streams its own run (``as_tool(on_stream=)``): its start, its
  tool calls and results, as on LangGraph;
* a supervisor's ``assign_to_*`` call -> ``Handoff(kind="assign")``, and the boss's next
  turn -> ``AgentStarted`` (the driver reports them; its own tools are not ``ToolCalled``);
  the approval gate's turn and its ``execute_plan`` call are not reported.

``run_sdk`` / ``resume_sdk`` with progress shown (``progress=``, on by default in a Jupyter
notebook) run the same way, each event handed to the LangGraph ``Runner``'s
``ProgressPrinter`` (:func:`printing`) instead of being yielded.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import agents
from agents.items import HandoffOutputItem, MessageOutputItem, ToolCallItem, ToolCallOutputItem

from agentpatterns.adapters.openai_agents.bridge import _plain
from agentpatterns.adapters.openai_agents.replay_hooks import replaying
from agentpatterns.adapters.openai_agents.run import Run
from agentpatterns.errors import (
    GuardrailTripwireTriggered,
    InputError,
    InputGuardrailTripwireTriggered,
)
from agentpatterns.events import (
    AgentStarted,
    Event,
    GuardrailTripped,
    Handoff,
    Recorded,
    RunFinished,
    TokenDelta,
    ToolCalled,
    ToolResult,
)
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.context import using_context

__all__ = ["SDKEvents", "printing", "run_sdk_streamed"]

_DONE = object()


@dataclass
class SDKEvents:
    """Translates one SDK run's stream events (``RunResultStreaming.stream_events()``)."""

    agent: str = ""
    tools: dict[str, str] = field(default_factory=dict)  # call id -> tool name
    #: the nested patterns the run's agents are in, outermost first (``()`` at the top)
    patterns: tuple[str, ...] = ()
    #: agents that take no turn of the pattern's: stand-ins of handoffs to nested patterns,
    #: the approval gate (neither they nor their tool calls are reported)
    hidden: frozenset[str] | set[str] = frozenset()
    #: the pattern's own tools (``None``: all); the drivers' own (a supervisor's
    #: ``assign_to_*``) are reported by the driver, as the assignments they are
    shown_tools: set[str] | None = None
    #: what the current agent said in its turn: a handoff's reason, as ``RunResult.handoffs``
    said: str = ""

    def feed(self, event: Any) -> list[Event]:
        """The typed events of one SDK stream event."""
        kind = getattr(event, "type", "")
        if kind == "agent_updated_stream_event":
            self.agent, self.said = event.new_agent.name, ""
            if self.agent in self.hidden:
                return []
            return [AgentStarted(agent=self.agent, patterns=self.patterns)]
        if kind == "raw_response_event":
            data = event.data
            if getattr(data, "type", "") == "response.output_text.delta" and data.delta:
                return [TokenDelta(agent=self.agent, delta=data.delta)]
            return []
        if kind != "run_item_stream_event":
            return []
        item = event.item
        if isinstance(item, MessageOutputItem):
            self.said = agents.ItemHelpers.text_message_output(item)
            return []
        if isinstance(item, HandoffOutputItem):
            target = item.target_agent
            return [Handoff(source=item.source_agent.name, target=target.name,
                            reason=self.said or target.handoff_description
                            or f"handoff to {target.name}")]
        if isinstance(item, ToolCallItem | ToolCallOutputItem) and item.agent.name in self.hidden:
            return []  # the approval gate's execute_plan: the executor's turns are reported
        if isinstance(item, ToolCallItem):
            raw = _plain(item.raw_item)
            name, call_id = str(raw.get("name") or ""), str(raw.get("call_id") or "")
            if self.shown_tools is not None and name not in self.shown_tools:
                return []
            self.tools[call_id] = name
            try:
                args = json.loads(raw.get("arguments") or "{}")
            except (TypeError, ValueError):
                args = {}
            return [ToolCalled(agent=item.agent.name, tool=name,
                               args=args if isinstance(args, dict) else {}, call_id=call_id)]
        if isinstance(item, ToolCallOutputItem):
            call_id = str(_plain(item.raw_item).get("call_id") or "")
            if call_id not in self.tools and self.shown_tools is not None:
                return []  # the result of a call not reported (a driver's own tool)
            output = item.output if isinstance(item.output, str) else json.dumps(
                item.output, default=str)
            return [ToolResult(agent=item.agent.name, tool=self.tools.get(call_id, ""),
                               output=output, call_id=call_id)]
        return []


@dataclass
class _StreamingRun(Run):
    """A ``Run`` whose ``Runner.run`` calls are streamed into ``queue`` (or to ``emit``)."""

    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    #: where the events go instead of the queue (a progress printer)
    emit: Callable[[Event], Awaitable[None]] | None = None
    #: how many of the log's incidents are streamed already (shared with nested runs)
    reported: list[int] = field(default_factory=lambda: [0])

    async def run(self, agent: agents.Agent[Any], input: Any, **kwargs: Any) -> Any:
        """``agents.Runner.run_streamed``, consumed to the end; events go to the queue."""
        # (the streaming task copies the context)
        with using_context(self.context, self.state), replaying(
                self.guard.journal if self.guard is not None else None):
            streamed = agents.Runner.run_streamed(agent, input, context=self.context,
                                                  hooks=self.run_hooks(),
                                                  max_turns=self.max_turns,
                                                  run_config=self.config, **kwargs)
        translate = SDKEvents(patterns=self.scope[1:], hidden=self.log.doors | self.log.skip,
                              shown_tools=self.log.tools)
        try:
            async for event in streamed.stream_events():
                for ours in translate.feed(event):
                    await self._incidents()
                    await self._put(ours)
        finally:
            await self._incidents()
        return streamed

    async def _incidents(self) -> None:
        """Incidents the run logged since the last call, as ``Recorded`` events."""
        events = self.log.events
        while self.reported[0] < len(events):
            entry = events[self.reported[0]]
            self.reported[0] += 1
            if entry.get("type") != "guardrail":  # a trip is reported as GuardrailTripped
                await self._put(Recorded(kind=str(entry.get("type")),
                                              agent=str(entry.get("agent") or ""),
                                              detail=dict(entry)))

    async def report_fallback(self, handoff: Mapping[str, Any]) -> None:
        """The incidents so far, then ``Handoff(kind="fallback")``, as on LangGraph."""
        await self.report(Handoff(source=str(handoff["from"]), target=str(handoff["to"]),
                                  reason=str(handoff.get("reason") or ""), kind="fallback"))

    async def report(self, event: Event) -> None:
        """The incidents so far, then ``event`` (one a driver makes, not the SDK)."""
        await self._incidents()
        await self._put(event)

    def tool_stream(self) -> Callable[[Any], Awaitable[None]]:
        """``as_tool(on_stream=)``: an agent used as a tool reports its turn and its own
        tool calls, as on LangGraph (one translator per tool call)."""
        translators: dict[str, SDKEvents] = {}

        async def on_stream(event: Mapping[str, Any]) -> None:
            call_id = str(event.get("tool_call_id")
                          or getattr(event.get("tool_call"), "call_id", "") or "")
            translate = translators.setdefault(call_id, SDKEvents(
                patterns=self.scope[1:], hidden=self.log.doors | self.log.skip,
                shown_tools=self.log.tools))
            for ours in translate.feed(event["event"]):
                await self.report(ours)

        return on_stream

    async def _put(self, event: Event) -> None:
        await (self.emit or self.queue.put)(event)


def _streaming(base: Run, emit: Callable[[Event], Awaitable[None]] | None = None
               ) -> _StreamingRun:
    """``base`` as a run whose ``Runner.run`` calls are streamed."""
    return _StreamingRun(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                         emit=emit)


def printing(run: Run, progress: bool) -> Run:
    """``run``, or - with ``progress`` - the same run with each event printed as it happens
    (the LangGraph ``Runner``'s ``ProgressPrinter``; in a notebook, one displayed line each).
    """
    if not progress:
        return run
    from agentpatterns.run.progress import ProgressPrinter, progress_console

    show = ProgressPrinter(progress_console())

    async def emit(event: Event) -> None:
        show(event)

    return _streaming(run, emit)


async def run_sdk_streamed(target: Pattern | Agent, input: str, **kwargs: Any
                           ) -> AsyncIterator[Event]:
    """``run_sdk``, as an async iterator of the same typed events as ``Runner.run_streamed``.

    Args:
        target: The pattern or agent.
        input: The user's request (or SDK input items, as for ``run_sdk``).
        **kwargs: The options of ``run_sdk`` (``model=``, ``thread_id=``, ...).

    Raises:
        InputGuardrailTripwireTriggered: After yielding ``GuardrailTripped`` (likewise for
            output guardrails).
        BudgetExceeded: As for ``run_sdk``.
    """
    from agentpatterns.adapters.openai_agents.durable import drive_run
    from agentpatterns.adapters.openai_agents.prepare import DEFAULT_MAX_TURNS, _prepare
    from agentpatterns.run.plan import input_messages

    _, request = input_messages(input)  # a string, or SDK input items
    options: dict[str, Any] = {
        "model": None, "thread_id": None, "session": None, "checkpointer": None, "store": None,
        "max_turns": DEFAULT_MAX_TURNS, "context": None, "configurable": None,
        "max_model_calls": None, "max_tokens": None, "hooks": None}
    unknown = set(kwargs) - set(options)
    if unknown:
        raise InputError(f"run_sdk_streamed got unknown options {sorted(unknown)}")
    options.update(kwargs)
    base = _prepare(target, request=request, **options)
    if not isinstance(input, str):
        base.items = list(input)
    run = _streaming(base)
    queue = run.queue

    async def drive() -> Any:
        try:
            return await drive_run(run)
        finally:
            await queue.put(_DONE)

    task = asyncio.ensure_future(drive())
    try:
        while (event := await queue.get()) is not _DONE:
            yield event
        try:
            result = task.result()
        except Exception as exc:
            ours = run.our_error(exc)
            if ours is None:
                raise
            if not isinstance(ours, GuardrailTripwireTriggered):
                raise ours from exc
            kind = "input" if isinstance(ours, InputGuardrailTripwireTriggered) else "output"
            yield GuardrailTripped(agent=ours.agent, guardrail=ours.guardrail, kind=kind,
                                   info=ours.info)
            raise ours from exc
        yield RunFinished(result=result)
    finally:
        if not task.done():
            task.cancel()
