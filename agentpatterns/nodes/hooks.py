"""Lifecycle hooks, as the OpenAI Agents SDK's ``RunHooks`` and ``AgentHooks``.

``Runner.run*(..., hooks=RunHooks())`` receives the events of the whole run;
``Agent(hooks=AgentHooks())`` those of one agent. The method names, arguments and call order
are the SDK's (``agents/lifecycle.py``), on both runtimes:

* ``on_agent_start(ctx, agent)`` then ``agent.hooks.on_start(ctx, agent)`` when an agent
  takes a turn;
* ``on_llm_start(ctx, agent, system_prompt, input_items)`` (run, then agent) before every
  model call, and ``on_llm_end(ctx, agent, response)`` (agent, then run) after it;
* ``on_tool_start(tool_ctx, agent, tool)`` / ``on_tool_end(tool_ctx, agent, tool, result)``
  (run, then agent) around every function tool and agent used as a tool;
* ``on_handoff(context=ctx, from_agent=a, to_agent=b)`` then - as the SDK does, on the agent
  handing off - ``a.hooks.on_handoff(ctx, agent=b, source=a)``;
* ``on_agent_end(ctx, agent, output)`` then ``agent.hooks.on_end(ctx, agent, output)`` when an
  agent produces its final output (before its output guardrails run, as in the SDK).

Methods may be ``async`` (as the SDK's) or plain; a hooks object may leave any of them out.
An exception a hook raises ends the run, as in the SDK. The run's hooks are not called for
the inner turns of an agent used as a tool (the SDK runs those as a nested run without the
outer run's hooks); that agent's own ``hooks`` are.

What the hooks get: our objects (:class:`~agentpatterns.nodes.context.RunContextWrapper`,
:class:`~agentpatterns.nodes.context.ToolContext`, our ``Agent`` and tools, a
:class:`ModelResponse`) - unless the hooks object is an instance of the SDK's hook classes and
the SDK adapter is loaded, in which case it gets the SDK's (the adapter registers a
:func:`register_view`): an imported SDK network's hooks see the SDK agents and tools they were
written for.

**Replay.** A graph node re-run after an approval or a crash answers its completed model and
tool calls from the turn journal (:mod:`agentpatterns.nodes.journal`); the hooks reporting
them are *not* called again (as the SDK does not replay start hooks on resume): a hook that
reports an effect (``on_agent_start``/``on_llm_start``/``on_tool_start``) fires just before
that effect runs, and the others only when the effect before them ran in this execution.
So a process killed between a start hook and its effect calls that hook again (at least
once), and one killed between an effect and its end hook does not call it (at most once).
After an approval decision the turn calls ``on_agent_start`` again before its next model
call, as ``agents.Runner`` does when a ``RunState`` is resumed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

__all__ = [
    "HOOKS_KEY",
    "AgentHooks",
    "Hook",
    "TurnHooks",
    "ModelResponse",
    "RunHooks",
    "Usage",
    "current_hooks",
    "hooks_of",
    "register_view",
    "using_hooks",
]

#: ``config["configurable"][HOOKS_KEY]`` carries the run's ``hooks=`` into the nodes.
HOOKS_KEY = "agentpatterns_hooks"

_RUN_HOOKS: ContextVar[Any] = ContextVar("agentpatterns_run_hooks", default=None)


class RunHooks:
    """Receives the events of a whole run (the SDK's ``RunHooks``): override what you need."""

    async def on_agent_start(self, context: Any, agent: Any) -> None:
        """An agent takes a turn."""

    async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
        """An agent produced its final output."""

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: str | None,
                           input_items: list[Any]) -> None:
        """Just before a model call of ``agent``."""

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        """Just after a model call of ``agent`` returned."""

    async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
        """``from_agent`` handed the conversation to ``to_agent``."""

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        """Just before a tool runs (``context`` is a ``ToolContext``)."""

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
        """Just after a tool ran; ``result`` is what the model gets."""


class AgentHooks:
    """Receives the events of one agent (the SDK's ``AgentHooks``; ``Agent(hooks=...)``)."""

    async def on_start(self, context: Any, agent: Any) -> None:
        """This agent takes a turn."""

    async def on_end(self, context: Any, agent: Any, output: Any) -> None:
        """This agent produced its final output."""

    async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
        """This agent (``source``) handed the conversation to ``agent`` (the SDK's call)."""

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        """Just before one of this agent's tools runs."""

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
        """Just after one of this agent's tools ran."""

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: str | None,
                           input_items: list[Any]) -> None:
        """Just before a model call of this agent."""

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        """Just after a model call of this agent returned."""


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Token usage of one model call (the SDK's ``Usage`` names)."""

    requests: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class ModelResponse:
    """What ``on_llm_end`` gets on LangGraph (the SDK's ``ModelResponse`` fields).

    Attributes:
        output: The reply as SDK output items (an assistant message, ``function_call``s).
        usage: Its token usage.
        response_id: None (LangChain models have no server-side response ids).
        message: The LangChain ``AIMessage`` itself (None on the SDK runtime).
    """

    output: list[dict[str, Any]]
    usage: Usage
    message: AIMessage | None = field(default=None, repr=False)
    response_id: str | None = None

    @classmethod
    def of(cls, message: AIMessage) -> ModelResponse:
        """The response for one model reply."""
        from agentpatterns.nodes.items import messages_to_items

        meta: Mapping[str, Any] = message.usage_metadata or {}
        return cls(output=messages_to_items([message]), message=message, usage=Usage(
            input_tokens=int(meta.get("input_tokens", 0)),
            output_tokens=int(meta.get("output_tokens", 0)),
            total_tokens=int(meta.get("total_tokens", 0))))


#: ``view(hooks, method, args, kwargs) -> (args, kwargs) | None``: the arguments a hooks
#: object gets instead of ours (None: not mine to translate)
View = Callable[[Any, str, tuple[Any, ...], dict[str, Any]],
                tuple[tuple[Any, ...], dict[str, Any]] | None]
_VIEWS: list[View] = []


def register_view(view: View) -> None:
    """Let an integration give hooks of its own classes its own objects (the SDK adapter)."""
    if view not in _VIEWS:
        _VIEWS.append(view)


@dataclass(frozen=True)
class Hook:
    """A turn request: call these hook methods, in order.

    ``calls`` are ``(hooks object, method name, args, kwargs)``; ``before``: the hooks report
    the turn's next effect (called only when it runs, not when it is replayed), else the
    effect just before (likewise).
    """

    calls: tuple[tuple[Any, str, tuple[Any, ...], dict[str, Any]], ...]
    before: bool = False
    #: the tool a tool hook reports: its exception stops the run as ``ToolRunError``
    tool: str | None = None

    def failed(self, exc: Exception) -> Exception:
        """What the run raises when a method raised ``exc`` (the SDK wraps tool hooks')."""
        from agentpatterns.errors import AgentPatternsError, ToolRunError

        if self.tool is None or isinstance(exc, AgentPatternsError):
            return exc
        return ToolRunError(f"Error running tool {self.tool}: {exc}")

    def invocations(self) -> Iterator[Any]:
        """Call each method (views applied); yields what each returned (maybe awaitable)."""
        for obj, method, args, kwargs in self.calls:
            fn = getattr(obj, method, None)
            if fn is None:
                continue
            for view in _VIEWS:
                seen = view(obj, method, args, kwargs)
                if seen is not None:
                    args, kwargs = seen
                    break
            yield fn(*args, **kwargs)


def current_hooks() -> Any:
    """The run's ``hooks=`` inside a graph node (``None`` when none were given)."""
    return _RUN_HOOKS.get()


def hooks_of(config: Mapping[str, Any] | None) -> Any:
    """The run's ``hooks=`` object from a LangGraph config."""
    return ((config or {}).get("configurable") or {}).get(HOOKS_KEY)


@contextlib.contextmanager
def using_hooks(hooks: Any) -> Iterator[None]:
    """Make ``hooks`` the run's hooks for the block (a graph node's turn)."""
    token = _RUN_HOOKS.set(hooks)
    try:
        yield
    finally:
        _RUN_HOOKS.reset(token)


_Call = tuple[Any, str, tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True)
class TurnHooks:
    """The hooks one turn reports to: the run's (none inside an agent used as a tool) and
    the agent's. The turn asks :meth:`active` before building any arguments."""

    run: Any
    agent_hooks: Any

    @classmethod
    def of(cls, agent: Any, *, nested: bool) -> TurnHooks | None:
        """The turn's hooks, or None when nobody listens (the common case: no cost)."""
        run = None if nested else current_hooks()
        own = getattr(agent, "hooks", None)
        return None if run is None and own is None else cls(run, own)

    def _pair(self, run: _Call | None, own: _Call | None, *, agent_first: bool = False,
              before: bool = False, tool: str | None = None) -> Hook:
        calls = [c for c in ((own, run) if agent_first else (run, own)) if c is not None]
        return Hook(tuple(calls), before, tool)

    def _run(self, method: str, *args: Any, **kwargs: Any) -> _Call | None:
        return None if self.run is None else (self.run, method, args, kwargs)

    def _own(self, method: str, *args: Any, **kwargs: Any) -> _Call | None:
        return None if self.agent_hooks is None else (self.agent_hooks, method, args, kwargs)

    def agent_start(self, ctx: Any, agent: Any) -> Hook:
        """``on_agent_start`` / ``on_start``."""
        return self._pair(self._run("on_agent_start", ctx, agent),
                          self._own("on_start", ctx, agent), before=True)

    def agent_end(self, ctx: Any, agent: Any, output: Any) -> Hook:
        """``on_agent_end`` / ``on_end``."""
        return self._pair(self._run("on_agent_end", ctx, agent, output),
                          self._own("on_end", ctx, agent, output))

    def llm_start(self, ctx: Any, agent: Any, system: Sequence[BaseMessage],
                  messages: Sequence[BaseMessage]) -> Hook:
        """``on_llm_start`` with the system prompt and the input as SDK items."""
        from agentpatterns.nodes._text import message_text
        from agentpatterns.nodes.items import messages_to_items

        prompt = message_text(system[0]) if system else None
        items = messages_to_items(messages)
        return self._pair(self._run("on_llm_start", ctx, agent, prompt, items),
                          self._own("on_llm_start", ctx, agent, prompt, items), before=True)

    def llm_end(self, ctx: Any, agent: Any, reply: AIMessage) -> Hook:
        """``on_llm_end`` (the agent's first, as in the SDK)."""
        response = ModelResponse.of(reply)
        return self._pair(self._run("on_llm_end", ctx, agent, response),
                          self._own("on_llm_end", ctx, agent, response), agent_first=True)

    def tool_start(self, ctx: Any, agent: Any, tool: Any) -> Hook:
        """``on_tool_start``."""
        return self._pair(self._run("on_tool_start", ctx, agent, tool),
                          self._own("on_tool_start", ctx, agent, tool), before=True,
                          tool=tool.name)

    def tool_end(self, ctx: Any, agent: Any, tool: Any, result: Any) -> Hook:
        """``on_tool_end``."""
        return self._pair(self._run("on_tool_end", ctx, agent, tool, result),
                          self._own("on_tool_end", ctx, agent, tool, result), tool=tool.name)

    def handoff(self, ctx: Any, source: Any, target: Any) -> Hook:
        """``on_handoff``: the run's, then the handing-off agent's (the SDK's calls)."""
        return self._pair(self._run("on_handoff", context=ctx, from_agent=source,
                                    to_agent=target),
                          self._own("on_handoff", ctx, agent=target, source=source))
