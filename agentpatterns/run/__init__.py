"""Running patterns on LangGraph: ``Runner``, ``RunResult``, threads, history, fork, thread locks.

Above graphs/ and storage/: may import graphs, nodes, state, storage, errors and events;
never adapters or cli.
"""

from agentpatterns.run.result import RunResult, Step
from agentpatterns.run.runner import Runner
from agentpatterns.run.session import SQLiteSession

__all__ = ["RunResult", "Runner", "SQLiteSession", "Step"]
