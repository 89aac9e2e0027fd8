"""A composition with logging, slow models, run or resumed in a subprocess (crash tests).

    python -m tests._compose_helpers run|resume URL THREAD LOG [--fast]

``Researcher`` -> ``Drafting`` (a nested sequential: ``Scout`` then a slow ``Writer``) ->
``Publisher``. Prints the run's summary as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

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


def main(argv: list[str]) -> int:
    verb, url, thread, log = argv[:4]
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
