"""The user's lifecycle hooks during a replay: not called again for replayed calls.

A journaled SDK run (a durable run resumed after a crash, a composition resumed after a
decision: :mod:`~agentpatterns.adapters.openai_agents.replay`) is made again from its start,
its completed model and tool calls answered from the journal. The SDK calls the hooks around
each of them again; the LangGraph runtime does not (:mod:`agentpatterns.nodes.hooks`,
"Replay"), and neither does this: a hook reporting an effect (``on_agent_start`` /
``AgentHooks.on_start``, ``on_llm_start``, ``on_tool_start``) is called just before that
effect runs for real - held until then, dropped when the journal answers it - and the others
(``on_llm_end``, ``on_tool_end``, ``on_handoff``, ``on_agent_end`` / ``on_end``) only when
the effect before them ran in this process. So a start hook whose effect was cut off by a
crash is called again (at least once), an end hook whose effect completed is not (at most
once). The run's own log (its path, calls, events) sees every call, replayed or not.

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from agentpatterns.adapters.openai_agents.replay import Journal, replay_key

__all__ = ["gated", "replaying"]

_START = {"on_agent_start": 1, "on_start": 1}  # method -> where its agent is in the args
_END = {"on_llm_end": 1, "on_agent_end": 1, "on_end": 1}


class _Replay:
    """Which of the run's effects the journal answers, for the user's hooks."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.pending: dict[str, list[Callable[[], Awaitable[None]]]] = {}
        self.live: dict[str, bool] = {}  # agent -> whether its last effect ran for real
        self.replayed_tools: set[str] = set()

    def answered(self, key: str) -> bool:
        return bool(self.journal.recorded.get(key))

    async def effect(self, agent: str, live: bool, call: Callable[[], Awaitable[None]]) -> None:
        """A start hook of an effect of ``agent``: with the held ones, called if it is live."""
        self.live[agent] = live
        held = self.pending.pop(agent, [])
        if live:
            for hook in held:
                await hook()
            await call()


_REPLAY: ContextVar[_Replay | None] = ContextVar("agentpatterns_sdk_replay", default=None)


@contextmanager
def replaying(journal: Journal | None) -> Iterator[None]:
    """Around a ``Runner.run`` of a journaled run: the user's hooks go through :func:`gated`
    (nothing changes without a journal). Nested runs (agents used as tools) inherit it."""
    if journal is None or _REPLAY.get() is not None:
        yield
        return
    token = _REPLAY.set(_Replay(journal))
    try:
        yield
    finally:
        _REPLAY.reset(token)


def _name(value: Any) -> str:
    return str(getattr(value, "name", "") or "")


async def gated(method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                call: Callable[[], Awaitable[None]]) -> None:
    """Call the user's hook ``method`` (``call()``), unless it reports a replayed call."""
    replay = _REPLAY.get()
    if replay is None:
        await call()
        return
    if method in _START:
        replay.pending.setdefault(_name(args[_START[method]]), []).append(call)
        return
    if method == "on_llm_start":
        agent, system, items = _name(args[1]), args[2], args[3]
        await replay.effect(agent, not replay.answered(replay_key(agent, system, items)), call)
        return
    if method == "on_tool_start":
        context, agent, tool = args[0], _name(args[1]), args[2]
        call_id = str(getattr(context, "tool_call_id", ""))
        live = not replay.answered(f"tool:{_name(tool)}:{call_id}")
        if not live:
            replay.replayed_tools.add(call_id)
        await replay.effect(agent, live, call)
        return
    if method == "on_tool_end":  # (the run's and the agent's: the id stays in the set)
        if str(getattr(args[0], "tool_call_id", "")) in replay.replayed_tools:
            return
    elif method == "on_handoff":  # after the model call that chose it
        source = kwargs.get("from_agent", kwargs.get("source"))
        if not replay.live.get(_name(source), True):
            return
    elif method in _END and not replay.live.get(_name(args[_END[method]]), True):
        return
    await call()
