"""LangGraph's checkpointer conformance suite against the savers ``storage`` opens by URL.

``langgraph-checkpoint-conformance`` drives a saver through its async API (``aput``,
``aput_writes``, ``aget_tuple``, ``alist``, ``adelete_thread`` and, when a saver overrides
them, ``acopy_thread``, ``adelete_for_runs``, ``aprune``). It is run on the async savers of
``aopen_checkpointer`` and on the sync savers ``checkpointer_for_graph`` keeps for compiled
graphs (whose async methods run the sync ones in a worker thread), for SQLite and
PostgreSQL, each capability suite on a fresh file or database.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

conformance = pytest.importorskip(
    "langgraph.checkpoint.conformance", reason="pip install langgraph-checkpoint-conformance")

from agentpatterns.storage import aopen_checkpointer, checkpointer_for_graph  # noqa: E402

BASE = ("put", "put_writes", "get_tuple", "list", "delete_thread")
_counter = itertools.count(1)


def _sqlite_urls(tmp_path: Path) -> Callable[[], str]:
    return lambda: "sqlite:///" + str(tmp_path / f"conformance-{next(_counter)}.db")


def _postgres_urls(server: str) -> Callable[[], str]:
    import psycopg

    from tests._postgres import _with_database

    def fresh() -> str:
        name = f"conformance_{os.getpid()}_{next(_counter)}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return _with_database(server, name)

    return fresh


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A function giving a new, empty database URL of the backend on each call."""
    if request.param == "sqlite":
        return _sqlite_urls(tmp_path)
    request.applymarker(pytest.mark.postgres)
    return _postgres_urls(request.getfixturevalue("postgres_url"))


def _registered(name: str, factory: Callable[[], AsyncIterator[Any]]) -> Any:
    return conformance.checkpointer_test(name=name)(factory)


def _failures(report: Any, capabilities: tuple[str, ...]) -> dict[str, Any]:
    return {cap: report.results[cap].failures for cap in capabilities
            if report.results[cap].passed is not True}


async def test_async_savers_pass_the_conformance_suite(fresh_url):
    async def factory() -> AsyncIterator[Any]:
        async with aopen_checkpointer(fresh_url()) as saver:
            yield saver

    report = await conformance.validate(_registered("aopen_checkpointer", factory))
    assert _failures(report, BASE) == {}
    # extended capabilities are either not offered or pass
    extended = [cap for cap, res in report.results.items() if res.detected and cap not in BASE]
    assert _failures(report, tuple(extended)) == {}


async def test_graph_savers_pass_the_base_conformance_suite(fresh_url):
    async def factory() -> AsyncIterator[Any]:
        yield checkpointer_for_graph(fresh_url())

    report = await conformance.validate(_registered("checkpointer_for_graph", factory),
                                        capabilities=set(BASE))
    assert _failures(report, BASE) == {}


async def test_graph_savers_offer_only_extended_capabilities_they_have(fresh_url):
    async def factory() -> AsyncIterator[Any]:
        yield checkpointer_for_graph(fresh_url())

    extended = ("copy_thread", "delete_for_runs", "prune")
    report = await conformance.validate(_registered("checkpointer_for_graph", factory),
                                        capabilities=set(extended))
    offered = tuple(cap for cap in extended if report.results[cap].detected)
    assert _failures(report, offered) == {}
