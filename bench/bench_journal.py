"""What the turn journal costs per step: the same runs with and without it, in one process.

Workload: ``sequential([a, b, c])`` where each agent calls one tool and then answers - per
agent step 2 model calls and 1 tool call, i.e. 3 journaled effects (9 per run), on a
stateless 0 ms model, so the framework and the database are all that is measured.

* ``journal``: as shipped - every effect is written to ``agentpatterns_journal`` (SQLite /
  PostgreSQL: one committed INSERT each; memory: a dict entry) before the turn goes on, plus
  one SELECT per step (replay lookup, and the wait for the step's checkpoint to be saved).
* ``none``: ``agentpatterns.graphs._nodes.turn_journal`` patched to return ``None`` (the
  drivers then run effects directly, as before the journal existed).
* ``no log``: the journal without the write-ahead effect log
  (:mod:`agentpatterns.storage.effect_log`: each record first appended to a local file, a
  model reply from the model's ``on_llm_end``; the file made and removed per run) - the
  ``effect log`` rows give its cost (SQLite and PostgreSQL only: runs on a memory saver
  hold no lock, so keep no log).

Both variants use the same saver (a fresh thread per run), interleaved and shuffled
(:func:`_util.compare`). Backends: ``InMemorySaver``, ``SqliteSaver`` on a file (WAL,
``synchronous=NORMAL``: the saver a ``sqlite:///`` URL opens), and ``PostgresSaver`` when
``BENCH_PG_URL`` names a database.

    .venv/bin/python bench/bench_journal.py [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _util import Row, compare, median, ms, paired_ratio
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver

import agentpatterns.graphs._nodes as nodes
import agentpatterns.run.locks as _locks
from agentpatterns import Agent, Runner, function_tool, sequential
from agentpatterns.storage import make_serde

TARGET = 1.15  # journal / none, per step, on SQLite
STEPS, EFFECTS = 3, 9


class _ToolThenAnswer(BaseChatModel):
    """Calls the agent's one tool, then answers (decided from the conversation alone)."""

    @property
    def _llm_type(self) -> str:
        return "bench-tool-then-answer"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        tools = [t["function"]["name"] for t in kwargs.get("tools") or ()]
        done = isinstance(messages[-1], ToolMessage)
        reply = (AIMessage(content="answer") if done or not tools else AIMessage(
            content="", tool_calls=[{"name": tools[0], "args": {"item": "x"},
                                     "id": uuid.uuid4().hex[:8], "type": "tool_call"}]))
        return ChatResult(generations=[ChatGeneration(message=reply)])


def _pattern() -> Any:
    model = _ToolThenAnswer()
    agents = []
    for name in ("Researcher", "Writer", "Editor"):
        def act(item: str) -> str:
            return f"done: {item}"

        act.__name__ = f"{name.lower()}_tool"
        act.__doc__ = "Do the work.\n\nArgs:\n    item: What."
        agents.append(Agent(name=name, instructions="Work", model=model,
                            tools=[function_tool(act)]))
    return sequential(agents)


@contextmanager
def _memory() -> Iterator[Any]:
    yield InMemorySaver(serde=make_serde())


@contextmanager
def _sqlite() -> Iterator[Any]:
    # the saver a ``sqlite:///`` URL opens (WAL, synchronous=NORMAL, make_serde(), the
    # journal table, puts noted for the journal's wait), as users get it
    from agentpatterns.storage import open_checkpointer

    with tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp, \
            open_checkpointer(f"sqlite:///{Path(tmp) / 'runs.db'}") as saver:
        yield saver


@contextmanager
def _postgres() -> Iterator[Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(os.environ["BENCH_PG_URL"]) as saver:
        saver.setup()
        saver.serde = make_serde()
        yield saver


def _backends() -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {"memory": _memory, "sqlite": _sqlite}
    if os.environ.get("BENCH_PG_URL", "").startswith(("postgresql://", "postgres://")):
        out["postgres"] = _postgres
    return out


_real_turn_journal = nodes.turn_journal
_journal_on = [True]
nodes.turn_journal = lambda config: _real_turn_journal(config) if _journal_on[0] else None
_real_take_over = _locks.take_over
_log_on = [True]
_locks.take_over = (  # type: ignore[assignment]
    lambda *args: _real_take_over(*args) if _log_on[0] else None)


def run(quick: bool = False) -> Iterator[Row]:
    reps, n = (5, 5) if quick else (15, 10)
    pattern = _pattern()
    for backend, opener in _backends().items():
        with opener() as saver:
            def variant(on: bool, log: bool = True) -> Callable[[], Any]:
                def go() -> None:
                    _journal_on[0], _log_on[0] = on, log
                    r = Runner.run_sync(pattern, "go", checkpointer=saver)
                    assert r.path == ["Researcher", "Writer", "Editor"], r.path
                return go

            variants = {"journal": variant(True), "none": variant(False)}
            if backend != "memory":
                variants["no log"] = variant(True, log=False)
            times = compare(variants, reps=reps, n=n)
        ratio = paired_ratio(times, "journal", "none")
        on, off = median(times["journal"]), median(times["none"])
        per_step = (on - off) / STEPS
        yield Row(f"journal per step ({backend})", ratio=ratio,
                  target=TARGET if backend == "sqlite" else None,
                  baseline=f"no journal: {ms(off / STEPS)} ms/step",
                  ours=f"journal: {ms(on / STEPS)} ms/step",
                  ratio_of="with journal / without",
                  summary=(f"+{ms(per_step)} ms per step, +{ms((on - off) / EFFECTS)} ms per "
                           "journaled effect"),
                  detail={"run_ms_journal": ms(on), "run_ms_none": ms(off),
                          "steps": STEPS, "effects": EFFECTS})
        if "no log" in times:
            bare = median(times["no log"])
            yield Row(f"effect log per run ({backend})",
                      ratio=paired_ratio(times, "journal", "no log"), target=None,
                      baseline=f"journal, no effect log: {ms(bare)} ms/run",
                      ours=f"with it: {ms(on)} ms/run", ratio_of="with effect log / without",
                      summary=(f"+{ms(on - bare)} ms per run, +{ms((on - bare) / EFFECTS)} ms "
                               "per journaled effect (file made and removed per run)"),
                      detail={"run_ms_log": ms(on), "run_ms_no_log": ms(bare)})


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']:<28} ratio {row['ratio']:.3f}  {row['ours']:<24} "
              f"{row['baseline']:<28} {row['summary']}")
