"""Compositions with logging, slow models, run or resumed in a subprocess (crash tests).

    python -m tests._compose_helpers run|resume URL THREAD LOG [--fast]
    python -m tests._compose_helpers inline URL THREAD LOG   # runs or resumes; AP_KILL=...

``Researcher`` -> ``Drafting`` (a nested sequential: ``Scout`` then a slow ``Writer``) ->
``Publisher``. ``inline``: :func:`one_step_children` (three one-agent children, which run
inside their parent's task), on ``tests._crash``'s logged model and tools, so ``AP_KILL``
kills it at an exact point. Prints the run's summary as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentpatterns import Agent, Pattern, Runner, sequential
from tests._durable_helpers import CountingModel

LATENCY = {"Researcher": 0.1, "Scout": 0.1, "Writer": 5.0, "Publisher": 0.1}


def nested_pipeline(log: str | Path, latency: Mapping[str, float] = LATENCY) -> Pattern:
    """The composition, each agent on its own logging model."""
    def agent(name: str, instructions: str) -> Agent:
        return Agent(name=name, instructions=instructions, model=CountingModel(
            tag=name, log_path=str(log), latency=latency.get(name, 0.0)))

    drafting = sequential([agent("Scout", "Research the sources"),
                           agent("Writer", "Write based on research")], name="Drafting")
    return sequential([agent("Researcher", "Research the topic thoroughly"), drafting,
                       agent("Publisher", "Edit and polish the content")], name="Newsroom")


def one_step_children(log: str | Path) -> Pattern:
    """``sequential`` of three 1-agent patterns; the first and last agents call a tool."""
    from tests._crash import LoggedModel, _tool

    model = LoggedModel(scripts={"Researcher": [[("search", {"item": "sources"})], "notes"],
                                 "Writer": ["draft"],
                                 "Editor": [[("publish", {"item": "draft"})], "published"]},
                        log_path=str(log))

    def step(name: str, *tools: str) -> Pattern:
        agent = Agent(name=name, instructions=f"Act as {name}", model=model,
                      tools=[_tool(t, f"The {t} service", str(log), 0.0) for t in tools])
        return sequential([agent], name=f"{name} step")

    return sequential([step("Researcher", "search"), step("Writer"),
                       step("Editor", "publish")], name="Desk")


def _inline(url: str, thread: str, log: str) -> Any:
    from agentpatterns.storage import open_checkpointer
    from tests._crash import thread_status

    pattern = one_step_children(log)
    with open_checkpointer(url) as saver:
        if thread_status(saver, pattern.compile(checkpointer=saver), thread) == "new":
            return Runner.run_sync(pattern, "write about durable runs", thread_id=thread,
                                   checkpointer=saver)
        return Runner.resume_sync(pattern, thread_id=thread, checkpointer=saver)


def main(argv: list[str]) -> int:
    verb, url, thread, log = argv[:4]
    if verb == "inline":
        result = _inline(url, thread, log)
        print(json.dumps({"pid": os.getpid(), "path": result.path, "calls": result.calls,
                          "final_output": result.final_output}))
        return 0
    pattern = nested_pipeline(log, {} if "--fast" in argv else LATENCY)
    if verb == "run":
        result = Runner.run_sync(pattern, "The history of the printing press",
                                 thread_id=thread, checkpointer=url)
    else:
        result = Runner.resume_sync(pattern, thread_id=thread, checkpointer=url)
    print(json.dumps({"pid": os.getpid(), "path": result.path, "calls": result.calls,
                      "final_output": result.final_output}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
