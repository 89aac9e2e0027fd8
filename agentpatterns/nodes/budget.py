"""``Budget``: a run's ceiling on model calls and tokens, checked before every model call.

The runner puts one ``Budget`` in ``config["configurable"][BUDGET_KEY]`` per invocation. Its
baseline is what the run had already spent when the invocation started (the thread's
``calls``/``usage``), and it counts every model call made during the invocation - in any
node, parallel branches and agents used as tools included - so the ceiling holds exactly.

When the next call would go over, :class:`~agentpatterns.errors.BudgetExceeded` is raised
*inside* the node, before the call: LangGraph keeps nothing of that node, so the thread stays
at its last completed step and a resume with a larger budget re-runs just that node.

When a node fails, LangGraph stops collecting its siblings' results (``ainvoke`` cancels
them) - parallel branches' model calls, already paid for, would be thrown away and made
again on resume. So a turn that hits the budget first waits for the other turns still
running (:meth:`Budget.turn` / :meth:`Budget.aturn`): their work is saved, not redone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from agentpatterns.errors import BudgetExceeded, InputError

__all__ = ["BUDGET_KEY", "Budget", "has_limits", "spent"]

#: ``config["configurable"][BUDGET_KEY]`` carries the run's ``Budget`` into nodes.
BUDGET_KEY = "agentpatterns_budget"
# a node's result reaches LangGraph a moment after it leaves its turn; the raiser waits that
# moment too, so the others' results are in before its failure stops the step
_GRACE = 0.05


def spent(values: Mapping[str, Any]) -> tuple[int, int]:
    """Model calls and tokens a run's state records, summed over agents.

    The graph state keeps calls inside ``usage`` (one channel); the SDK runtime's own
    records keep a separate ``calls`` mapping. Both are read.
    """
    usage = values.get("usage") or {}
    if "calls" in values:
        calls = sum(int(n) for n in (values.get("calls") or {}).values())
    else:
        calls = sum(int((u or {}).get("calls", 0)) for u in usage.values())
    tokens = sum(int((u or {}).get("total", 0)) for u in usage.values())
    return calls, tokens


@dataclass(kw_only=True)
class Budget:
    """A ceiling on model calls and/or tokens for one run (and its resumes).

    Attributes:
        max_model_calls: Most model calls the run may make in all (``None``: no limit).
        max_tokens: Most tokens the run may use in all. Usage is known only after a call, so
            a call starts while the total is below the ceiling and the one that crosses it
            completes; no further call is made.
        thread_id: The run's thread (named in the error, for the resume).
        base_calls: Calls spent before this invocation (``None``: taken from the state the
            first agent node sees).
        base_tokens: Tokens spent before this invocation (likewise).
    """

    max_model_calls: int | None = None
    max_tokens: int | None = None
    thread_id: str = ""
    base_calls: int | None = None
    base_tokens: int | None = None
    made_calls: int = field(default=0, init=False)
    made_tokens: int = field(default=0, init=False)
    _active: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self, state: Mapping[str, Any]) -> None:
        """Take the baseline from ``state`` if the runner did not set it."""
        with self._lock:
            if self.base_calls is None or self.base_tokens is None:
                calls, tokens = spent(state)
                self.base_calls = calls if self.base_calls is None else self.base_calls
                self.base_tokens = tokens if self.base_tokens is None else self.base_tokens

    @property
    def calls(self) -> int:
        """Model calls spent by the run so far."""
        return (self.base_calls or 0) + self.made_calls

    @property
    def tokens(self) -> int:
        """Tokens spent by the run so far."""
        return (self.base_tokens or 0) + self.made_tokens

    def before_call(self, agent: str) -> None:
        """Reserve one model call for ``agent``, or raise if the budget does not allow it.

        Raises:
            BudgetExceeded: The call would exceed ``max_model_calls``, or ``max_tokens`` is
                already reached; the message says how to resume.
        """
        with self._lock:
            if self.max_model_calls is not None and self.calls + 1 > self.max_model_calls:
                made = f"{self.calls} model call{'' if self.calls == 1 else 's'} made"
                raise self._error("max_model_calls", self.max_model_calls, self.calls, agent,
                                  f"{made}, {agent}'s next one would exceed "
                                  f"max_model_calls={self.max_model_calls}")
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                raise self._error("max_tokens", self.max_tokens, self.tokens, agent,
                                  f"{self.tokens} tokens used, max_tokens={self.max_tokens} is "
                                  f"reached before {agent}'s next model call")
            self.made_calls += 1

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Around an agent node's body: on ``BudgetExceeded``, wait for the other running
        nodes to finish before raising, so LangGraph saves their work instead of dropping
        it."""
        self._enter()
        try:
            yield
        except BudgetExceeded:
            self._leave()
            while self._active > 0:
                time.sleep(0.005)
            time.sleep(_GRACE)
            raise
        except BaseException:
            self._leave()
            raise
        else:
            self._leave()

    @asynccontextmanager
    async def aturn(self) -> AsyncIterator[None]:
        """The ``async`` twin of :meth:`turn`."""
        self._enter()
        try:
            yield
        except BudgetExceeded:
            self._leave()
            while self._active > 0:
                await asyncio.sleep(0.005)
            await asyncio.sleep(_GRACE)
            raise
        except BaseException:
            self._leave()
            raise
        else:
            self._leave()

    @contextmanager
    def handed_on(self) -> Iterator[None]:
        """Around nested work a turn waits for (a pattern used as a tool): the waiting turn
        does not count as running, so a budget stop inside does not wait for it."""
        self._leave()
        try:
            yield
        finally:
            self._enter()

    def _enter(self) -> None:
        with self._lock:
            self._active += 1

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1

    def charge(self, usage: Mapping[str, Any] | None) -> None:
        """Add a finished call's token usage (``usage_metadata``)."""
        with self._lock:
            self.made_tokens += int((usage or {}).get("total_tokens", 0))

    def _error(self, budget: str, limit: int, used: int, agent: str,
               what: str) -> BudgetExceeded:
        thread = self.thread_id or "<thread>"
        flag = "--max-calls" if budget == "max_model_calls" else "--max-tokens"
        return BudgetExceeded(
            f"budget reached: {what}; the run is saved at its last completed step - resume "
            f"it with a larger budget: Runner.resume(..., thread_id={thread!r}, "
            f"{budget}=N) or `agentpatterns resume --thread {thread} {flag} N`",
            budget=budget, limit=limit, used=used, agent=agent, thread_id=self.thread_id)


def has_limits(max_model_calls: Any, max_tokens: Any) -> bool:
    """Validate a run's budget options; true when at least one limit is set.

    Raises:
        InputError: A limit that is not a whole number >= 1.
    """
    for name, value in (("max_model_calls", max_model_calls), ("max_tokens", max_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise InputError(f"{name}={value!r}; give a whole number >= 1, or None for no limit")
    return max_model_calls is not None or max_tokens is not None
