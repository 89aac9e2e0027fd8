"""The turn journal: every effect of an agent turn recorded as it completes, replayed on re-run.

A graph node that runs an agent turn can run again for the same step: after the process was
killed (the step's writes were never saved), after an ``interrupt()`` inside the turn was
answered (LangGraph re-runs the node), after a retry. Without a record, every model call and
tool call the turn had already completed would be made again - a tool that booked a table
books it twice.

So the drivers (:mod:`agentpatterns.nodes._drivers`) hand each effect - a model call (its
reply or its failure), a tool call, a guardrail - to :meth:`TurnJournal.step`, which returns
the recorded result when the same task already completed that effect, and otherwise runs it
and **writes the result to the journal before the turn goes on**. Entries are keyed by the
task (thread, checkpoint namespace, LangGraph's task id, which is the same whenever the same
checkpoint runs the same node) and by the effect's sequence number in the turn; the turns of
agents used as tools share the counter of the turn that called them. LangGraph's own
``@task`` results are not used for this: they are saved in the background, so a process
killed right after a task returned re-runs it.

Where entries live is the backend's business (:class:`JournalStore`;
:func:`agentpatterns.storage.journal.journal_store` gives one for SQLite, PostgreSQL and
in-memory savers).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import AIMessage

from agentpatterns.nodes.guardrails import GuardrailFunctionOutput, storable
from agentpatterns.nodes.handoff import HandoffInputData
from agentpatterns.nodes.protocol import ModelFailure
from agentpatterns.nodes.tool_use import ToolsToFinalOutputResult
from agentpatterns.redaction import redact

__all__ = ["Entry", "JournalStore", "RecordedError", "TaskKey", "TurnJournal", "early_record",
           "effect_key", "idempotency_key", "keyed", "nested_key", "nested_run", "recording"]

#: What an effect is: ``model`` (a reply or a failure), ``tool`` (its content), ``guardrail``,
#: ``approval`` (a ``needs_approval`` function's answer) and ``call`` (a user callable of the
#: turn: ``is_enabled``, ``on_handoff``, ``tool_use_behavior``, ``input_filter``).
KINDS = ("model", "tool", "guardrail", "approval", "call")


@dataclass(frozen=True, kw_only=True)
class TaskKey:
    """The LangGraph task a turn runs in.

    Attributes:
        thread_id: The run's thread.
        checkpoint_ns: The task's checkpoint namespace (``node:task_id``, nested for subgraphs).
        task_id: LangGraph's task id: the same whenever the same checkpoint runs the node.
    """

    thread_id: str
    checkpoint_ns: str
    task_id: str
    #: The checkpoint the task was prepared from (its namespace and id): a journal that
    #: outlives the process waits until it is saved before the first effect (see
    #: :meth:`JournalStore.load`).
    parent_ns: str = ""
    checkpoint_id: str = ""


#: One completed effect: ``(seq, kind, name, value)`` - its position among the effects of
#: the task's turn (sub-turns included), ``model``/``tool``/``guardrail``, the agent (model
#: calls), tool or guardrail, and the recorded result as plain data (see
#: :meth:`TurnJournal.step`).
Entry = tuple[int, str, str, Any]


class JournalStore(Protocol):
    """Where a backend keeps journal entries (written durably before ``record`` returns)."""

    def load(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        """Every entry recorded for the task.

        With ``wait``, first wait (briefly) until the task's checkpoint is saved: under
        LangGraph's ``durability="async"`` a step's tasks start while their checkpoint is
        still being written, and a record keyed by a task whose checkpoint never reached the
        database would be orphaned by a crash (the re-run step gets other task ids).
        """
        ...

    def record(self, key: TaskKey, entry: Entry) -> None:
        """Store ``entry`` (replacing one with the same seq) before returning."""
        ...

    async def aload(self, key: TaskKey, *, wait: bool = False) -> list[Entry]:
        """``load`` for async drivers."""
        ...

    async def arecord(self, key: TaskKey, entry: Entry) -> None:
        """``record`` for async drivers."""
        ...

    def check(self, key: TaskKey) -> None:
        """Raise ``LeaseLostError`` if the run lost its thread (called before every effect)."""
        ...

    async def acheck(self, key: TaskKey) -> None:
        """``check`` for async drivers."""
        ...

    def logs_ahead(self, key: TaskKey) -> bool:
        """Whether the run holding the task's thread keeps a write-ahead effect log (a store
        without this method keeps none)."""
        ...

    def log_ahead(self, key: TaskKey, entry: Entry) -> None:
        """Write ``entry`` to that log only, ahead of its :meth:`record`."""
        ...


_NESTED: ContextVar[bool] = ContextVar("agentpatterns_journal_nested", default=False)
#: inside a journaled model call whose store keeps an effect log: writes the reply ahead
_EARLY: ContextVar[Callable[[Any], None] | None] = ContextVar("agentpatterns_early_record",
                                                              default=None)
_EFFECT_KEY: ContextVar[str | None] = ContextVar("agentpatterns_effect_key", default=None)
#: inside nested_run: the calling turn's task and the tool call's effect key
_SCOPE: ContextVar[tuple[TaskKey, str] | None] = ContextVar("agentpatterns_journal_scope",
                                                            default=None)


def effect_key(key: TaskKey, seq: int) -> str:
    """The idempotency key of effect ``seq`` of task ``key`` (see :func:`idempotency_key`)."""
    text = "\x1f".join((key.thread_id, key.checkpoint_ns, key.task_id, str(seq)))
    return "ap-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def early_record() -> Callable[[Any], None] | None:
    """Inside a journaled model call of a run that keeps a write-ahead effect log
    (:mod:`agentpatterns.storage.effect_log`): a function writing the call's reply to the log
    as soon as the model produced it, before the chat model's own post-processing returns
    it (the driver passes it to a LangChain callback); ``None`` elsewhere."""
    return _EARLY.get()


def idempotency_key() -> str | None:
    """A key identifying the tool call being run, the same when it is run again after a crash.

    The turn journal records every completed tool call before the turn goes on (a run
    holding its thread's lock first writes it to a local write-ahead effect log), and a
    resumed turn replays recorded calls instead of making them again. One window is left:
    a process killed after a tool's effect happened but before its record was written
    (a fraction of a millisecond; see docs/durability.md) runs that call again on resume. A
    tool whose effect must happen at most once - a payment, a booking, an e-mail - passes
    this key to the service it calls (an ``Idempotency-Key`` header, a unique request id)
    or stores it with its effect and skips the work when it is already there: the re-run
    gets the same key. It is built from the thread, the LangGraph task (the same for a
    re-run of the same step) and the call's position in the turn, so it differs for
    another step, another run on the thread, or a fork::

        @function_tool
        def charge(amount: int) -> str:
            payments.create(amount=amount, idempotency_key=idempotency_key())
            return "charged"

    Returns:
        ``"ap-"`` and 40 hex digits inside a tool call (also ``ToolContext.idempotency_key``);
        ``None`` outside one, or when the run keeps no journal (no checkpointer: nothing is
        resumed, nothing replayed).

    Example:
        >>> from agentpatterns import idempotency_key
        >>> idempotency_key() is None  # not inside a tool call
        True
    """
    return _EFFECT_KEY.get()


@contextmanager
def keyed(key: str | None) -> Iterator[None]:
    """Inside: :func:`idempotency_key` is ``key`` (a journaled tool call of another runtime:
    the SDK runtime's durable runs, ``adapters/openai_agents/replay.py``)."""
    token = _EFFECT_KEY.set(key)
    try:
        yield
    finally:
        _EFFECT_KEY.reset(token)


@contextmanager
def nested_run(caller: TaskKey | None = None) -> Iterator[None]:
    """Around a tool that runs a whole graph of its own without checkpoints (a pattern used
    as a tool): that graph's task ids are new on every run, so the calling turn records the
    tool's result as one effect, and its nodes journal under keys made from the caller's
    task and the tool call (:func:`nested_key`), so a graph stopped inside (an approval)
    replays its completed calls when the calling turn runs again.

    Args:
        caller: The calling turn's task (``None``: the run keeps no journal).
    """
    effect = _EFFECT_KEY.get()
    token = _NESTED.set(True)
    scope = _SCOPE.set((caller, effect) if caller is not None and effect else None)
    key = _EFFECT_KEY.set(None)  # its inner calls are not the journaled call: no key
    try:
        yield
    finally:
        _EFFECT_KEY.reset(key)
        _SCOPE.reset(scope)
        _NESTED.reset(token)


def recording() -> bool:
    """False inside :func:`nested_run`."""
    return not _NESTED.get()


def nested_key(checkpoint_ns: str, task: str) -> TaskKey | None:
    """Inside :func:`nested_run`: the key of the inner node ``task`` (its step and path)
    running at ``checkpoint_ns``, the same whenever the calling turn makes the same tool
    call again; ``None`` outside one or when the caller keeps no journal."""
    scope = _SCOPE.get()
    if scope is None:
        return None
    caller, effect = scope
    inner = "|".join(part.split(":", 1)[0] for part in checkpoint_ns.split("|") if part)
    return TaskKey(thread_id=caller.thread_id, task_id=task,
                   checkpoint_ns=f"{caller.checkpoint_ns}|{effect}|{inner}",
                   parent_ns=caller.parent_ns, checkpoint_id=caller.checkpoint_id)


class RecordedError(Exception):
    """A model failure read back from the journal (named as the original exception)."""


_ERROR_CLASSES: dict[str, type[RecordedError]] = {}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def _recorded_error(name: str, message: str) -> RecordedError:
    # a plain subclass carrying the original's name, so the turn's incident record reads the
    # same on replay; nothing is imported because of the stored name
    name = name if _IDENTIFIER.match(name) else "RecordedError"
    cls = _ERROR_CLASSES.get(name)
    if cls is None:
        cls = _ERROR_CLASSES[name] = type(name, (RecordedError,), {})
    return cls(message)


def _encode_call(what: str, value: Any) -> Any:
    # a user callable's result as plain data (the saver's serde stores messages and the
    # agent's output types; the SDK's result classes are read back as ours)
    if what == "is_enabled":
        return bool(value)
    if what == "on_handoff":
        return None  # the turn does not use it
    if what == "tool_use_behavior" and hasattr(value, "is_final_output"):
        return {"tools_to_final_output": bool(value.is_final_output),
                "final_output": getattr(value, "final_output", None)}
    if what == "input_filter" and isinstance(value, HandoffInputData):
        return {"handoff_input": [list(value.input_history), list(value.pre_handoff_items),
                                  list(value.new_items)]}
    return value


def _decode_call(what: str, value: Any) -> Any:
    if what == "tool_use_behavior" and isinstance(value, dict) and (
            "tools_to_final_output" in value):
        return ToolsToFinalOutputResult(is_final_output=bool(value["tools_to_final_output"]),
                                        final_output=value.get("final_output"))
    if what == "input_filter" and isinstance(value, dict) and "handoff_input" in value:
        history, pre, new = value["handoff_input"]
        return HandoffInputData(input_history=tuple(history), pre_handoff_items=tuple(pre),
                                new_items=tuple(new))
    return value


def _encode(kind: str, value: Any, name: str = "") -> Any:
    if kind == "call":
        return _encode_call(name.split(":", 1)[0], value)
    if kind == "model" and isinstance(value, ModelFailure):
        # the journal is stored: a server that echoed the API key must not put it on disk
        return {"model_failure": type(value.error).__name__,
                "message": redact(str(value.error))}
    if kind == "guardrail" and isinstance(value, GuardrailFunctionOutput):
        return {"tripwire_triggered": value.tripwire_triggered,
                "output_info": storable(value.output_info)}
    return value


def _decode(kind: str, value: Any, name: str = "") -> Any:
    if kind == "call":
        return _decode_call(name.split(":", 1)[0], value)
    if kind == "model" and isinstance(value, dict) and "model_failure" in value:
        return ModelFailure(_recorded_error(str(value["model_failure"]),
                                            str(value.get("message", ""))))
    if kind == "model" and not isinstance(value, AIMessage):
        raise TypeError(f"journal entry of a model call holds {type(value).__name__}")
    if kind == "guardrail" and isinstance(value, dict):
        return GuardrailFunctionOutput(output_info=value.get("output_info"),
                                       tripwire_triggered=bool(value.get("tripwire_triggered")))
    return value


class TurnJournal:
    """The journal of one execution of one task's turn; the drivers call :meth:`step`.

    Args:
        store: Where entries are kept.
        key: The task.
        wait: Wait for the task's checkpoint to be saved before its first effect
            (``durability="async"``, where checkpoints are written in the background).

    Attributes:
        replayed: Effects answered from the journal in this execution.
        recorded: Effects run and recorded in this execution.
    """

    def __init__(self, store: JournalStore, key: TaskKey, *, wait: bool = False) -> None:
        self.store = store
        self.key = key
        self.wait = wait
        self.replayed = 0
        self.recorded = 0
        self._seq = 0
        self._entries: dict[int, Entry] | None = None
        self._live = False

    def _match(self, kind: str, name: str) -> tuple[int, Entry | None]:
        seq = self._seq
        self._seq += 1
        if self._live:
            return seq, None
        entry = (self._entries or {}).get(seq)
        if entry is None or (entry[1], entry[2]) != (kind, name):
            # from the first effect not recorded (or recorded for another request: the turn
            # went another way, e.g. its code changed) on, every effect runs and is recorded
            self._live = True
            return seq, None
        return seq, entry

    def _early(self, seq: int, kind: str, name: str) -> Any:
        # a model call of a run keeping an effect log: its reply is written ahead from the
        # model's callback (early_record), a fraction of a millisecond before run() returns
        logs_ahead = getattr(self.store, "logs_ahead", None)
        if kind != "model" or logs_ahead is None or not logs_ahead(self.key):
            return None

        def ahead(value: Any) -> None:
            self.store.log_ahead(self.key, (seq, kind, name, _encode(kind, value, name)))

        return _EARLY.set(ahead)

    def _loaded(self, entries: list[Entry]) -> None:
        self._entries = {e[0]: e for e in entries}
        self._live = not self._entries

    def step(self, kind: str, name: str, run: Callable[[], Any]) -> Any:
        """The result of the turn's next effect: recorded, or ``run()`` and then recorded.

        Args:
            kind: ``model`` (``run`` returns an ``AIMessage`` or a ``ModelFailure``),
                ``tool`` (a string: the tool message content) or ``guardrail`` (a
                ``GuardrailFunctionOutput``).
            name: The agent, tool or guardrail (a replayed entry must match kind and name).
            run: Performs the effect. An exception it raises propagates, nothing recorded.

        Returns:
            The effect's result.

        Raises:
            LeaseLostError: The run's lock on its thread was taken over (checked before
                ``run`` is called, and by the insert of its record).
        """
        if self._entries is None:
            self.store.check(self.key)
            self._loaded(self.store.load(self.key, wait=self.wait))
        seq, entry = self._match(kind, name)
        if entry is not None:
            self.replayed += 1
            return _decode(kind, entry[3], name)
        self.store.check(self.key)  # a run that lost its thread starts nothing more
        token = _EFFECT_KEY.set(effect_key(self.key, seq))
        early = self._early(seq, kind, name)
        try:
            value = run()
        finally:
            _EFFECT_KEY.reset(token)
            if early is not None:
                _EARLY.reset(early)
        self.store.record(self.key, (seq, kind, name, _encode(kind, value, name)))
        self.recorded += 1
        return value

    async def astep(self, kind: str, name: str, run: Callable[[], Awaitable[Any]]) -> Any:
        """:meth:`step` for the async driver: ``run()`` returns an awaitable."""
        if self._entries is None:
            await self.store.acheck(self.key)
            self._loaded(await self.store.aload(self.key, wait=self.wait))
        seq, entry = self._match(kind, name)
        if entry is not None:
            self.replayed += 1
            return _decode(kind, entry[3], name)
        await self.store.acheck(self.key)
        token = _EFFECT_KEY.set(effect_key(self.key, seq))
        early = self._early(seq, kind, name)
        try:
            value = await run()
        finally:
            _EFFECT_KEY.reset(token)
            if early is not None:
                _EARLY.reset(early)
        await self.store.arecord(self.key, (seq, kind, name, _encode(kind, value, name)))
        self.recorded += 1
        return value
