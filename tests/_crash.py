"""Crash helpers: five patterns whose every model call and tool call is logged to a side file,
and ways to SIGKILL the running process at an exact point.

The evidence of "no completed call repeated" has to outlive the killed process, so
:class:`LoggedModel` and the tools append one line per *completed* call to a log file
(``model AGENT INDEX PID KEY TIME`` / ``tool NAME ARGS PID KEY TIME``, tab-separated, KEY the
effect's journal key (:func:`agentpatterns.idempotency_key`), TIME when it completed; one
``O_APPEND`` write per line). :func:`phase` also logs what the turn journal read back
(``loaded KIND NAME PID KEY TIME``) and each record once its insert returned
(``recorded ...``), so a repeated call is classified exactly (:func:`classify`). The
model is stateless: its reply depends only on the conversation (how many replies the agent
already made since the last user message), so a resumed run in a new process continues the
same script.

Exact kill points, read from the environment by these helpers (never by the package):

* ``AP_KILL=tool:NAME``: the tool ``NAME`` kills its process the first time it is called
  (before doing anything), so every effect before it completed.
* ``AP_KILL=model:AGENT:INDEX``: the model kills its process at the start of that call.
* ``AP_KILL=generated:AGENT:INDEX``: killed right after that model call produced its reply
  (logged), before anything else ran: the effect-to-record window, which no journal closes.
* ``AP_KILL=record:KIND:NAME``: killed when the journal is about to insert the record of
  an effect (``model:AGENT``, ``tool:NAME``) - the effect completed, its record is not in
  the database; a model reply is already in the run's effect log (written ahead from the
  model's callback), a tool result is not yet.
* ``AP_KILL=logged:KIND:NAME``: killed right after a record was written to the run's
  effect log, before its insert (:func:`effect_log_logged`).
* ``AP_KILL=after-writes:AGENT``: :func:`arm_after_writes` kills the process once the step
  in which ``AGENT`` acted has its writes saved but before the next checkpoint is written
  (the window LangGraph's default ``durability="async"`` leaves).

``AP_KILL_MARK`` names a file created right before a kill, so each point fires once;
``AP_KILL_SETTLE`` (seconds) waits before the kill, so that parallel branches finish what
they are doing: the kill then lands at the named point of the named turn only.

Run as a module it drives one phase in this process (the tests start it)::

    python -m tests._crash PATTERN URL THREAD LOG   # run, resume or approve, as the thread needs
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agentpatterns import (
    Agent,
    Pattern,
    Runner,
    function_tool,
    hierarchical,
    human_approval,
    idempotency_key,
    parallel,
    sequential,
    triage,
)

__all__ = ["PATTERNS", "Classified", "LoggedModel", "arm_after_writes", "build", "classify",
           "counts", "finish", "in_window", "journal_logged", "phase", "repeats",
           "thread_status"]

PATTERNS = ("sequential", "parallel", "approval", "tools", "triage")
REQUEST = {"sequential": "write about durable runs", "parallel": "compare three sources",
           "approval": "migrate the database", "tools": "plan a team dinner",
           "triage": "book a table for four"}


def _append(log: str, line: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _kill_here(point: str) -> None:
    """SIGKILL this process if ``AP_KILL`` names ``point`` (once: a mark file remembers)."""
    if os.environ.get("AP_KILL") != point:
        return
    mark = os.environ.get("AP_KILL_MARK", "")
    if mark:
        if os.path.exists(mark):
            return
        Path(mark).write_text(point)
    time.sleep(float(os.environ.get("AP_KILL_SETTLE") or 0))
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- the model


class LoggedModel(BaseChatModel):
    """Replies from per-agent scripts; logs every completed call.

    A script step is a string (the final text) or a list of ``(tool, args)`` calls.
    """

    scripts: dict[str, list[Any]]
    log_path: str
    latency: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "crash-logged"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        from agentpatterns.nodes._text import agent_name

        agent = agent_name(messages, run_manager)[0] or ""
        last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        index = sum(1 for m in messages[last_human:] if isinstance(m, AIMessage)
                    and (m.response_metadata or {}).get("agent") == agent)
        _kill_here(f"model:{agent}:{index}")
        if self.latency:
            time.sleep(self.latency)
        script = self.scripts[agent]
        step = script[min(index, len(script) - 1)]
        if isinstance(step, str):
            reply = AIMessage(content=f"{step} ({agent}, reply {index})")
        else:
            reply = AIMessage(content="", tool_calls=[
                {"name": name, "args": args, "id": f"{agent[:3]}-{index}-{i}",
                 "type": "tool_call"} for i, (name, args) in enumerate(step)])
        # the effect's key (the journal sets it for every effect) and when it completed
        _append(self.log_path, f"model\t{agent}\t{index}\t{os.getpid()}\t{idempotency_key()}"
                f"\t{time.time():.6f}")
        _kill_here(f"generated:{agent}:{index}")  # the reply made, nothing else done yet
        return ChatResult(generations=[ChatGeneration(message=reply)])


# --------------------------------------------------------------------------- the tools


def _tool(name: str, description: str, log: str, latency: float) -> Any:
    def effect(item: str) -> str:
        _kill_here(f"tool:{name}")
        if latency:
            time.sleep(latency)
        # the call's idempotency key too: a call re-run in the journal's window has the same
        _append(log, f"tool\t{name}\t{item}\t{os.getpid()}\t{idempotency_key()}"
                f"\t{time.time():.6f}")
        return f"{name} done: {item}"

    effect.__name__ = name
    effect.__doc__ = f"{description}\n\nArgs:\n    item: What to act on."
    return function_tool(effect)


def build(pattern: str, log: str, *, latency: float = 0.0) -> Pattern:
    """One of :data:`PATTERNS`, its agents on a :class:`LoggedModel` logging to ``log``."""
    def tool(name: str) -> Any:
        return _tool(name, f"The {name} service", log, latency)

    model = LoggedModel(scripts={}, log_path=log, latency=latency)

    def agent(name: str, script: list[Any], **kwargs: Any) -> Agent:
        model.scripts[name] = script
        return Agent(name=name, instructions=f"Act as {name}", model=model, **kwargs)

    if pattern == "sequential":
        return sequential([
            agent("Researcher", [[("search", {"item": "sources"})], "notes"],
                  tools=[tool("search")]),
            agent("Writer", ["draft"]),
            agent("Editor", [[("publish", {"item": "draft"})], "published"],
                  tools=[tool("publish")]),
        ])
    if pattern == "parallel":
        # turns of different lengths: a kill late in Reader 2's turn finds the others done
        fetch = tool("fetch")
        branches = [
            agent("Reader 1", [[("fetch", {"item": "source 1"})], "summary 1"], tools=[fetch]),
            agent("Reader 2", [[("fetch", {"item": "source 2a"})],
                               [("fetch", {"item": "source 2b"})], "summary 2"], tools=[fetch]),
            agent("Reader 3", ["summary 3"]),
        ]
        return parallel(branches, agent("Synthesizer", ["synthesis"]))
    if pattern == "approval":
        planner = agent("Planner", [[("reserve", {"item": "maintenance window"})], "plan"],
                        tools=[tool("reserve")])
        executor = agent("Executor", [[("migrate", {"item": "schema"})],
                                      [("migrate", {"item": "data"})], "migrated"],
                         tools=[tool("migrate")])
        return human_approval(planner, executor)
    if pattern == "tools":
        finder = agent("Venue Finder", [[("lookup", {"item": "venues"})], "venue list"],
                       tools=[tool("lookup")])
        boss = agent("Organizer", [
            [("find_venue", {"input": "venues for eight"})],
            [("book_table", {"item": "table for eight"})], "dinner planned"],
            tools=[finder.as_tool(tool_name="find_venue", tool_description="Find venues"),
                   tool("book_table")])
        return hierarchical(boss)
    if pattern == "triage":
        booking = agent("Booking Agent", [[("book_table", {"item": "table for four"})],
                                          [("send_confirmation", {"item": "guest"})],
                                          "booked"],
                        handoff_description="Handles bookings",
                        tools=[tool("book_table"), tool("send_confirmation")])
        router = agent("Triage Agent", [[("transfer_to_booking_agent", {})], "routed"],
                       handoffs=[booking])
        return triage(router)
    raise ValueError(f"unknown crash pattern {pattern!r}; one of {PATTERNS}")


# --------------------------------------------------------------------------- reading logs


def _lines(log: str | Path) -> list[list[str]]:
    path = Path(log)
    return [line.split("\t") for line in (path.read_text().splitlines()
                                          if path.exists() else ())]


def counts(log: str | Path) -> tuple[Counter[tuple[str, ...]], Counter[tuple[str, ...]]]:
    """``(model calls, tool calls)`` completed, each keyed by what identifies the call."""
    models: Counter[tuple[str, ...]] = Counter()
    tools: Counter[tuple[str, ...]] = Counter()
    for kind, name, what, *_ in _lines(log):
        if kind in ("model", "tool"):
            (models if kind == "model" else tools)[(name, what)] += 1
    return models, tools


@dataclass
class Classified:
    """The repeats of one log, by cause (see :func:`classify`)."""

    #: ``(model, tool)`` repeats whose earlier run's record never reached the journal: its
    #: worker was killed between the effect completing and the record's insert returning.
    window: tuple[int, int] = (0, 0)
    #: Repeats with any other cause (a replay that did not happen): each described.
    other: list[str] = field(default_factory=list)
    #: Seconds from an effect completing to its record being safe - written to the run's
    #: effect log, else inserted - per kind.
    spans: dict[str, list[float]] = field(default_factory=dict)


def classify(log: str | Path, killed: set[str]) -> Classified:
    """Sort every repeated call of ``log`` into the window or not, from the evidence alone.

    A repeat is in the effect-to-record window when its earlier run's worker was killed,
    that run's record is logged neither as written to the run's effect log nor as inserted,
    both runs had the same effect key (the same task and position: the re-run looked in the
    right place) and the re-running worker read back no entry with that key. Anything else -
    another key (the journal keyed the re-run differently), an entry read back and the call
    made anyway, a record written and the call made again - is a failure of the journal.
    """
    lines = _lines(log)
    recorded = {(f[3], f[4]): float(f[5]) for f in lines if f[0] == "recorded" and len(f) > 5}
    logged: dict[tuple[str, str], float] = {}
    for f in lines:  # the first: a model reply is written ahead, then with its record
        if f[0] == "logged" and len(f) > 5:
            logged.setdefault((f[3], f[4]), float(f[5]))
    loaded = {(f[3], f[4]) for f in lines if f[0] == "loaded" and len(f) > 4}
    out = Classified()
    windows = [0, 0]
    seen: dict[tuple[str, str, str], list[str]] = {}
    for f in lines:
        if f[0] not in ("model", "tool"):
            continue
        pid, key = f[3], (f[4] if len(f) > 4 else "None")
        safe = logged.get((pid, key), recorded.get((pid, key)))
        if len(f) > 5 and safe is not None:
            out.spans.setdefault(f[0], []).append(safe - float(f[5]))
        call = (f[0], f[1], f[2])
        earlier = seen.get(call)
        seen[call] = f
        if earlier is None:
            continue
        e_pid, e_key = earlier[3], (earlier[4] if len(earlier) > 4 else "None")
        if (e_pid in killed and e_key == key and key != "None"
                and (e_pid, e_key) not in recorded and (e_pid, e_key) not in logged
                and (pid, key) not in loaded):
            windows[f[0] == "tool"] += 1
            continue
        why = ("another key" if e_key != key else "read back, made again"
               if (pid, key) in loaded else "recorded, made again"
               if (e_pid, e_key) in recorded else "logged, made again"
               if (e_pid, e_key) in logged else "earlier worker not killed")
        out.other.append(f"{f[0]} {f[1]} {f[2]}: pid {e_pid} then {pid} ({why})")
    out.window = (windows[0], windows[1])
    return out


def in_window(log: str | Path, killed: set[str]) -> tuple[int, int]:
    """``(model, tool)`` repeats in the effect-to-record window (:func:`classify`)."""
    return classify(log, killed).window


def repeated_with_one_key(log: str | Path) -> int:
    """Tool calls made more than once whose runs all had the same idempotency key (a service
    honouring the key acted once)."""
    keys: dict[tuple[str, str], set[str]] = {}
    for fields in _lines(log):
        if fields[0] == "tool" and len(fields) > 4:
            keys.setdefault((fields[1], fields[2]), set()).add(fields[4])
    _, tools = counts(log)
    return sum(n - 1 for call, n in tools.items()
               if n > 1 and len(keys.get(call, ())) == 1 and "None" not in keys[call])


def repeats(log: str | Path) -> tuple[int, int]:
    """Completed model calls and tool calls made more than once."""
    models, tools = counts(log)
    return (sum(n - 1 for n in models.values()), sum(n - 1 for n in tools.values()))


# --------------------------------------------------------------------------- kill hooks


def arm_after_writes(saver: Any, agent: str) -> None:
    """Kill this process once ``agent``'s step has its writes saved, before the next
    checkpoint is written (``AP_KILL=after-writes:AGENT`` does this in :func:`phase`)."""
    saved = threading.Event()
    real_put_writes, real_put = saver.put_writes, saver.put

    def put_writes(config: Any, writes: Any, task_id: str, *args: Any) -> Any:
        out = real_put_writes(config, writes, task_id, *args)
        if any(channel == "path" and agent in (value or []) for channel, value in writes):
            saved.set()
        return out

    def put(config: Any, checkpoint: Any, metadata: Any, versions: Any) -> Any:
        if agent in (checkpoint.get("channel_values") or {}).get("path", []):
            saved.wait(10)  # the writes are saved in the background; be sure they are in
            _kill_here(f"after-writes:{agent}")
        return real_put(config, checkpoint, metadata, versions)

    saver.put_writes, saver.put = put_writes, put


# --------------------------------------------------------------------------- one phase


class _LoggedStore:
    """A journal store that logs the keys it reads back and each record once inserted."""

    def __init__(self, store: Any, log: str) -> None:
        self.store, self.log = store, log

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _note(self, what: str, key: Any, entry: Any) -> None:
        from agentpatterns.nodes.journal import effect_key

        _append(self.log, f"{what}\t{entry[1]}\t{entry[2]}\t{os.getpid()}"
                f"\t{effect_key(key, entry[0])}\t{time.time():.6f}")

    def load(self, key: Any, **kwargs: Any) -> Any:
        entries = self.store.load(key, **kwargs)
        for entry in entries:
            self._note("loaded", key, entry)
        return entries

    async def aload(self, key: Any, **kwargs: Any) -> Any:
        entries = await self.store.aload(key, **kwargs)
        for entry in entries:
            self._note("loaded", key, entry)
        return entries

    def record(self, key: Any, entry: Any) -> None:
        _kill_here(f"record:{entry[1]}:{entry[2]}")  # the effect is done, its record not
        self.store.record(key, entry)
        self._note("recorded", key, entry)

    async def arecord(self, key: Any, entry: Any) -> None:
        _kill_here(f"record:{entry[1]}:{entry[2]}")
        await self.store.arecord(key, entry)
        self._note("recorded", key, entry)


@contextmanager
def journal_logged(log: str) -> Iterator[None]:
    """While inside: every turn journal logs its reads and records to ``log``
    (``AP_NO_JOURNAL=1``: no turn keeps a journal - to show what a broken replay looks like)."""
    from agentpatterns.graphs import _nodes

    real, real_turn = _nodes.journal_store, _nodes.turn_journal
    _nodes.journal_store = lambda saver: _LoggedStore(real(saver), log)  # type: ignore[assignment]
    if os.environ.get("AP_NO_JOURNAL"):
        _nodes.turn_journal = lambda config: None  # type: ignore[assignment]
    try:
        with effect_log_logged(log):
            yield
    finally:
        _nodes.journal_store, _nodes.turn_journal = real, real_turn  # type: ignore[assignment]


@contextmanager
def effect_log_logged(log: str) -> Iterator[None]:
    """While inside: each append to a run's write-ahead effect log is logged (``logged KIND
    NAME PID KEY TIME``) and ``AP_KILL=logged:KIND:NAME`` kills right after it - the effect
    is on local disk, its journal record not in the database."""
    from agentpatterns.nodes.journal import effect_key
    from agentpatterns.storage.effect_log import EffectLog

    real = EffectLog.append

    def append(self: Any, row: tuple[Any, ...]) -> None:
        real(self, row)
        key = _Key(*row[:3])
        _append(log, f"logged\t{row[4]}\t{row[5]}\t{os.getpid()}\t{effect_key(key, row[3])}"
                f"\t{time.time():.6f}")
        _kill_here(f"logged:{row[4]}:{row[5]}")

    EffectLog.append = append  # type: ignore[method-assign]
    try:
        yield
    finally:
        EffectLog.append = real  # type: ignore[method-assign]


@dataclass(frozen=True)
class _Key:
    thread_id: str
    checkpoint_ns: str
    task_id: str


def thread_status(saver: Any, graph: Any, thread_id: str) -> str:
    """``new``, ``waiting``, ``cut off`` or ``done`` (from the checkpoint and its writes)."""
    from agentpatterns.run.threads import WAITING, snapshot_status

    config: Any = {"configurable": {"thread_id": thread_id}}
    if saver.get_tuple(config) is None:
        return "new"
    status = snapshot_status(graph.get_state(config))
    return "waiting" if status == WAITING else status


def phase(pattern: str, url: str, thread_id: str, log: str, *, latency: float = 0.0,
          on_start: Callable[[], None] | None = None) -> dict[str, Any]:
    """Take the thread one phase further: start it, finish a cut-off run, or approve.

    Returns:
        ``{"status": before, "path", "final_output", "interrupted"}`` of this phase.
    """
    from agentpatterns.storage import open_checkpointer

    p = build(pattern, log, latency=latency)
    with open_checkpointer(url) as saver, journal_logged(log):
        kill = os.environ.get("AP_KILL", "")
        if kill.startswith("after-writes:"):
            arm_after_writes(saver, kill.split(":", 1)[1])
        status = thread_status(saver, p.compile(checkpointer=saver), thread_id)
        if on_start is not None:
            on_start()
        if status == "done":
            return {"status": status}
        if status == "new":
            r = Runner.run_sync(p, REQUEST[pattern], thread_id=thread_id, checkpointer=saver)
        elif status == "waiting":
            r = Runner.resume_sync(p, thread_id=thread_id, decision=True, checkpointer=saver)
        else:
            r = Runner.resume_sync(p, thread_id=thread_id, checkpointer=saver)
    return {"status": status, "path": r.path, "final_output": r.final_output,
            "interrupted": r.interrupted}


def finish(pattern: str, url: str, thread_id: str, log: str) -> dict[str, Any]:
    """Phases until the thread is done (approving when asked); the last phase's result."""
    out: dict[str, Any] = {}
    for _ in range(6):
        step = phase(pattern, url, thread_id, log)
        if step["status"] == "done":
            return out
        out = step
        if not step.get("interrupted"):
            return out
    raise RuntimeError(f"thread {thread_id!r} did not finish in 6 phases")


def main(argv: list[str]) -> int:
    pattern, url, thread_id, log = argv
    out = phase(pattern, url, thread_id, log)
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
