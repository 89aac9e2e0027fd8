"""``SQLiteSession``: conversational memory in a SQLite file, as in the seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SQLiteSession"]


@dataclass(frozen=True)
class SQLiteSession:
    """A conversation that persists in a SQLite file, across runs and processes.

    ``Runner.run(agent, query, session=session)`` checkpoints the run under the session's
    thread in ``db_path``; the next run with the same session sees the earlier
    conversation. Another ``session_id`` sees nothing of it. With ``user_id``, long-term
    facts (the ``memory`` pattern) are shared by all of that user's sessions.

    Args:
        session_id: Names the conversation.
        db_path: The SQLite file (created if missing).
        user_id: Owner of long-term facts (optional).

    Example:
        >>> SQLiteSession("expert_system", "memory.db").thread_id
        'session:expert_system'
    """

    session_id: str
    db_path: str | Path = "agentpatterns_sessions.db"
    user_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.session_id, str) or not self.session_id.strip():
            raise ValueError("SQLiteSession(session_id=...) must be a non-empty string")

    @property
    def thread_id(self) -> str:
        """The LangGraph thread this session's runs are checkpointed under."""
        return f"session:{self.session_id}"

    @property
    def url(self) -> str:
        """The ``sqlite:///`` URL of the session database (absolute)."""
        return "sqlite:///" + str(Path(self.db_path).expanduser().resolve())
