"""``CheckpointSession``: an OpenAI Agents SDK ``Session`` stored in a LangGraph thread.

Mapping: the session *is* a LangGraph thread - ``session_id`` is the ``thread_id``, and the
conversation is the thread's ``messages`` channel, the very list the LangGraph runtime
reads and appends to. ``get_items`` converts the thread's messages to SDK input items
(human -> user message, AI -> assistant message plus ``function_call`` items, tool ->
``function_call_output``); ``add_items`` converts SDK items back to LangChain messages and
appends them with ``update_state`` (the ``add_messages`` reducer, as a node would), so a
conversation started on one runtime continues on the other, in the same checkpointer
(``memory``, ``sqlite:///file.db`` or PostgreSQL). ``pop_item`` and ``clear_session``
write ``RemoveMessage`` s. Only the conversation is shared; each runtime keeps its own
per-run bookkeeping (path, counters).

Private module of :mod:`agentpatterns.adapters.openai_agents` (it imports ``agents``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from agentpatterns.adapters.openai_agents.bridge import items_to_messages, messages_to_items
from agentpatterns.state import PatternState

__all__ = ["CheckpointSession"]

#: the node session writes are attributed to in the thread's history
WRITER = "openai_agents_session"


def _graph() -> StateGraph[Any]:
    graph = StateGraph(PatternState)
    graph.add_node(WRITER, lambda state: {})
    graph.add_edge(START, WRITER)
    graph.add_edge(WRITER, END)
    return graph


_GRAPH = _graph()
_COMPILED: dict[int, tuple[Any, Any]] = {}


def _compiled(saver: Any) -> Any:
    # compiling costs about a millisecond; reuse it per saver object
    hit = _COMPILED.get(id(saver))
    if hit is not None and hit[0] is saver:
        return hit[1]
    if len(_COMPILED) > 32:
        _COMPILED.clear()
    graph = _GRAPH.compile(checkpointer=saver)
    _COMPILED[id(saver)] = (saver, graph)
    return graph


class CheckpointSession:
    """An SDK ``Session`` over a LangGraph thread's messages (see the module docstring).

    Args:
        thread_id: The LangGraph thread (``agentpatterns.SQLiteSession(...).thread_id`` for a
            seed-style session). It is also the SDK ``session_id``.
        checkpointer: A saver object or URL (``memory`` default, ``sqlite:///file.db``,
            ``postgresql://...``) - the same one the LangGraph ``Runner`` is given.

    Example:
        >>> import asyncio
        >>> s = CheckpointSession("doc-session")
        >>> asyncio.run(s.add_items([{"role": "user", "content": "hi"}]))
        >>> asyncio.run(s.get_items())
        [{'role': 'user', 'content': 'hi'}]
    """

    session_settings: Any = None

    def __init__(self, thread_id: str, checkpointer: Any = None) -> None:
        if not isinstance(thread_id, str) or not thread_id:
            raise ValueError("CheckpointSession(thread_id=...) must be a non-empty string")
        self.session_id = thread_id
        self.thread_id = thread_id
        self.checkpointer = checkpointer

    def __repr__(self) -> str:
        return f"CheckpointSession({self.thread_id!r}, {self.checkpointer!r})"

    @property
    def _config(self) -> RunnableConfig:
        return {"configurable": {"thread_id": self.thread_id}}

    async def _messages(self) -> list[Any]:
        from agentpatterns.storage.kept import kept

        # a URL's saver is kept open for the process's later calls (storage.kept)
        with kept(self.checkpointer, "checkpointer") as saver:
            snapshot = await _compiled(saver).aget_state(self._config)
        values: Mapping[str, Any] = snapshot.values or {}
        return list(values.get("messages") or [])

    async def _write(self, messages: list[Any]) -> None:
        from agentpatterns.storage.kept import kept

        with kept(self.checkpointer, "checkpointer") as saver:
            await _compiled(saver).aupdate_state(self._config, {"messages": messages},
                                                 as_node=WRITER)

    async def get_items(self, limit: int | None = None) -> list[Any]:
        """The thread's conversation as SDK input items (the latest ``limit`` if given)."""
        items = messages_to_items(await self._messages())
        return items if limit is None else items[-limit:] if limit > 0 else []

    async def add_items(self, items: list[Any]) -> None:
        """Append SDK items to the thread's conversation."""
        messages = items_to_messages(None, list(items))
        if messages:
            await self._write(messages)

    async def pop_item(self) -> Any:
        """Remove and return the latest message (as SDK items; the last one is returned)."""
        messages = await self._messages()
        if not messages:
            return None
        last = messages[-1]
        await self._write([RemoveMessage(id=last.id)])
        items = messages_to_items([last])
        return items[-1] if items else None

    async def clear_session(self) -> None:
        """Forget the thread's conversation."""
        await self._write([RemoveMessage(id=REMOVE_ALL_MESSAGES)])


def facts_filter(store_spec: Any, user_id: str, request: str) -> Any:
    """A ``call_model_input_filter`` that puts the user's facts in front, as on LangGraph."""
    from agents.run_config import ModelInputData

    from agentpatterns.graphs.memory import _FACT, FACTS_NAMESPACE
    from agentpatterns.storage.kept import kept

    state: dict[str, list[str] | None] = {"facts": None}

    async def load() -> list[str]:
        with kept(store_spec, "store") as store:  # kept open for the process's later runs
            namespace = (*FACTS_NAMESPACE, user_id)
            if "?" not in request and _FACT.match(request):
                key = hashlib.sha256(request.strip().lower().encode()).hexdigest()[:16]
                await store.aput(namespace, key, {"text": request.strip()})
            items = await store.asearch(namespace, limit=100)
        return [i.value["text"] for i in sorted(items, key=lambda i: i.created_at)]

    async def add_facts(data: Any) -> ModelInputData:
        if state["facts"] is None:
            state["facts"] = await load()
        facts = state["facts"]
        if not facts:
            return data.model_data  # type: ignore[no-any-return]
        note = "Known facts about the user:\n" + "\n".join(f"- {f}" for f in facts)
        return ModelInputData(input=[{"role": "system", "content": note},
                                     *data.model_data.input],
                              instructions=data.model_data.instructions)

    return add_facts
