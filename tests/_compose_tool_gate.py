"""A human approval inside a pattern used as a tool, run or resumed in a subprocess.

    python -m tests._compose_tool_gate run|resume langgraph|sdk STORE THREAD LOG DEPTH

``First`` -> ``Desk`` (hierarchical: ``Boss`` with the tool ``approve_plan``, a pattern whose
approval is nested DEPTH levels deep) -> ``Last``; every model call is logged to LOG. Prints
the run's summary as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from agentpatterns import Agent, Pattern, hierarchical, human_approval, sequential
from tests._durable_helpers import CountingModel


def tool_gate(log: str | Path, depth: int = 1) -> Pattern:
    """The composition, each agent on its own logging model."""
    def agent(name: str, instructions: str, **kw: object) -> Agent:
        return Agent(name=name, instructions=instructions,  # type: ignore[arg-type]
                     model=CountingModel(tag=name, log_path=str(log)), **kw)

    tool: Pattern = human_approval(agent("Planner", "Plan it"), agent("Executor", "Execute it"),
                                   name="Approval")
    for level in range(1, depth):
        tool = sequential([agent(f"Scout {level}", "Research the topic"), tool],
                          name=f"Level {level}")
    boss = agent("Boss", "Coordinate", tools=[tool.as_tool(
        tool_name="approve_plan", tool_description="Use to plan and approve")])
    return sequential([agent("First", "Research the topic"), hierarchical(boss, name="Desk"),
                       agent("Last", "Summarize")], name="Top")


def main(argv: list[str]) -> int:
    verb, runtime, store, thread, log, depth = argv[:6]
    pattern = tool_gate(log, int(depth))
    request = "plan and approve the release"
    if runtime == "sdk":
        from agentpatterns.adapters.openai_agents import resume_sdk_sync, run_sdk_sync

        result = (run_sdk_sync(pattern, request, thread_id=thread, store=store)
                  if verb == "run" else
                  resume_sdk_sync(pattern, thread_id=thread, store=store, decision=True))
    else:
        from agentpatterns import Runner

        result = (Runner.run_sync(pattern, request, thread_id=thread, checkpointer=store)
                  if verb == "run" else
                  Runner.resume_sync(pattern, thread_id=thread, checkpointer=store,
                                     decision=True))
    print(json.dumps({"pid": os.getpid(), "path": result.path, "calls": result.calls,
                      "interrupted": result.interrupted,
                      "where": (result.interruption or {}).get("patterns"),
                      "steps": [[s.agent, list(s.patterns)] for s in result.steps],
                      "final_output": result.final_output}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
