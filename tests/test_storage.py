"""Checkpointers and stores by URL, on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import pickle
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, Interrupt, interrupt
from pydantic import BaseModel

from agentpatterns.errors import StorageError
from agentpatterns.storage import (
    aopen_checkpointer,
    aopen_store,
    checkpointer_for_graph,
    default_db_url,
    make_serde,
    open_checkpointer,
    open_store,
    store_for_graph,
)

# --------------------------------------------------------------------------- a tiny graph


class State(TypedDict, total=False):
    log: list[str]
    messages: list[Any]
    payload: Any


def first(state: State) -> State:
    return {
        "log": [*state.get("log", []), "first"],
        "messages": [HumanMessage("hi"), AIMessage("hello from first")],
    }


def second(state: State) -> State:
    return {"log": [*state["log"], "second"]}


def tiny_graph() -> StateGraph:
    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder


def config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def fd_count() -> int:
    # garbage of earlier tests (an unclosed HTTP client, say) is collected first, so its
    # descriptors close now and not in the middle of a measurement
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sqlite_url(path: Path) -> str:
    return "sqlite:///" + str(path)


# --------------------------------------------------------------------------- round trips


def test_run_is_read_back_through_a_second_open(checkpointer_url: str) -> None:
    with open_checkpointer(checkpointer_url) as saver:
        assert isinstance(saver, BaseCheckpointSaver)
        out = tiny_graph().compile(checkpointer=saver).invoke({"log": []}, config("t1"))
        assert out["log"] == ["first", "second"]

    with open_checkpointer(checkpointer_url) as saver:
        graph = tiny_graph().compile(checkpointer=saver)
        snapshot = graph.get_state(config("t1"))
        assert snapshot.values["log"] == ["first", "second"]
        # messages come back as message objects: they are on the allow-list
        assert [type(m) for m in snapshot.values["messages"]] == [HumanMessage, AIMessage]
        assert snapshot.next == ()
        assert len(list(graph.get_state_history(config("t1")))) >= 3
        assert graph.get_state(config("other-thread")).values == {}


async def test_async_run_is_read_back_through_a_second_open(checkpointer_url: str) -> None:
    async with aopen_checkpointer(checkpointer_url) as saver:
        graph = tiny_graph().compile(checkpointer=saver)
        out = await graph.ainvoke({"log": []}, config("a1"))
        assert out["log"] == ["first", "second"]

    async with aopen_checkpointer(checkpointer_url) as saver:
        snapshot = await tiny_graph().compile(checkpointer=saver).aget_state(config("a1"))
        assert snapshot.values["log"] == ["first", "second"]

    # what the async saver wrote, the sync one reads
    with open_checkpointer(checkpointer_url) as saver:
        snapshot = tiny_graph().compile(checkpointer=saver).get_state(config("a1"))
        assert snapshot.values["log"] == ["first", "second"]


def _approval_graph() -> StateGraph:
    def plan(state: State) -> State:
        return {"log": ["planned"]}

    def approve(state: State) -> State:
        decision = interrupt({"plan": "book a table", "question": "approve?"})
        return {"log": [*state["log"], f"decision={decision['approved']}"]}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("approve", approve)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approve")
    builder.add_edge("approve", END)
    return builder


def test_an_interrupted_run_resumes_through_a_second_open(checkpointer_url: str) -> None:
    with open_checkpointer(checkpointer_url) as saver:
        graph = _approval_graph().compile(checkpointer=saver)
        graph.invoke({}, config("hitl"))
        assert graph.get_state(config("hitl")).next == ("approve",)

    with open_checkpointer(checkpointer_url) as saver:
        graph = _approval_graph().compile(checkpointer=saver)
        snapshot = graph.get_state(config("hitl"))
        (pending,) = snapshot.interrupts
        assert isinstance(pending, Interrupt)  # langgraph.types.Interrupt is rebuilt
        assert pending.value["plan"] == "book a table"
        out = graph.invoke(Command(resume={"approved": True}), config("hitl"))
        assert out["log"] == ["planned", "decision=True"]


def test_store_round_trip(checkpointer_url: str) -> None:
    # a store and a checkpointer share one URL (one file, one database) without clashing
    with open_store(checkpointer_url) as store, open_checkpointer(checkpointer_url) as saver:
        assert isinstance(store, BaseStore)
        store.put(("users", "ada"), "prefs", {"tone": "brief", "n": 3})
        tiny_graph().compile(checkpointer=saver, store=store).invoke({"log": []}, config("s"))
    with open_store(checkpointer_url) as store:
        item = store.get(("users", "ada"), "prefs")
        assert item is not None and item.value == {"tone": "brief", "n": 3}
        assert store.get(("users", "bob"), "prefs") is None


async def test_async_store_round_trip(checkpointer_url: str) -> None:
    async with aopen_store(checkpointer_url) as store:
        await store.aput(("notes",), "k", {"text": "remember me"})
    async with aopen_store(checkpointer_url) as store:
        item = await store.aget(("notes",), "k")
        assert item is not None and item.value == {"text": "remember me"}


def test_memory_is_one_saver_per_process_and_names_separate_them() -> None:
    with open_checkpointer() as a, open_checkpointer("memory") as b:
        assert a is b and isinstance(a, InMemorySaver)
    with open_checkpointer("memory://x") as x, open_checkpointer("memory://x") as x2:
        assert x is x2 and x is not a
    with open_store() as s, open_store("memory") as s2, open_store("memory://other") as s3:
        assert s is s2 and s3 is not s


def test_a_memory_run_is_resumable_by_a_later_open_in_the_same_process() -> None:
    with open_checkpointer() as saver:
        tiny_graph().compile(checkpointer=saver).invoke({"log": []}, config("mem-shared"))
    with open_checkpointer("memory") as saver:
        values = tiny_graph().compile(checkpointer=saver).get_state(config("mem-shared")).values
        assert values["log"] == ["first", "second"]


def test_objects_are_passed_through_and_left_open(tmp_path: Path) -> None:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.store.memory import InMemoryStore

    conn = sqlite3.connect(tmp_path / "mine.db", check_same_thread=False)
    mine = SqliteSaver(conn)
    with open_checkpointer(mine) as saver:
        assert saver is mine
    conn.execute("SELECT 1")  # still open: we did not own it
    conn.close()
    store = InMemoryStore()
    with open_store(store) as opened:
        assert opened is store


async def test_async_objects_are_passed_through() -> None:
    saver = InMemorySaver()
    async with aopen_checkpointer(saver) as opened:
        assert opened is saver


def test_sqlite_creates_parent_folders_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "runs.db"
    with open_checkpointer(sqlite_url(path)) as saver:
        assert saver.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert saver.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert path.is_file()


def test_four_slash_and_relative_sqlite_urls(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    with open_checkpointer("sqlite:///rel/runs.db"):
        pass
    assert (tmp_path / "rel" / "runs.db").is_file()
    absolute = tmp_path / "abs.db"
    with open_checkpointer("sqlite:///" + str(absolute)) as saver:  # "sqlite:////tmp/..."
        assert Path(saver.conn.execute("PRAGMA database_list").fetchone()[2]) == absolute


def test_default_db_url_is_lazy(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    url = default_db_url()
    assert url == "sqlite:///" + str(tmp_path / ".agentpatterns" / "runs.db")
    assert url.startswith("sqlite:////")
    assert not (tmp_path / ".agentpatterns").exists()
    with open_checkpointer(url):
        pass
    assert (tmp_path / ".agentpatterns" / "runs.db").is_file()


def _writer(url: str, name: str, start: Any) -> None:
    start.wait(timeout=30)  # all writers begin together, so their writes really overlap
    with open_checkpointer(url) as saver:
        graph = tiny_graph().compile(checkpointer=saver)
        for i in range(25):
            graph.invoke({"log": []}, config(f"{name}-{i}"))


@pytest.mark.skipif(sys.platform != "linux", reason="forks the test process")
def test_several_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "shared.db")
    ctx = multiprocessing.get_context("fork")  # children inherit the imports: fast start
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(url, f"p{n}", start)) for n in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    with open_checkpointer(url) as saver:
        threads = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
    assert len(threads) == 4 * 25


# --------------------------------------------------------------------------- safe failure


def snapshot_dir(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize(
    "content",
    [b"just some notes\nnot a database\n", os.urandom(8192)],
    ids=["text", "random-bytes"],
)
@pytest.mark.parametrize("opener", ["checkpointer", "store"])
def test_a_file_that_is_not_sqlite_is_refused_and_untouched(
    tmp_path: Path, content: bytes, opener: str
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    before = snapshot_dir(tmp_path)
    open_ = open_checkpointer if opener == "checkpointer" else open_store
    with pytest.raises(StorageError, match="not a SQLite database") as info:
        with open_(sqlite_url(path)):
            pass
    assert str(path) in str(info.value)
    assert snapshot_dir(tmp_path) == before  # same bytes, and no -wal/-shm/-journal files


async def test_async_open_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(StorageError, match="not a SQLite database"):
        async with aopen_checkpointer(sqlite_url(path)):
            pass
    assert snapshot_dir(tmp_path) == {"notes.txt": b"hello"}


def corrupt_files(tmp_path: Path) -> dict[str, Path]:
    real = tmp_path / "real.sqlite"
    conn = sqlite3.connect(real)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(2000)])
    conn.commit()
    conn.close()
    data = real.read_bytes()
    real.unlink()
    files = {
        "header-then-garbage": b"SQLite format 3\x00" + os.urandom(4096),
        "page-one-damaged": data[:100] + os.urandom(len(data) - 100),
        "truncated": data[:60],
    }
    paths = {}
    for name, blob in files.items():
        paths[name] = tmp_path / f"{name}.db"
        paths[name].write_bytes(blob)
    return paths


@pytest.mark.parametrize("kind", ["header-then-garbage", "page-one-damaged", "truncated"])
def test_a_corrupt_sqlite_file_is_refused_and_untouched(tmp_path: Path, kind: str) -> None:
    path = corrupt_files(tmp_path)[kind]
    before = snapshot_dir(tmp_path)
    with pytest.raises(StorageError, match="not a usable SQLite database") as info:
        with open_checkpointer(sqlite_url(path)):
            pass
    assert str(path) in str(info.value)
    assert snapshot_dir(tmp_path) == before


async def test_async_open_refuses_a_corrupt_sqlite_file(tmp_path: Path) -> None:
    path = corrupt_files(tmp_path)["header-then-garbage"]
    before = snapshot_dir(tmp_path)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        async with aopen_store(sqlite_url(path)):
            pass
    assert snapshot_dir(tmp_path) == before


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory") as info:
        with open_checkpointer(sqlite_url(tmp_path)):
            pass
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("wal", [True, False], ids=["wal-db", "rollback-journal-db"])
def test_a_locked_database_fails_fast_with_a_clear_error(tmp_path: Path, wal: bool) -> None:
    path = tmp_path / "busy.db"
    if wal:
        with open_checkpointer(sqlite_url(path)):
            pass
    else:
        with open_checkpointer(sqlite_url(path)):
            pass
        sqlite3.connect(path).execute("PRAGMA journal_mode = DELETE").connection.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="is locked") as info:
            with open_checkpointer(sqlite_url(path), timeout=0.5):
                pass
        elapsed = time.monotonic() - started
        assert 0.4 < elapsed < 3
        assert str(path) in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_checkpointer(sqlite_url(path), timeout=0.5):  # free again: opens fine
        pass


async def test_async_open_of_a_locked_database_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    async with aopen_checkpointer(sqlite_url(path)):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="is locked"):
            async with aopen_checkpointer(sqlite_url(path), timeout=0.5):
                pass
        assert time.monotonic() - started < 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("opener", [open_checkpointer, open_store])
def test_unreachable_postgres_fails_fast_and_hides_the_password(opener: Any) -> None:
    url = f"postgresql://someone:s3cret@127.0.0.1:{free_port()}/nowhere"
    started = time.monotonic()
    with pytest.raises(StorageError, match="cannot connect to PostgreSQL") as info:
        with opener(url, timeout=2):
            pass
    assert time.monotonic() - started < 3
    message = str(info.value)
    assert "127.0.0.1" in message and "s3cret" not in message
    assert "\n" not in message


async def test_async_unreachable_postgres_fails_fast() -> None:
    url = f"postgres://someone@127.0.0.1:{free_port()}/nowhere"
    started = time.monotonic()
    with pytest.raises(StorageError, match="cannot connect to PostgreSQL"):
        async with aopen_checkpointer(url, timeout=2):
            pass
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("redis://localhost", "unsupported checkpointer URL 'redis://localhost'"),
        ("runs.db", "unsupported checkpointer URL 'runs.db'"),
        ("sqlite://runs.db", "sqlite:///runs.db"),
        ("sqlite:///", "names no file"),
        (42, "unsupported checkpointer 42"),
    ],
)
def test_unknown_specs_are_refused_at_call_time(spec: Any, needle: str) -> None:
    with pytest.raises(StorageError) as info:
        open_checkpointer(spec)  # before any `with`
    assert needle in str(info.value)
    assert "postgresql://" in str(info.value) or "sqlite:///" in str(info.value)


def test_a_store_is_not_a_checkpointer() -> None:
    from langgraph.store.memory import InMemoryStore

    with pytest.raises(StorageError, match="BaseCheckpointSaver"):
        open_checkpointer(InMemoryStore())  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="BaseStore"):
        open_store(InMemorySaver())  # type: ignore[arg-type]


def test_missing_postgres_extra_names_the_install(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(ImportError, match=r"pip install 'agentpatterns\[postgres\]'"):
        with open_checkpointer("postgresql://u@127.0.0.1:1/db"):
            pass


# --------------------------------------------------------------------------- no leaks


def _cycle_sync(url: str, n: int) -> None:
    for _ in range(n):
        with open_checkpointer(url) as saver:
            saver.get_tuple(config("nothing"))
        with open_store(url) as store:
            store.get(("x",), "y")


async def _cycle_async(url: str, n: int) -> None:
    for _ in range(n):
        async with aopen_checkpointer(url) as saver:
            await saver.aget_tuple(config("nothing"))
        async with aopen_store(url) as store:
            await store.aget(("x",), "y")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_no_file_descriptors_leak_over_50_cycles(checkpointer_url: str) -> None:
    _cycle_sync(checkpointer_url, 1)  # warm up: lazy imports, one-time setup
    before = fd_count()
    _cycle_sync(checkpointer_url, 50)
    assert fd_count() == before


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
async def test_no_file_descriptors_leak_over_50_async_cycles(checkpointer_url: str) -> None:
    await _cycle_async(checkpointer_url, 1)
    before = fd_count()
    await _cycle_async(checkpointer_url, 50)
    assert fd_count() == before


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_errors_in_the_block_propagate_and_still_close(checkpointer_url: str) -> None:
    _cycle_sync(checkpointer_url, 1)
    before = fd_count()
    for _ in range(5):
        with pytest.raises(KeyError, match="from the body"):
            with open_checkpointer(checkpointer_url), open_store(checkpointer_url):
                raise KeyError("from the body")  # not turned into a StorageError
    assert fd_count() == before


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_failed_opens_leak_nothing(tmp_path: Path) -> None:
    bad = corrupt_files(tmp_path)["header-then-garbage"]
    unreachable = f"postgresql://u@127.0.0.1:{free_port()}/db"
    for _ in range(2):  # warm up
        for url in (sqlite_url(bad), unreachable):
            with pytest.raises(StorageError), open_checkpointer(url, timeout=1):
                pass
    before = fd_count()
    for _ in range(50):
        for url in (sqlite_url(bad), unreachable):
            with pytest.raises(StorageError), open_checkpointer(url, timeout=1):
                pass
    assert fd_count() == before


# --------------------------------------------------------------------------- serializer


class Escape:
    """Unpickling this creates a folder: proof that pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


class Secretive(BaseModel):
    code: str


@dataclasses.dataclass
class Note:
    text: str


def test_serde_never_pickles(tmp_path: Path) -> None:
    serde = make_serde()
    assert serde.pickle_fallback is False  # type: ignore[attr-defined]
    # writing: what msgpack cannot encode is an error, not a pickle
    with pytest.raises(TypeError, match="not msgpack serializable"):
        serde.dumps_typed(object())
    # reading: a row tagged "pickle" is refused, and its payload never runs
    marker = tmp_path / "pwned"
    with pytest.raises(NotImplementedError, match="pickle"):
        serde.loads_typed(("pickle", pickle.dumps(Escape(marker))))
    assert not marker.exists()


def test_classes_off_the_allow_list_come_back_as_plain_data() -> None:
    serde = make_serde()
    for value, data in [(Secretive(code="x"), {"code": "x"}), (Note(text="t"), {"text": "t"})]:
        assert serde.loads_typed(serde.dumps_typed(value)) == data
    message = AIMessage("hi", tool_calls=[{"name": "t", "args": {"a": 1}, "id": "c1"}])
    assert serde.loads_typed(serde.dumps_typed(message)) == message
    widened = make_serde(allowed_types=[Secretive])
    assert widened.loads_typed(widened.dumps_typed(Secretive(code="x"))) == Secretive(code="x")


def _payload_graph() -> StateGraph:
    builder = StateGraph(State)
    builder.add_node("put", lambda state: {"payload": Secretive(code="c")})
    builder.add_edge(START, "put")
    builder.add_edge("put", END)
    return builder


def test_a_stored_checkpoint_is_not_unpickled_or_rebuilt_off_list(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "runs.db")
    with open_checkpointer(url) as saver:
        _payload_graph().compile(checkpointer=saver).invoke({}, config("p"))
    with open_checkpointer(url) as saver:
        payload = _payload_graph().compile(checkpointer=saver).get_state(config("p")).values
        assert payload["payload"] == {"code": "c"}  # its fields, the class never called

    # someone with write access plants a pickle in the checkpoint row
    marker = tmp_path / "pwned"
    conn = sqlite3.connect(tmp_path / "runs.db")
    conn.execute(
        "UPDATE checkpoints SET type = 'pickle', checkpoint = ?",
        (pickle.dumps(Escape(marker)),),
    )
    conn.commit()
    conn.close()
    with open_checkpointer(url) as saver:  # one clear error naming the row, never a pickle
        with pytest.raises(StorageError, match="cannot be read .*pickle"):
            saver.get_tuple(config("p"))
    assert not marker.exists()


# --------------------------------------------------------------------------- graph lifetime


async def test_for_graph_keeps_one_backend_per_url_for_sync_and_async(
    checkpointer_url: str,
) -> None:
    saver = checkpointer_for_graph(checkpointer_url)
    assert checkpointer_for_graph(checkpointer_url) is saver
    assert checkpointer_for_graph(None) is None
    graph = tiny_graph().compile(checkpointer=saver)
    graph.invoke({"log": []}, config("g"))
    out = await graph.ainvoke({"log": []}, config("g2"))
    assert out["log"] == ["first", "second"]
    assert (await graph.aget_state(config("g"))).values["log"] == ["first", "second"]
    assert [s.config async for s in graph.aget_state_history(config("g2"))]
    store = store_for_graph(checkpointer_url)
    await store.aput(("ns",), "k", {"v": 1})
    item = store.get(("ns",), "k")
    assert item is not None and item.value == {"v": 1}
    with pytest.raises(StorageError):
        checkpointer_for_graph("nope://")
