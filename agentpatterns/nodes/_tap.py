"""A model call's reply written ahead to the run's effect log from LangChain's ``on_llm_end``.

A chat model's ``invoke`` does a fraction of a millisecond of work after the model produced
its reply (ids and metadata on the message, the result objects, every callback handler)
before the driver gets it; a process killed there has completed the call but written
nothing. So, inside a journaled model call of a run that keeps a write-ahead effect log
(:func:`agentpatterns.nodes.journal.early_record`), a callback handler - added to the call's
callback manager by a LangChain configure hook while :func:`tapped` is active - writes the
reply as the turn will record it (its usage estimated first, as the driver does for a server
that reported none) as soon as ``on_llm_end`` reports it. The driver's record follows with
the same entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.tracers.context import register_configure_hook

from agentpatterns.nodes.compat import fill_usage

__all__ = ["tapped"]


class _ReplyTap(BaseCallbackHandler):
    run_inline = True  # in the call's own thread and task, not an executor

    def __init__(self, write: Callable[[Any], None], messages: Sequence[Any] | None) -> None:
        self.write, self.messages, self.done = write, messages, False

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        if self.done:
            return
        try:
            message = response.generations[0][0].message
        except (AttributeError, IndexError, TypeError):
            return
        if not isinstance(message, AIMessage):
            return
        self.done = True
        try:
            if self.messages is not None:
                fill_usage(message, self.messages)
            self.write(message)
        except Exception:  # the driver's own record decides (and reports a failure)
            pass


_TAP: ContextVar[_ReplyTap | None] = ContextVar("agentpatterns_reply_tap", default=None)
register_configure_hook(_TAP, inheritable=True)


@contextmanager
def tapped(write: Callable[[Any], None], messages: Sequence[Any] | None) -> Iterator[None]:
    """While inside, the chat model call made writes its reply with ``write`` from its
    ``on_llm_end`` (with ``messages``: its usage estimated first when the server reported
    none)."""
    token = _TAP.set(_ReplyTap(write, messages))
    try:
        yield
    finally:
        _TAP.reset(token)
