"""A composition with a nested approval on the SDK runtime, run or resumed in a subprocess.

    python -m tests._compose_sdk_helpers run|resume STORE THREAD LOG

``Fact Finder`` (a ``lookup`` tool) -> ``Approval`` (a nested human_approval: ``Planner``,
``Executor``) -> ``Reporter``; every model call and tool call is logged to LOG. Prints the
run's summary as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from agentpatterns import Agent, Pattern, function_tool, human_approval, sequential
from tests._durable_helpers import CountingModel


def gated(log: str | Path) -> Pattern:
    """The composition, each agent on its own logging model."""
    @function_tool
    def lookup(topic: str) -> str:
        """Look up facts about a topic."""
        fd = os.open(str(log), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"tool\tlookup\t{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return f"facts about {topic}"

    def agent(name: str, instructions: str, **kw: object) -> Agent:
        return Agent(name=name, instructions=instructions,  # type: ignore[arg-type]
                     model=CountingModel(tag=name, log_path=str(log)), **kw)

    gate = human_approval(agent("Planner", "Create detailed plan"),
                          agent("Executor", "Execute plan precisely"), name="Approval")
    return sequential([agent("Fact Finder", "Look up facts about the topic", tools=[lookup]),
                       gate, agent("Reporter", "Write the release report")], name="Release")


def main(argv: list[str]) -> int:
    from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_sync

    verb, store, thread, log = argv[:4]
    pattern = gated(log)
    if verb == "run":
        result = run_sdk_sync(pattern, "look up facts about the release", thread_id=thread,
                              store=store)
    else:
        result = resume_sdk_sync(pattern, thread_id=thread, store=store, decision=True)
    print(json.dumps({"pid": os.getpid(), "path": result.path, "calls": result.calls,
                      "interrupted": result.interrupted, "final_output": result.final_output,
                      "tool_calls": [c["tool"] for c in result.tool_calls]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
