"""SDK-runtime runs killed at chosen points, and resumed, in subprocesses (issue 12).

    python -m tests._sdk_crash run|stream|approve|resume PATTERN URL THREAD LOG

Every pattern the SDK runtime runs is built here with one logging model per agent
(:class:`KillingModel`: ``start``/``done`` lines per call) and function tools that log each
call (``tool`` lines; in patterns ``callables``, ``handoffs``, ``imported`` the user
callables the SDK calls log ``call`` lines). ``AP_KILL`` makes the process SIGKILL itself:

* ``AGENT:N`` - inside the N-th model call of AGENT (after ``start``, before ``done``);
* ``tool:NAME`` - inside tool NAME's first call, before its effect (its line);
* ``record:NAME`` - as tool NAME's completed call is about to be journaled;
* ``logged:KIND:N`` - right after the N-th record of KIND (``model``, ``tool``, ``call``)
  was written to the run's effect log, before its journal insert.

Tool lines carry the call's ``idempotency_key()`` (``tool NAME:topic PID KEY``).
``AP_HOOKS=LOG``: the run's hooks (and, in ``handoffs``, the Booking Agent's) log ``hook``
lines (``METHOD:AGENT``; an agent's: ``agent.METHOD:AGENT``) to LOG.
``AP_LATENCY`` (seconds) makes each model and tool call take that long; ``AP_GO_FILE``
makes the process create ``AP_GO_FILE.ready.PID`` and wait for ``AP_GO_FILE`` to exist
before it starts (to release several at once). A run another process holds (busy, or
resumed meanwhile) prints ``{"refused": ...}``.

Prints the run's summary as JSON on its last line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agents.models.interface import Model
from langchain_core.messages import HumanMessage

from agentpatterns import (
    Agent,
    GuardrailFunctionOutput,
    HandoffInputData,
    OfflineModel,
    Pattern,
    ToolsToFinalOutputResult,
    dynamic,
    function_tool,
    handoff,
    hierarchical,
    human_approval,
    idempotency_key,
    input_guardrail,
    memory,
    output_guardrail,
    parallel,
    reflection,
    sequential,
    supervisor,
    triage,
)
from tests._crash import _append

__all__ = ["CAMPAIGN", "PATTERNS", "REQUESTS", "build", "log_lines", "repeated_with_one_key"]

_started: Counter[str] = Counter()
#: seconds each model and tool call takes (``AP_LATENCY``; the crash campaign sets it)
_LATENCY = float(os.environ.get("AP_LATENCY") or 0)


def _kill_point() -> str:
    return os.environ.get("AP_KILL", "")


class KillingModel(Model):
    """The offline model as an SDK ``Model`` for agent ``tag``, logging ``start`` and
    ``done`` per call to ``log`` (``done`` as the response is handed to the run: nothing
    else runs in between), and SIGKILLing its process inside the call ``AP_KILL`` names."""

    def __init__(self, tag: str, log: str) -> None:
        from agentpatterns.adapters.openai_agents import LangChainModel

        self.tag, self.log = tag, log
        self.inner = LangChainModel(OfflineModel(), agent=tag)

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        """The offline reply, logged; the process dies inside the call ``AP_KILL`` names."""
        _append(self.log, f"start\t{self.tag}\t{os.getpid()}")
        _started[self.tag] += 1
        if _kill_point() == f"{self.tag}:{_started[self.tag]}":
            os.kill(os.getpid(), signal.SIGKILL)
        response = await self.inner.get_response(*args, **kwargs)
        if _LATENCY:
            await asyncio.sleep(_LATENCY)
        _append(self.log, f"done\t{self.tag}\t{os.getpid()}")
        return response

    async def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        """The offline reply's stream, logged like :meth:`get_response` (``done`` after the
        last event)."""
        _append(self.log, f"start\t{self.tag}\t{os.getpid()}")
        _started[self.tag] += 1
        if _kill_point() == f"{self.tag}:{_started[self.tag]}":
            os.kill(os.getpid(), signal.SIGKILL)
        async for event in self.inner.stream_response(*args, **kwargs):
            yield event
        _append(self.log, f"done\t{self.tag}\t{os.getpid()}")


def _body(log: str, name: str, doc: str) -> Any:
    async def body(topic: str) -> str:  # async: nothing runs between its effect and record
        if _kill_point() == f"tool:{name}":
            os.kill(os.getpid(), signal.SIGKILL)
        if _LATENCY:
            await asyncio.sleep(_LATENCY)
        _append(log, f"tool\t{name}:{topic}\t{os.getpid()}\t{idempotency_key()}")
        return f"{name} done for {topic}"

    body.__name__ = name
    body.__doc__ = f"{doc}\n\nArgs:\n    topic: What it is about.\n"
    return body


def _tool(log: str, name: str, doc: str) -> Any:
    return function_tool(_body(log, name, doc))


def build(name: str, log: str | Path) -> Pattern:
    """The pattern ``name`` of :data:`PATTERNS`, logging to ``log``."""
    log = str(log)

    def agent(agent_name: str, instructions: str, **kw: Any) -> Agent:
        return Agent(name=agent_name, instructions=instructions,
                     model=KillingModel(agent_name, log), **kw)

    if name == "triage":
        booking = agent("Booking Agent", "Help users book tables",
                        handoff_description="Handles all booking and table requests",
                        tools=[_tool(log, "book_table", "Book a table tonight."),
                               _tool(log, "send_confirmation", "Send the booking confirmation "
                                                               "for a table.")])
        support = agent("Support Agent", "Help users with technical issues",
                        handoff_description="Handles technical support")
        return triage(agent("Triage Agent", "Route users to the right specialist",
                            handoffs=[booking, support]))
    if name == "sequential":
        editor = agent("Editor", "Edit and polish the content",
                       tools=[_tool(log, "search_archive", "Search the printing press "
                                                           "history archive.")])
        writer = agent("Writer", "Write based on research, then hand off to editor",
                       handoffs=[editor])
        researcher = agent("Researcher", "Research the topic, then hand off to writer",
                           handoffs=[writer])
        return sequential([researcher, writer, editor])
    if name == "hierarchical":
        sql = agent("SQL Expert", "Write SQL queries",
                    tools=[_tool(log, "run_query", "Run SQL queries to count orders.")])
        py = agent("Python Expert", "Write Python code")
        return hierarchical(agent("Orchestrator", "Coordinate specialists", tools=[
            sql.as_tool(tool_name="sql_expert", tool_description="Write SQL queries to count "
                                                                 "orders per customer"),
            py.as_tool(tool_name="python_expert", tool_description="Python coding tasks")]))
    if name == "supervisor":
        w1 = agent("Worker 1", "Process data",
                   tools=[_tool(log, "load_sales", "Load the sales data.")])
        w2 = agent("Worker 2", "Analyze results")
        return supervisor(agent("Supervisor", "Assign tasks to workers and aggregate"),
                          [w1, w2], max_rounds=3)
    if name == "reflection":
        return reflection(agent("Generator", "Generate content, draft 1"),
                          agent("Critic", "Review content and provide feedback"),
                          iterations=3)
    if name == "parallel":
        branches = [agent(f"Researcher {i}", f"Research topic {t}",
                          tools=[_tool(log, f"fetch_{t.lower()}", f"Fetch renewable energy "
                                                                  f"storage sources {t}.")])
                    for i, t in ((1, "A"), (2, "B"), (3, "C"))]
        return parallel(branches, agent("Synthesizer", "Combine research"))
    if name == "dynamic":
        def make(domain: str) -> Agent:
            return agent(f"{domain.title()} Specialist", f"You are an expert in {domain}",
                         tools=[_tool(log, "cite_" + "".join(c for c in domain.lower()
                                                          if c.isalnum())[:20],
                                      f"Cite advice on {domain}.")])
        return dynamic(agent("Analyzer", "Determine required expertise"), make,
                       max_specialists=3)
    if name == "memory":
        return memory(agent("Expert", "You are an expert that learns from past conversations",
                            tools=[_tool(log, "note_colour", "Note my favourite colour.")]))
    if name == "human_approval":
        return human_approval(agent("Planner", "Create detailed plan"),
                              agent("Executor", "Execute plan precisely", tools=[
                                  _tool(log, "migrate_database", "Migrate the customer "
                                                                 "database.")]))
    if name == "callables":  # user callables the SDK calls: each logs a "call" line
        def noted(what: str, value: Any) -> Any:
            def fn(*_: Any) -> Any:
                _append(log, f"call\t{what}\t{os.getpid()}")
                return value
            return fn

        look = _tool(log, "look_up_order", "Look up the order.")
        look = dataclasses.replace(look, is_enabled=noted("is_enabled", True),
                                   needs_approval=noted("needs_approval", False))
        clerk = agent("Clerk", "Help with orders", handoff_description="Handles orders",
                      tools=[look], tool_use_behavior=noted(
                          "tool_use_behavior", ToolsToFinalOutputResult(is_final_output=False)),
                      output_guardrails=[output_guardrail(noted(
                          "output_guardrail", GuardrailFunctionOutput(
                              output_info="ok", tripwire_triggered=False)))])
        return triage(agent("Triage Agent", "Route users", handoffs=[clerk],
                            input_guardrails=[input_guardrail(noted(
                                "input_guardrail", GuardrailFunctionOutput(
                                    output_info={"checked": True},
                                    tripwire_triggered=False)))]))
    if name == "handoffs":  # a handoff's on_handoff and input_filter log "call" lines
        def on_handoff(_ctx: Any) -> None:
            _append(log, f"call\ton_handoff\t{os.getpid()}")

        def noted(data: HandoffInputData) -> HandoffInputData:
            # what the filter adds differs per process: made again, the next agent's
            # model calls would no longer match the recorded ones
            _append(log, f"call\tinput_filter\t{os.getpid()}")
            note = HumanMessage(content=f"(filtered in process {os.getpid()})")
            return data.clone(input_history=(note, *data.input_history))

        booking = agent("Booking Agent", "Help users book tables",
                        handoff_description="Handles all booking and table requests",
                        tools=[_tool(log, "book_table", "Book a table tonight."),
                               _imported_tool(log, "send_confirmation", "Send the booking "
                                                                        "confirmation.")],
                        **({"hooks": LoggingHooks(os.environ["AP_HOOKS"], "Booking Agent")}
                           if os.environ.get("AP_HOOKS") else {}))
        return triage(agent("Triage Agent", "Route users to the right specialist", handoffs=[
            handoff(booking, on_handoff=on_handoff, input_filter=noted)]))
    if name == "imported":  # an SDK handoff (on_handoff, input_filter) and an SDK tool
        return _imported(agent, log)
    raise SystemExit(f"unknown pattern {name!r}")


def _imported_tool(log: str, name: str, doc: str, *, guarded: bool = False) -> Any:
    """An SDK ``function_tool`` (run by its own invoker) as our agents take it; ``guarded``:
    with a tool input and a tool output guardrail, each logging a ``call`` line."""
    import agents
    from agents.tool_guardrails import (
        ToolGuardrailFunctionOutput,
        tool_input_guardrail,
        tool_output_guardrail,
    )

    from agentpatterns.adapters.openai_agents.tools import function_tool_back

    def check(what: str) -> Any:
        def fn(_data: Any) -> Any:
            _append(log, f"call\t{what}\t{os.getpid()}")
            return ToolGuardrailFunctionOutput.allow(output_info={"checked": what})
        fn.__name__ = what
        return fn

    sdk_tool = agents.function_tool(_body(log, name, doc))
    if guarded:
        sdk_tool.tool_input_guardrails = [tool_input_guardrail(check("tool_input_guardrail"))]
        sdk_tool.tool_output_guardrails = [
            tool_output_guardrail(check("tool_output_guardrail"))]
    return function_tool_back(agents.Agent(name="owner"), sdk_tool)


def _imported(agent: Any, log: str) -> Pattern:
    """A triage whose handoff is an SDK ``handoff()`` (its ``on_handoff`` and an SDK-style
    ``input_filter`` dropping the tool items) and whose specialist has an SDK tool with
    tool guardrails."""
    import agents
    from agents.extensions.handoff_filters import remove_all_tools

    from agentpatterns.adapters.openai_agents.handoffs import our_handoff, resolve

    def on_handoff(_ctx: Any) -> None:
        _append(log, f"call\ton_handoff\t{os.getpid()}")

    def dropped(data: Any) -> Any:
        _append(log, f"call\tinput_filter\t{os.getpid()}")
        return remove_all_tools(data)

    clerk = agent("Clerk", "Help with orders", handoff_description="Handles orders",
                  tools=[_imported_tool(log, "look_up_order", "Look up the order.",
                                        guarded=True)])
    sdk_clerk = agents.Agent(name="Clerk", instructions="Help with orders",
                             handoff_description="Handles orders")
    owner = agents.Agent(name="Triage Agent", instructions="Route users")
    item = agents.handoff(sdk_clerk, on_handoff=on_handoff, input_filter=dropped)
    owner.handoffs = [item]
    spec = our_handoff(owner, item)
    assert spec is not None
    return triage(agent("Triage Agent", "Route users",
                        handoffs=[resolve(spec, {id(sdk_clerk): clerk})]))


#: pattern -> the request it is run on
REQUESTS = {
    "triage": "book a table for two tonight",
    "sequential": "the history of the printing press",
    "hierarchical": "write SQL queries to count orders per customer",
    "supervisor": "process the sales data and analyze the results",
    "reflection": "a short poem about the sea",
    "parallel": "renewable energy storage",
    "dynamic": "I need advice on tax law and accounting",
    "memory": "my favourite colour is teal",
    "human_approval": "migrate the customer database to PostgreSQL",
    "callables": "look up my order",
    "handoffs": "book a table for two tonight",
    "imported": "look up my order",
}
#: the patterns the SDK runtime runs (``callables``: a triage whose tool, agent and guardrails
#: have user callables)
PATTERNS = tuple(p for p in REQUESTS if p not in ("callables", "handoffs", "imported"))
#: what the crash campaign runs: the patterns, and the triages with handoff callables
CAMPAIGN = (*PATTERNS, "handoffs", "imported")


def repeated_with_one_key(log: str | Path) -> int:
    """Tool calls (``NAME:topic``) made more than once whose runs all had the same
    idempotency key (a service honouring it acted once)."""
    keys: dict[str, list[str]] = {}
    path = Path(log)
    for line in path.read_text().splitlines() if path.exists() else ():
        fields = line.split("\t")
        if fields[0] == "tool" and len(fields) > 3:
            keys.setdefault(fields[1], []).append(fields[3])
    return sum(len(seen) - 1 for seen in keys.values()
               if len(seen) > 1 and len(set(seen)) == 1 and seen[0] != "None")


def log_lines(log: str | Path) -> dict[str, Counter[str]]:
    """``{"done": Counter(agent), "start": ..., "tool": Counter(tool:topic), "call": ...}``."""
    out: dict[str, Counter[str]] = {"done": Counter(), "start": Counter(), "tool": Counter(),
                                    "call": Counter(), "hook": Counter()}
    path = Path(log)
    if path.exists():
        for line in path.read_text().splitlines():
            event, what = line.split("\t")[:2]
            out[event][what] += 1
    return out


def _arm_record_kill() -> None:
    """``AP_KILL=record:NAME``: SIGKILL as tool NAME's completed call is about to be
    journaled (its effect happened, its record is not written: the window a resume makes
    the call again in, with the same ``idempotency_key()``)."""
    if not _kill_point().startswith("record:"):
        return
    from agentpatterns.adapters.openai_agents import durable

    prefix = f"tool:{_kill_point()[len('record:'):]}:"
    real = durable.Sink.write

    def write(self: Any, name: str, value: Any) -> None:
        if name.startswith(prefix):
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, name, value)

    durable.Sink.write = write  # type: ignore[method-assign]
def _kill_after_logged(point: str) -> None:
    from agentpatterns.storage.effect_log import EffectLog

    _, kind, nth = point.split(":")
    real, seen = EffectLog.append, Counter[str]()

    def append(self: Any, row: tuple[Any, ...]) -> None:
        real(self, row)
        seen[row[4]] += 1
        if row[4] == kind and seen[kind] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)

    EffectLog.append = append  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    """Run the verb; prints the summary (or ``refused``: another process has the run)."""
    from agentpatterns.errors import ResumeError, ThreadBusyError

    _arm_record_kill()
    verb, name, url, thread, log = argv[:5]
    pattern = build(name, log)
    if _kill_point().startswith("logged:"):
        _kill_after_logged(_kill_point())
    go = os.environ.get("AP_GO_FILE")
    if go:  # say so, then wait to be released with the other processes
        Path(f"{go}.ready.{os.getpid()}").touch()
        while not Path(go).exists():
            time.sleep(0.01)
    try:
        result = _run(verb, name, pattern, url, thread)
    except (ResumeError, ThreadBusyError) as exc:  # another process has the run
        print(json.dumps({"pid": os.getpid(), "refused": f"{type(exc).__name__}: {exc}"}))
        return 0
    print(json.dumps({"pid": os.getpid(), "path": result.path, "calls": result.calls,
                      "interrupted": result.interrupted,
                      "final_output": str(result.final_output),
                      "tool_calls": [c["tool"] for c in result.tool_calls]}))
    return 0


class LoggingHooks:
    """Lifecycle hooks (the run's, or an agent's with ``agent=``) logging a ``hook`` line
    ``METHOD:AGENT`` per call: which ones a replay calls again."""

    def __init__(self, log: str, agent: str = "") -> None:
        self.log, self.agent = log, agent

    def _note(self, method: str, agent: Any) -> None:
        who = self.agent or str(getattr(agent, "name", agent))
        kind = "agent." if self.agent else ""
        _append(self.log, f"hook\t{kind}{method}:{who}\t{os.getpid()}")

    def __getattr__(self, method: str) -> Any:
        if not method.startswith("on_"):
            raise AttributeError(method)

        def hook(*args: Any, **kwargs: Any) -> None:
            agent = kwargs.get("from_agent") or kwargs.get("source") or (
                args[1] if len(args) > 1 else None)
            self._note(method, agent)

        return hook


def _run(verb: str, name: str, pattern: Pattern, url: str, thread: str) -> Any:
    from functools import partial

    from agentpatterns.adapters.openai_agents import resume_sdk_sync as resume
    from agentpatterns.adapters.openai_agents import run_sdk_sync as start

    if os.environ.get("AP_HOOKS"):  # the run's hooks log their calls
        hooks = LoggingHooks(os.environ["AP_HOOKS"])
        run_sdk_sync, resume_sdk_sync = partial(start, hooks=hooks), partial(resume, hooks=hooks)
    else:
        run_sdk_sync, resume_sdk_sync = start, resume

    if verb == "stream":  # run_sdk_streamed, every event consumed
        from agentpatterns._sync import block_on
        from agentpatterns.adapters.openai_agents import run_sdk_streamed
        from agentpatterns.events import RunFinished

        async def consume() -> Any:
            async for event in run_sdk_streamed(pattern, REQUESTS[name], thread_id=thread,
                                                checkpointer=url):
                if isinstance(event, RunFinished):
                    return event.result
            raise AssertionError("no RunFinished")

        return block_on(consume())
    if verb == "run":
        result = run_sdk_sync(pattern, REQUESTS[name], thread_id=thread, checkpointer=url)
        if result.interrupted and name == "human_approval":  # approve, in the same process
            result = resume_sdk_sync(pattern, thread_id=thread, checkpointer=url,
                                     decision=True)
    elif verb == "approve":
        result = resume_sdk_sync(pattern, thread_id=thread, checkpointer=url, decision=True)
    else:
        result = resume_sdk_sync(pattern, thread_id=thread, checkpointer=url)
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
