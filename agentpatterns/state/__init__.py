"""State schemas and reducers shared by every pattern.

The lowest layer above events/errors: imports nothing of agentpatterns but ``errors``.
"""

from agentpatterns.state.schema import (
    RESET,
    PatternState,
    add_counts,
    append,
    fresh_run_update,
    merge,
)

__all__ = ["RESET", "PatternState", "add_counts", "append", "fresh_run_update", "merge"]
