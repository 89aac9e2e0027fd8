"""The built-in patterns on an existing engine: ``langgraph dev`` serving ``langgraph.json``.

The server is LangGraph's own (``langgraph-cli[inmem]``), started as a subprocess in the
repository root on a free loopback port, with telemetry off; the client is
``langgraph_sdk``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 45
# everything that could make the server or the SDK call home, switched off
QUIET_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    "LANGGRAPH_NO_VERSION_CHECK": "1",
    "DO_NOT_TRACK": "1",
    "AGENTPATTERNS_MODEL": "offline",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _langgraph_bin() -> str:
    candidate = Path(sys.executable).with_name("langgraph")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("langgraph")
    if found is None:
        pytest.skip("langgraph-cli is not installed; pip install 'langgraph-cli[inmem]'")
    return found


def _ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/ok", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``langgraph dev`` server on the repository's ``langgraph.json``; stopped at the end."""
    pytest.importorskip("langgraph_api", reason="pip install 'langgraph-cli[inmem]'")
    pytest.importorskip("langgraph_sdk")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("langgraph-dev") / "server.log"
    # the in-memory server keeps its state in ./.langgraph_api; remove it if we made it
    state_dir = ROOT / ".langgraph_api"
    had_state_dir = state_dir.exists()
    env = {**os.environ, **QUIET_ENV}
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        env.pop(key, None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [_langgraph_bin(), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so clean-up reaches every child
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _ready(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not start (exit {proc.poll()}):\n"
                            + log.read_text(errors="replace")[-3000:])
            time.sleep(0.25)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        if not had_state_dir:
            shutil.rmtree(state_dir, ignore_errors=True)


def _request(text: str) -> dict[str, Any]:
    return {"input": text, "messages": [{"role": "user", "content": text}]}


def test_langgraph_json_lists_the_nine_builtin_graphs():
    from agentpatterns import server_graphs
    from agentpatterns.examples import EXAMPLES

    config = json.loads((ROOT / "langgraph.json").read_text())
    assert set(config["graphs"]) == set(EXAMPLES)
    for name, spec in config["graphs"].items():
        path, _, attr = spec.partition(":")
        assert attr == name
        assert (ROOT / path).resolve() == Path(server_graphs.__file__).resolve()
        graph = getattr(server_graphs, attr)
        assert graph.checkpointer is None  # the server brings its own


def test_triage_runs_on_the_langgraph_server(server_url):
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server_url, api_key=None)
    assert {a["graph_id"] for a in client.assistants.search(limit=20)} >= {"triage",
                                                                           "human_approval"}
    thread = client.threads.create()
    state = client.runs.wait(thread["thread_id"], "triage",
                             input=_request("I need to book a table for two tonight"))
    assert state["path"] == ["Triage Agent", "Booking Agent"]
    assert state["last_agent"] == "Booking Agent"
    assert state["final_output"].startswith("[Booking Agent]")
    assert state["handoffs"][0]["from"] == "Triage Agent"
    # the server checkpointed the run under its thread
    saved = client.threads.get_state(thread["thread_id"])
    assert saved["values"]["path"] == ["Triage Agent", "Booking Agent"]
    assert saved["next"] == []


def test_human_approval_interrupts_and_resumes_on_the_server(server_url):
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server_url, api_key=None)
    thread = client.threads.create()
    tid = thread["thread_id"]
    first = client.runs.wait(tid, "human_approval",
                             input=_request("Migrate the customer database to PostgreSQL"))
    assert first["path"] == ["Planner"]
    waiting = client.threads.get_state(tid)
    assert waiting["next"] == ["approval"]
    interrupts = [i for task in waiting["tasks"] for i in task.get("interrupts", [])]
    assert interrupts and "plan" in interrupts[0]["value"]
    assert client.threads.get(tid)["status"] == "interrupted"

    done = client.runs.wait(tid, "human_approval", command={"resume": True})
    assert done["path"] == ["Planner", "Executor"]
    assert done["decision"]["approved"] is True
    assert done["final_output"].startswith("[Executor] execution report")
    assert client.threads.get(tid)["status"] == "idle"
