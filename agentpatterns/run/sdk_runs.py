"""The SDK runtime's runs in a thread listing: their markers in the same database's store.

A run of ``run_sdk`` whose store is a database saves its state in the LangGraph store table
``store`` (namespace ``agentpatterns.openai_agents.runs``, key = thread id): ``running``
while it runs (a killed run keeps it), ``waiting`` for a decision, ``budget`` when its
budget cut it off, ``done``. Listings read those rows with one read-only query on the
checkpointer's own connection (nothing is created) - so ``Runner.threads`` and
``agentpatterns threads`` show SDK runs beside LangGraph's, when the store is the
checkpointer's database (the default: ``store=`` defaults to the checkpointer URL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentpatterns.run.locks_pg import pg_connection, saver_lock
from agentpatterns.storage.identity import is_psycopg as _is_psycopg
from agentpatterns.storage.journal_sql import SDK_RUNS_PREFIX

__all__ = ["SdkRun", "sdk_resume_hint", "sdk_runs"]

#: The store namespace of SDK runs, as LangGraph's stores write it in the ``prefix`` column.
PREFIX = SDK_RUNS_PREFIX
_SQLITE = ("SELECT key, json_extract(value, '$.status'), json_extract(value, '$.pattern'), "
           "json_extract(value, '$.path'), updated_at FROM store WHERE prefix = ?")
_PG = ("SELECT key, value->>'status' AS status, value->>'pattern' AS pattern, "
       "(value->'path')::text AS path, updated_at::text AS updated FROM store "
       "WHERE prefix = %s")


@dataclass(frozen=True, kw_only=True)
class SdkRun:
    """The saved state of a thread's SDK run.

    Attributes:
        status: ``running`` (under way, or killed), ``waiting``, ``budget`` or ``done``.
        pattern: The pattern's name.
        updated: When it was saved (the store's ``updated_at``, UTC).
        path: The agents that acted, when saved with the state.
    """

    status: str
    pattern: str | None
    updated: str
    path: list[str] = field(default_factory=list)


def _row(row: Any) -> tuple[str, SdkRun]:
    values = list(row.values()) if isinstance(row, dict) else list(row)
    key, status, pattern, path, updated = values
    try:
        agents = json.loads(path) if isinstance(path, str) else list(path or [])
    except ValueError:
        agents = []
    return str(key), SdkRun(status=str(status or ""), pattern=str(pattern) if pattern else None,
                            updated=str(updated or ""),
                            path=[a for a in agents if isinstance(a, str)])


def sdk_runs(saver: Any) -> dict[str, SdkRun]:
    """The SDK runs saved in ``saver``'s database, by thread id (read only; ``{}`` when it
    has no store table or is not SQLite or PostgreSQL).

    Args:
        saver: An opened synchronous saver (an async one reads as ``{}``).
    """
    conn: Any = getattr(saver, "conn", None)
    if type(conn).__module__ == "sqlite3":
        with saver_lock(saver):
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'store'").fetchall():
                return {}
            rows = conn.execute(_SQLITE, (PREFIX,)).fetchall()
        return dict(_row(r) for r in rows)
    if _is_psycopg(conn) and not type(conn).__name__.startswith("Async"):
        with pg_connection(saver) as held, saver_lock(saver):
            found = held.execute("SELECT to_regclass('store') AS t").fetchone()
            if (found["t"] if isinstance(found, dict) else found[0]) is None:
                return {}
            rows = held.execute(_PG, (PREFIX,)).fetchall()
        return dict(_row(r) for r in rows)
    return {}


def sdk_resume_hint(saver: Any, thread_id: str) -> str | None:
    """Why the LangGraph runtime cannot resume ``thread_id``, when the SDK runtime's run of it
    is unfinished (``None`` otherwise, or when ``saver`` cannot be read synchronously)."""
    try:
        run = sdk_runs(saver).get(thread_id)
    except Exception:  # an async saver's connection, a closed one: no hint
        return None
    if run is None or run.status == "done":
        return None
    state = {"running": "was cut off while it ran", "waiting": "waits for a decision",
             "budget": "was cut off by its budget"}.get(run.status, f"is {run.status}")
    return (f"thread {thread_id!r} was run by the OpenAI Agents SDK runtime and {state}; "
            "resume it from Python with agentpatterns.adapters.openai_agents.resume_sdk("
            f"pattern, thread_id={thread_id!r}, checkpointer=...)")
