"""The turn journal's rows live as long as a re-run can read them (issue 12).

* ``delete_thread`` of the savers ``storage`` opens deletes the thread's journal rows too
  (SQLite and PostgreSQL, sync and async).
* When a run ends, the rows of tasks whose checkpoint has a child are pruned: a finished
  run leaves none; a run waiting inside a turn (a tool approval) keeps that turn's rows,
  and its resume still replays them instead of calling again.
* A journal table made before the checkpoint columns existed is brought up to date.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentpatterns import Runner
from agentpatterns.storage import aopen_checkpointer, open_checkpointer
from agentpatterns.storage.journal_sql import JOURNAL_TABLE, prune_rows
from tests._durable_helpers import clerk_with_refund as _clerk

BACKENDS = pytest.mark.parametrize("checkpointer_url", ["sqlite", "postgres"], indirect=True)


def _rows(url: str, thread_id: str) -> int:
    with open_checkpointer(url) as saver:
        if url.startswith("sqlite"):
            with saver.cursor() as cur:  # type: ignore[attr-defined]
                return int(cur.execute(f"SELECT count(*) FROM {JOURNAL_TABLE} WHERE "
                                       "thread_id = ?", (thread_id,)).fetchone()[0])
        with saver._cursor() as cur:  # type: ignore[attr-defined]
            return int(cur.execute(f"SELECT count(*) AS n FROM {JOURNAL_TABLE} WHERE "
                                   "thread_id = %s", (thread_id,)).fetchone()["n"])


@BACKENDS
def test_a_finished_run_leaves_no_journal_rows(checkpointer_url: str) -> None:
    ran: list[str] = []
    clerk, _ = _clerk(ran, approval=False)
    Runner.run_sync(clerk, "refund me", thread_id="f", checkpointer=checkpointer_url)
    assert ran == ["look order", "refund 5"]
    assert _rows(checkpointer_url, "f") == 0


@BACKENDS
def test_a_waiting_turn_keeps_its_rows_and_its_resume_replays_them(checkpointer_url: str
                                                                   ) -> None:
    ran: list[str] = []
    clerk, model = _clerk(ran, approval=True)
    waiting = Runner.run_sync(clerk, "refund me", thread_id="w", checkpointer=checkpointer_url)
    assert waiting.interrupted
    assert _rows(checkpointer_url, "w") == 4  # two model replies, the look-up, the approval check
    done = Runner.resume_sync(clerk, thread_id="w", decision=True,
                              checkpointer=checkpointer_url)
    assert done.final_output == "done"
    assert ran == ["look order", "refund 5"] and len(model.requests) == 3
    assert _rows(checkpointer_url, "w") == 0


@BACKENDS
def test_delete_thread_deletes_the_journal_rows(checkpointer_url: str) -> None:
    ran: list[str] = []
    clerk, _ = _clerk(ran, approval=True)
    for thread in ("d1", "d2"):
        clerk.model.reset()  # type: ignore[union-attr]
        Runner.run_sync(clerk, "refund me", thread_id=thread, checkpointer=checkpointer_url)
    assert _rows(checkpointer_url, "d1") == _rows(checkpointer_url, "d2") == 4
    with open_checkpointer(checkpointer_url) as saver:
        saver.delete_thread("d1")
    assert _rows(checkpointer_url, "d1") == 0
    assert _rows(checkpointer_url, "d2") == 4  # other threads keep theirs


@BACKENDS
async def test_async_delete_thread_deletes_the_journal_rows(checkpointer_url: str) -> None:
    ran: list[str] = []
    clerk, _ = _clerk(ran, approval=True)
    await Runner.run(clerk, "refund me", thread_id="a1", checkpointer=checkpointer_url)
    assert _rows(checkpointer_url, "a1") == 4
    async with aopen_checkpointer(checkpointer_url) as saver:
        await saver.adelete_thread("a1")
    assert _rows(checkpointer_url, "a1") == 0


def test_an_old_journal_table_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as conn:  # the table as the first release made it
        conn.execute(f"""CREATE TABLE {JOURNAL_TABLE} (thread_id TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL, task_id TEXT NOT NULL, seq INTEGER NOT NULL,
            kind TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, value BLOB,
            created REAL NOT NULL, PRIMARY KEY (thread_id, checkpoint_ns, task_id, seq))""")
        conn.execute(f"INSERT INTO {JOURNAL_TABLE} VALUES ('old', '', 't', 0, 'tool', 'x', "
                     "'null', NULL, 0)")
    conn.close()
    url = f"sqlite:///{path}"
    ran: list[str] = []
    clerk, _ = _clerk(ran, approval=True)
    Runner.run_sync(clerk, "refund me", thread_id="n", checkpointer=url)
    assert _rows(url, "n") == 4
    with open_checkpointer(url) as saver:
        assert prune_rows(saver, "old") == 0  # a row without its checkpoint is kept
        saver.delete_thread("old")
    assert _rows(url, "old") == 0


def test_rows_of_a_user_made_saver_are_pruned_too(tmp_path: Path) -> None:
    # a LangGraph SqliteSaver the user built: the journal works and is pruned at the end
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(tmp_path / "own.db", check_same_thread=False)
    try:
        saver: Any = SqliteSaver(conn)
        ran: list[str] = []
        clerk, _ = _clerk(ran, approval=False)
        Runner.run_sync(clerk, "refund me", thread_id="u", checkpointer=saver)
        count = conn.execute(f"SELECT count(*) FROM {JOURNAL_TABLE}").fetchone()[0]
        assert count == 0 and ran == ["look order", "refund 5"]
    finally:
        conn.close()


@BACKENDS
def test_a_graph_invoked_directly_keeps_only_its_last_turns_rows(checkpointer_url: str,
                                                                 tmp_path: Path) -> None:
    # no Runner, no lock, no run end to prune at: each turn prunes what no re-run can read
    from langchain_core.messages import HumanMessage

    from tests._crash import build

    pattern = build("sequential", str(tmp_path / "calls.log"))
    with open_checkpointer(checkpointer_url) as saver:
        graph = pattern.compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "d"}}
        for _ in range(2):
            out = graph.invoke({"messages": [HumanMessage("write")]}, config)
            assert out["final_output"] == "published (Editor, reply 1)"
            # the Editor's turn (reply, publish, reply); the Researcher's and Writer's and
            # the first run's rows are gone
            assert _rows(checkpointer_url, "d") == 3
        # those are left until the thread's next turn (or a Runner run) prunes them
        assert prune_rows(saver, "d") == 3
