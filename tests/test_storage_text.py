"""Any text a user or a model can produce is stored and comes back exactly (issue 12).

PostgreSQL's JSONB, where LangGraph's saver inlines string state values (and checkpoint
metadata), cannot hold ``\\u0000``, and on a database whose encoding is not UTF-8 it
cannot hold non-ASCII characters either. SQLite stores both. A run whose request, model
replies, tool results and state values carry such text must work on PostgreSQL exactly as
on SQLite: run, history, threads, resume, fork.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agentpatterns import Agent, Runner, function_tool, sequential
from agentpatterns.storage import open_checkpointer
from agentpatterns.testing import ScriptedModel, text, tool_call

BACKENDS = pytest.mark.parametrize("checkpointer_url", ["sqlite", "postgres"], indirect=True)

#: NUL, other control characters, non-ASCII, an emoji, a right-to-left mark.
ODD = "a\x00b\x01c\x1f é ñ 漢字 🦜 \u200f\x7f"


def _pattern() -> tuple[Any, ScriptedModel, list[str]]:
    got: list[str] = []

    @function_tool
    def echo(note: str) -> str:
        """Echo a note back.

        Args:
            note: The note.
        """
        got.append(note)
        return f"tool says {ODD} {note}"

    model = ScriptedModel([tool_call("echo", note=f"note {ODD}"), text(f"reply {ODD}"),
                           text(f"second reply {ODD}")])
    agent = Agent(name="Clerk", instructions=f"Help {ODD}", tools=[echo], model=model)
    return sequential([agent]), model, got


@BACKENDS
def test_odd_text_round_trips_in_run_history_threads_and_resume(checkpointer_url: str) -> None:
    pattern, model, got = _pattern()
    first = Runner.run_sync(pattern, f"request {ODD}", thread_id="t é 漢",
                            checkpointer=checkpointer_url)
    assert first.final_output == f"reply {ODD}"
    assert got == [f"note {ODD}"]
    # the model saw every piece exactly: request, the tool's result
    seen = [m.content for m in model.requests[1]["messages"]]
    assert f"request {ODD}" in seen and f"tool says {ODD} note {ODD}" in seen
    with open_checkpointer(checkpointer_url) as saver:
        graph = pattern.compile(checkpointer=saver)
        values = graph.get_state({"configurable": {"thread_id": first.thread_id}}).values
    assert values["final_output"] == f"reply {ODD}"
    assert values["messages"][0].content == f"request {ODD}"
    assert any(t.thread_id == first.thread_id for t in Runner.threads(checkpointer_url))
    steps = Runner.history(first.thread_id, checkpointer=checkpointer_url)
    assert [a for s in steps for a in s.agents] == ["Clerk"]
    # a second run on the thread reads the stored text back and adds more
    second = Runner.run_sync(pattern, f"more {ODD}", thread_id=first.thread_id,
                             checkpointer=checkpointer_url)
    assert second.final_output == f"second reply {ODD}"
    contents = [m.content for m in second.values["messages"] if isinstance(m, HumanMessage)]
    assert contents == [f"request {ODD}", f"more {ODD}"]
    fork = Runner.fork(first.thread_id, steps[-1].checkpoint_id, checkpointer=checkpointer_url)
    assert any(t.thread_id == fork for t in Runner.threads(checkpointer_url))


@BACKENDS
async def test_odd_text_round_trips_through_the_async_saver(checkpointer_url: str) -> None:
    pattern, _model, _got = _pattern()
    result = await Runner.run(pattern, f"request {ODD}", thread_id="a",
                              checkpointer=checkpointer_url)
    assert result.final_output == f"reply {ODD}"
    again = await Runner.run(pattern, f"more {ODD}", thread_id="a",
                             checkpointer=checkpointer_url)
    assert again.final_output == f"second reply {ODD}"


def test_non_ascii_text_on_a_database_that_is_not_utf8(postgres_url: str) -> None:
    # JSONB of a LATIN1 database takes no character beyond Latin-1 (nor NUL)
    from tests._postgres import _admin_connect, _with_database

    name = "test_latin1_text"
    with _admin_connect(postgres_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' "
                     "LC_CTYPE 'C' TEMPLATE template0")
    url = _with_database(postgres_url, name)
    try:
        pattern, _model, _got = _pattern()
        first = Runner.run_sync(pattern, f"request {ODD}", thread_id="s", checkpointer=url)
        assert first.final_output == f"reply {ODD}"
        second = Runner.run_sync(pattern, f"more {ODD}", thread_id="s", checkpointer=url)
        assert second.final_output == f"second reply {ODD}"
        assert [m.content for m in second.values["messages"] if isinstance(m, HumanMessage)
                ] == [f"request {ODD}", f"more {ODD}"]
    finally:
        with _admin_connect(postgres_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
