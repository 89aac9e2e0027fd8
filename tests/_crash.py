"""Crash helpers: five patterns whose every model call and tool call is logged to a side file,
and ways to SIGKILL the running process at an exact point.

The evidence of "no completed call repeated" has to outlive the killed process, so
:class:`LoggedModel` and the tools append one line per *completed* call to a log file
(``model AGENT INDEX PID`` / ``tool NAME ARGS PID``; one ``O_APPEND`` write per line). The
model is stateless: its reply depends only on the conversation (how many replies the agent
already made since the last user message), so a resumed run in a new process continues the
same script.

Exact kill points, read from the environment by these helpers (never by the package):

* ``AP_KILL=tool:NAME``: the tool ``NAME`` kills its process the first time it is called
  (before doing anything), so every effect before it completed.
* ``AP_KILL=model:AGENT:INDEX``: the model kills its process at the start of that call.
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
from collections.abc import Callable
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

__all__ = ["PATTERNS", "LoggedModel", "arm_after_writes", "build", "counts", "finish", "phase",
           "repeats", "thread_status"]

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
        _append(self.log_path, f"model\t{agent}\t{index}\t{os.getpid()}")
        return ChatResult(generations=[ChatGeneration(message=reply)])


# --------------------------------------------------------------------------- the tools


def _tool(name: str, description: str, log: str, latency: float) -> Any:
    def effect(item: str) -> str:
        _kill_here(f"tool:{name}")
        if latency:
            time.sleep(latency)
        # the call's idempotency key too: a call re-run in the journal's window has the same
        _append(log, f"tool\t{name}\t{item}\t{os.getpid()}\t{idempotency_key()}")
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


def counts(log: str | Path) -> tuple[Counter[tuple[str, ...]], Counter[tuple[str, ...]]]:
    """``(model calls, tool calls)`` completed, each keyed by what identifies the call."""
    models: Counter[tuple[str, ...]] = Counter()
    tools: Counter[tuple[str, ...]] = Counter()
    path = Path(log)
    for line in path.read_text().splitlines() if path.exists() else ():
        kind, name, what = line.split("\t")[:3]
        (models if kind == "model" else tools)[(name, what)] += 1
    return models, tools


def in_window(log: str | Path, killed: set[str]) -> tuple[int, int]:
    """``(model, tool)`` repeats whose earlier run was the *last* call a killed worker
    completed: killed after the call returned, before its journal record was committed
    (the effect-to-record window). A replay that failed would repeat earlier calls too."""
    path = Path(log)
    lines = [line.split("\t") for line in (path.read_text().splitlines()
                                            if path.exists() else ())]
    last = {fields[3]: i for i, fields in enumerate(lines)}
    seen: dict[tuple[str, str, str], int] = {}
    models = tools = 0
    for i, fields in enumerate(lines):
        call = (fields[0], fields[1], fields[2])
        if call in seen:
            earlier = lines[seen[call]]
            if earlier[3] in killed and last[earlier[3]] == seen[call]:
                models += call[0] == "model"
                tools += call[0] == "tool"
        seen[call] = i
    return models, tools


def repeated_with_one_key(log: str | Path) -> int:
    """Tool calls made more than once whose runs all had the same idempotency key (a service
    honouring the key acted once)."""
    keys: dict[tuple[str, str], set[str]] = {}
    path = Path(log)
    for line in path.read_text().splitlines() if path.exists() else ():
        fields = line.split("\t")
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
    with open_checkpointer(url) as saver:
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
