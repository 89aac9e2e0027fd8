"""A model API key given in code is redacted on the SDK runtime too (issue 12).

A key passed as ``api_key=`` (a ``ChatOpenAI``, an ``AsyncOpenAI`` client of an SDK model,
a LangChain model's ``SecretStr``) is in no environment variable and may have no known
shape (an Azure key is 32 hex digits). A server that echoes it in an error body must not get
it into the raised error (or its chain, which a traceback prints), the run's events, or any
file of a durable run - as on LangGraph (``tests/test_cli_mistakes.py``).
"""

from __future__ import annotations

import os
import sqlite3
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents")

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatResult
from pydantic import SecretStr

from agentpatterns import Agent, triage
from agentpatterns.errors import ModelCallError
from agentpatterns.examples import example
from tests._openai_server import ErrorReply, FakeOpenAIServer


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    # in no environment variable, and not shaped like a known key
    for name in [n for n in os.environ if "KEY" in n or "TOKEN" in n]:
        monkeypatch.delenv(name)
    return uuid.uuid4().hex


def _echo(server: FakeOpenAIServer, secret: str, status: int = 401) -> None:
    server.responder = lambda request: ErrorReply(  # type: ignore[assignment]
        status, f"Access denied due to invalid subscription key {secret}.",
        type="invalid_request_error", code=str(status))


def _files_with(folder: Path, secret: str) -> list[str]:
    for db in folder.glob("*.db"):
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    return [p.name for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def _assert_clean(exc: BaseException, secret: str) -> None:
    assert secret not in str(exc) and "***" in str(exc), str(exc)
    printed = "".join(traceback.format_exception(exc))  # the chain a traceback shows
    assert secret not in printed, printed


def _models(server: FakeOpenAIServer, secret: str) -> Iterator[tuple[str, Any]]:
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
    from langchain_openai import ChatOpenAI
    from openai import AsyncOpenAI

    yield "ChatOpenAI", ChatOpenAI(model="gpt-4.1-mini", base_url=server.base_url,
                                   api_key=secret, max_retries=0)  # type: ignore[arg-type]
    yield "ChatOpenAI (responses)", ChatOpenAI(
        model="gpt-4.1-mini", base_url=server.base_url, api_key=secret,  # type: ignore[arg-type]
        max_retries=0, use_responses_api=True)
    client = AsyncOpenAI(base_url=server.base_url, api_key=secret, max_retries=0)
    yield "OpenAIResponsesModel", OpenAIResponsesModel(model="gpt-4.1-mini",
                                                       openai_client=client)
    yield "OpenAIChatCompletionsModel", OpenAIChatCompletionsModel(model="gpt-4.1-mini",
                                                                   openai_client=client)


def test_a_key_given_in_code_and_echoed_by_a_401_is_neither_raised_nor_stored(
        openai_server: FakeOpenAIServer, secret: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from agentpatterns.adapters.openai_agents import run_sdk_sync
    from tests.test_cli_durable import cli

    _echo(openai_server, secret)
    for n, (name, model) in enumerate(_models(openai_server, secret)):
        with pytest.raises(ModelCallError) as info:  # durable: the journal, marker, session
            run_sdk_sync(example("triage"), "book a table", thread_id=f"t{n}", model=model,
                         checkpointer=f"sqlite:///{tmp_path / 'runs.db'}")
        _assert_clean(info.value, secret)
        assert type(info.value.__cause__).__name__ == "AuthenticationError", name
    assert _files_with(tmp_path, secret) == []
    for command in (("threads",), ("threads", "--json"), ("history", "--thread", "t0")):
        code, out, err = cli(capsys, *command, "--db", f"sqlite:///{tmp_path / 'runs.db'}")
        assert secret not in out + err, (command, out, err)
        assert code == 0 or command[0] == "history", (command, err)


async def test_a_key_on_an_agents_model_is_redacted_in_a_streamed_run(
        openai_server: FakeOpenAIServer, secret: str, tmp_path: Path) -> None:
    from agents import OpenAIResponsesModel
    from openai import AsyncOpenAI

    from agentpatterns.adapters.openai_agents import run_sdk_streamed

    _echo(openai_server, secret)
    client = AsyncOpenAI(base_url=openai_server.base_url, api_key=secret, max_retries=0)
    bot = Agent(name="Bot", instructions="Answer",
                model=OpenAIResponsesModel(model="gpt-4.1-mini", openai_client=client))
    with pytest.raises(ModelCallError) as info:
        async for _ in run_sdk_streamed(bot, "hello", thread_id="s",
                                        checkpointer=f"sqlite:///{tmp_path / 'runs.db'}"):
            pass
    _assert_clean(info.value, secret)
    assert _files_with(tmp_path, secret) == []


def test_a_retried_failure_echoing_the_key_leaves_it_out_of_the_events(
        openai_server: FakeOpenAIServer, secret: str) -> None:
    # a transient 500 is retried; the run finishes; its incident record names the error
    from langchain_openai import ChatOpenAI

    from agentpatterns.adapters.openai_agents import run_sdk_sync

    openai_server.script([ErrorReply(500, f"upstream said: bad key {secret}", type="server",
                                     retry=True),
                          "Hello there."])
    model = ChatOpenAI(model="gpt-4.1-mini", base_url=openai_server.base_url,
                       api_key=secret, max_retries=0)  # type: ignore[arg-type]
    result = run_sdk_sync(Agent(name="Bot", instructions="Answer"), "hello", model=model)
    assert result.final_output == "Hello there."
    retries = [e for e in result.events if e["type"] == "model_error_retry"]
    assert len(retries) == 1 and "***" in retries[0]["error"], result.events
    assert secret not in repr(result.events) and secret not in repr(result.values)


class _KeyedModel(BaseChatModel):
    """A LangChain chat model of another provider, holding its key as ``SecretStr``; its
    server refuses every call, echoing the key."""

    api_key: SecretStr

    @property
    def _llm_type(self) -> str:
        return "keyed-test"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise PermissionError(f"401: key {self.api_key.get_secret_value()} is not valid")


def test_a_langchain_models_secret_field_is_redacted_on_the_sdk_runtime(
        secret: str, tmp_path: Path) -> None:
    from agentpatterns.adapters.openai_agents import run_sdk_sync

    support = Agent(name="Support", instructions="Help", model=_KeyedModel(api_key=secret))
    pattern = triage(Agent(name="Router", instructions="Route", handoffs=[support],
                           model=_KeyedModel(api_key=SecretStr(secret))))
    with pytest.raises(ModelCallError) as info:
        run_sdk_sync(pattern, "help", thread_id="k",
                     checkpointer=f"sqlite:///{tmp_path / 'runs.db'}")
    _assert_clean(info.value, secret)
    assert _files_with(tmp_path, secret) == []
