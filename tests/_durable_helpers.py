"""Helpers for the durable-run tests: a call-logging offline model and slow patterns.

The tests kill runs with SIGKILL and resume them from other processes, so the evidence of
"every agent acted exactly once" has to outlive a process: :class:`CountingModel` appends
one line per model call to a file (``start`` when a call begins, ``done`` when it
returns), tagged with the agent and the process id.

Run as a module, it drives one run in this process and prints the result as JSON on its
last line (the tests start it with ``python -m tests._durable_helpers``)::

    python -m tests._durable_helpers run sequential|parallel URL THREAD LOG
    python -m tests._durable_helpers resume sequential|parallel URL THREAD LOG [--fast]
    python -m tests._durable_helpers worker URL LOG PREFIX N   # N runs on threads PREFIX-i

``--fast`` drops the latencies. ``AP_GO_FILE`` (optional) names a file to wait for before
starting, so that several processes can be released at the same moment; each process
first creates ``AP_GO_FILE.ready.PID`` to say it is waiting.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentpatterns import (
    Agent,
    OfflineModel,
    Pattern,
    Runner,
    function_tool,
    parallel,
    sequential,
    triage,
)
from agentpatterns.testing import ScriptedModel, text, tool_call

__all__ = [
    "PARALLEL_LATENCY",
    "SEQUENTIAL_LATENCY",
    "CountingModel",
    "calls",
    "clerk_with_refund",
    "slow_parallel",
    "slow_sequential",
    "slow_sequential_from_env",
]

#: Seconds per model call for each agent: the Writer is slow so a kill lands inside it.
SEQUENTIAL_LATENCY = {"Researcher": 0.2, "Writer": 5.0, "Editor": 0.2}
#: Branch latencies differ so that a kill lands after two branches finished, not the third.
PARALLEL_LATENCY = {"Researcher 1": 0.1, "Researcher 2": 0.3, "Researcher 3": 6.0,
                    "Synthesizer": 0.1}


class CountingModel(OfflineModel):
    """The offline model, logging every call of agent ``tag`` to the file ``log_path``."""

    tag: str = ""
    log_path: str = ""

    def _record(self, event: str) -> None:
        line = f"{event}\t{self.tag}\t{os.getpid()}\n".encode()
        # one O_APPEND write per line: lines from several processes never interleave
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        self._record("start")
        result = super()._generate(*args, **kwargs)
        self._record("done")
        return result

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        self._record("start")
        result = await super()._agenerate(*args, **kwargs)
        self._record("done")
        return result


def _model(name: str, log: str | Path, latency: Mapping[str, float]) -> CountingModel:
    return CountingModel(tag=name, log_path=str(log), latency=latency.get(name, 0.0))


def slow_sequential(log: str | Path, latency: Mapping[str, float] = SEQUENTIAL_LATENCY
                    ) -> Pattern:
    """The seed's sequential example, each agent on its own logging, slow model."""
    editor = Agent(name="Editor", instructions="Edit and polish the content",
                   model=_model("Editor", log, latency))
    writer = Agent(name="Writer", instructions="Write based on research, then hand off to editor",
                   handoffs=[editor], model=_model("Writer", log, latency))
    researcher = Agent(name="Researcher",
                       instructions="Research the topic thoroughly, then hand off to writer",
                       handoffs=[writer], model=_model("Researcher", log, latency))
    return sequential([researcher, writer, editor])


def slow_sequential_from_env() -> Pattern:
    """``slow_sequential`` logging to ``$AP_CALL_LOG`` (for the CLI's module:attribute)."""
    return slow_sequential(os.environ["AP_CALL_LOG"])


def slow_parallel(log: str | Path, latency: Mapping[str, float] = PARALLEL_LATENCY) -> Pattern:
    """The seed's parallel example with per-branch latencies and logging models."""
    topics = {"Researcher 1": "A", "Researcher 2": "B", "Researcher 3": "C"}
    agents = [Agent(name=name, instructions=f"Research topic {topic}",
                    model=_model(name, log, latency)) for name, topic in topics.items()]
    synthesizer = Agent(name="Synthesizer", instructions="Combine research",
                        model=_model("Synthesizer", log, latency))
    return parallel(agents, synthesizer)


def quick_triage(log: str | Path, latency: Mapping[str, float] | None = None) -> Pattern:
    """The seed's triage example with logging models (a little latency for overlap)."""
    lat = latency or {"Triage Agent": 0.05, "Booking Agent": 0.05, "Support Agent": 0.05}
    booking = Agent(name="Booking Agent",
                    handoff_description="Handles all booking and reservation requests",
                    instructions="Help users book appointments and reservations",
                    model=_model("Booking Agent", log, lat))
    support = Agent(name="Support Agent",
                    handoff_description="Handles customer support and troubleshooting",
                    instructions="Help users with technical issues and questions",
                    model=_model("Support Agent", log, lat))
    router = Agent(name="Triage Agent",
                   instructions="Route users to the appropriate specialist based on their needs",
                   handoffs=[booking, support], model=_model("Triage Agent", log, lat))
    return triage(router)


def calls(log: str | Path, event: str = "done") -> dict[str, Counter[str]]:
    """``{pid: Counter(agent -> number of calls)}`` for ``event`` lines of the log."""
    out: dict[str, Counter[str]] = {}
    path = Path(log)
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        kind, agent, pid = line.split("\t")
        if kind == event:
            out.setdefault(pid, Counter())[agent] += 1
    return out


def _wait_for_go() -> None:
    go = os.environ.get("AP_GO_FILE")
    if go:
        Path(f"{go}.ready.{os.getpid()}").touch()  # imported and waiting
        deadline = time.monotonic() + 60
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.005)


def _summary(result: Any) -> dict[str, Any]:
    out = result.final_output
    return {"pid": os.getpid(), "thread": result.thread_id, "path": result.path,
            "calls": result.calls, "final_output": out if isinstance(out, str) else str(out),
            "interrupted": result.interrupted,
            "inputs": [m.content for m in result.values.get("messages", [])
                       if getattr(m, "type", "") == "human"]}


_BUILDERS = {"sequential": slow_sequential, "parallel": slow_parallel, "triage": quick_triage}


def main(argv: list[str]) -> int:
    """The subprocess entry point (see the module docstring)."""
    from agentpatterns.errors import AgentPatternsError

    verb = argv[0]
    _wait_for_go()
    try:
        if verb == "worker":
            url, log, prefix, count = argv[1], argv[2], argv[3], int(argv[4])
            kinds = ["triage", "sequential", "parallel"]
            results = []
            for i in range(count):
                kind = kinds[i % len(kinds)]
                request = ("book a table " if kind == "triage" else "topic ") + f"{prefix}-{i}"
                pattern = _BUILDERS[kind](log, {})
                r = Runner.run_sync(pattern, request, thread_id=f"{prefix}-{i}", checkpointer=url)
                results.append({"kind": kind, **_summary(r)})
            print(json.dumps(results))
            return 0
        kind, url, thread, log = argv[1:5]
        fast = "--fast" in argv  # no latency: a resume that need not overlap anything
        pattern = _BUILDERS[kind](log, {}) if fast else _BUILDERS[kind](log)
        if verb == "run":
            request = "The history of the printing press"
            result = Runner.run_sync(pattern, request, thread_id=thread, checkpointer=url)
        else:
            result = Runner.resume_sync(pattern, thread_id=thread, checkpointer=url)
    except AgentPatternsError as exc:
        print(json.dumps({"pid": os.getpid(), "error": type(exc).__name__,
                          "message": str(exc)}))
        return 3
    print(json.dumps(_summary(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def clerk_with_refund(ran: list[str], *, approval: bool) -> tuple[Agent, ScriptedModel]:
    """A clerk that looks an order up, then refunds (with ``approval``: after a human says
    yes); each tool call is appended to ``ran``."""
    @function_tool
    def look_up(item: str) -> str:
        """Look an order up.

        Args:
            item: What to look up.
        """
        ran.append(f"look {item}")
        return "found"

    @function_tool(needs_approval=approval)
    def refund(amount: int) -> str:
        """Refund money.

        Args:
            amount: How much.
        """
        ran.append(f"refund {amount}")
        return "refunded"

    model = ScriptedModel([tool_call("look_up", item="order"), tool_call("refund", amount=5),
                           text("done")])
    return Agent(name="Clerk", instructions="Help", tools=[look_up, refund], model=model), model
