"""pyinstrument profiles of the rows that miss: ``python bench/profile_misses.py [NAME ...]``.

Writes ``bench/profiles/<name>.txt``: for ours and for the hand-written side, a call tree
with library frames collapsed, then one with LangGraph's frames shown (nodes under 2 %
dropped), so the difference can be read off. Needs ``pip install pyinstrument`` (a dev tool,
not a dependency). Names: triage, sequential10, fanout1000, concurrency1000, interrupt.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
OUT = HERE / "profiles"


def _profile(fn: Callable[[], Any], repeat: int, is_async: bool = False) -> Any:
    from pyinstrument import Profiler

    prof = Profiler(interval=0.0002, async_mode="disabled")
    if is_async:
        async def many() -> None:
            await fn()
            prof.start()
            for _ in range(repeat):
                await fn()
            prof.stop()
        asyncio.run(many())
    else:
        for _ in range(3):
            fn()
        prof.start()
        for _ in range(repeat):
            fn()
        prof.stop()
    return prof


def _write(name: str, sides: dict[str, Any]) -> None:
    OUT.mkdir(exist_ok=True)
    parts = []
    for side, prof in sides.items():
        parts.append(f"==================== {side}: call tree ====================\n")
        parts.append(prof.output_text(unicode=False, color=False, time="percent_of_total"))
        parts.append(f"\n==================== {side}: langgraph frames shown "
                     "====================\n")
        text = prof.output_text(unicode=False, color=False, time="percent_of_total",
                                processor_options={"show_regex": r".*(langgraph|agentpatterns).*",
                                                   "filter_threshold": 0.02})
        parts.append("\n".join(text.splitlines()[:140]) + "\n")
    (OUT / f"{name}.txt").write_text("".join(parts))
    print(f"wrote {OUT / (name + '.txt')}")


def zero_ms(name: str) -> None:
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from shapes import SHAPES

    from agentpatterns import OfflineModel, Runner

    model = OfflineModel()
    build, build_graph, request, _calls = SHAPES[name]
    pattern = build()
    saver = InMemorySaver()
    hand = build_graph(model).compile(checkpointer=InMemorySaver())
    _write(name, {
        "ours (Runner.run_sync)": _profile(
            lambda: Runner.run_sync(pattern, request, checkpointer=saver, model=model), 200),
        "hand-written": _profile(
            lambda: hand.invoke({"messages": [HumanMessage(request)]},
                                {"configurable": {"thread_id": uuid.uuid4().hex}}), 200),
    })


def fanout(k: int = 1000) -> None:
    from _util import reset_memory_saver
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from shapes import PARALLEL_REQUEST, parallel_graph, parallel_pattern

    from agentpatterns import OfflineModel, Runner

    model = OfflineModel(latency=0.05)
    pattern = parallel_pattern(k)
    s1, s2 = InMemorySaver(), InMemorySaver()
    hand = parallel_graph(model, k).compile(checkpointer=s2)

    async def ours() -> None:
        await Runner.run(pattern, PARALLEL_REQUEST, checkpointer=s1, model=model)
        reset_memory_saver(s1)

    async def handwritten() -> None:
        await hand.ainvoke({"messages": [HumanMessage(PARALLEL_REQUEST)]},
                           {"configurable": {"thread_id": uuid.uuid4().hex}})
        reset_memory_saver(s2)

    _write(f"fanout{k}", {"ours (Runner.run)": _profile(ours, 2, True),
                          "hand-written Send": _profile(handwritten, 2, True)})


def concurrency(n: int = 1000) -> None:
    from _util import reset_memory_saver
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from shapes import TRIAGE_REQUEST, triage_graph, triage_pattern

    from agentpatterns import OfflineModel, Runner

    model = OfflineModel(latency=0.05)
    pattern = triage_pattern()
    s1, s2 = InMemorySaver(), InMemorySaver()
    hand = triage_graph(model, aio=True).compile(checkpointer=s2)

    async def ours() -> None:
        await asyncio.gather(*(Runner.run(pattern, TRIAGE_REQUEST, checkpointer=s1, model=model)
                               for _ in range(n)))
        reset_memory_saver(s1)

    async def handwritten() -> None:
        await asyncio.gather(*(hand.ainvoke({"messages": [HumanMessage(TRIAGE_REQUEST)]},
                                            {"configurable": {"thread_id": uuid.uuid4().hex}})
                               for _ in range(n)))
        reset_memory_saver(s2)

    _write(f"concurrency{n}", {"ours (gather of Runner.run)": _profile(ours, 1, True),
                               "hand-written (gather of ainvoke)": _profile(handwritten, 1, True)})


def interrupt() -> None:
    from _util import sqlite_saver
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command
    from shapes import APPROVAL_REQUEST, approval_graph, approval_pattern

    from agentpatterns import OfflineModel, Runner

    model = OfflineModel()
    pattern = approval_pattern()
    with tempfile.TemporaryDirectory() as tmp:
        s1, s2 = sqlite_saver(f"{tmp}/a.db"), sqlite_saver(f"{tmp}/b.db")
        hand = approval_graph(model).compile(checkpointer=s2)

        def ours() -> None:
            r = Runner.run_sync(pattern, APPROVAL_REQUEST, checkpointer=s1, model=model)
            Runner.resume_sync(pattern, thread_id=r.thread_id, decision=True, checkpointer=s1,
                               model=model)

        def handwritten() -> None:
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            hand.invoke({"messages": [HumanMessage(APPROVAL_REQUEST)]}, config)
            hand.invoke(Command(resume=True), config)

        _write("interrupt", {"ours (run_sync + resume_sync)": _profile(ours, 100),
                             "hand-written": _profile(handwritten, 100)})


def main(names: list[str]) -> None:
    jobs = {"triage": lambda: zero_ms("triage"), "sequential10": lambda: zero_ms("sequential10"),
            "fanout1000": fanout, "concurrency1000": concurrency, "interrupt": interrupt}
    for name in names or list(jobs):
        jobs[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
