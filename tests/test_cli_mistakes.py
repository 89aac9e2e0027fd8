"""User mistakes and hostile inputs on the command line: one redacted line, exit 2.

Secrets (API keys from the environment, ``sk-...`` shapes, ``user:pass@`` in URLs) never
reach the output, an error message or a stored ``__error__`` write; a pattern factory that
exits is reported; undecodable arguments and unusable paths are one clear line.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from agentpatterns import Runner
from agentpatterns.errors import ModelCallError
from agentpatterns.examples import example
from agentpatterns.redaction import redact
from tests._openai_server import ErrorReply
from tests.test_cli_durable import cli, one_line_error


def test_redact_hides_keys_urls_and_environment_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_TOKEN", "tok-1234567890")
    text = redact("key sk-proj-abcdefghijklmnop, url postgresql://bob:hunter2@db/x, "
                  "tok-1234567890, Authorization: Bearer abcdefghijkl")
    for secret in ("abcdefghijklmnop", "hunter2", "tok-1234567890", "Bearer abcdefghijkl"):
        assert secret not in text, text
    assert "postgresql://bob:***@db/x" in text


def _files_with(folder: Path, secret: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.is_file() and secret.encode() in p.read_bytes()]


def test_a_key_echoed_by_a_401_is_neither_raised_nor_stored(openai_server: object,
                                                            tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from langchain_openai import ChatOpenAI

    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    server: object = openai_server
    server.responder = lambda request: ErrorReply(  # type: ignore[attr-defined]
        401, f"Incorrect API key provided: {secret}", type="invalid_request_error",
        code="invalid_api_key")
    model = ChatOpenAI(model="gpt-4.1-mini", base_url=server.base_url,  # type: ignore[attr-defined]
                       api_key=secret, max_retries=0)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(ModelCallError) as info:
        Runner.run_sync(example("triage"), "book a table", thread_id="t", model=model,
                        checkpointer=db)
    assert secret not in str(info.value)
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        channels = {row[0] for row in conn.execute("SELECT channel FROM writes")}
    conn.close()
    assert "__error__" in channels
    assert _files_with(tmp_path, secret) == []


def test_a_factory_that_exits_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exits.py").write_text("import sys\ndef make():\n    sys.exit(0)\n")
    (tmp_path / "exits_at_import.py").write_text("import sys\nsys.exit(0)\n")
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    one_line_error(*cli(capsys, "run", "exits:make", "hello", "--db", db)[::2],
                   "raised SystemExit(0)")
    one_line_error(*cli(capsys, "run", "exits_at_import:x", "hello", "--db", db)[::2],
                   "called sys.exit(0)")


def test_bad_paths_and_arguments_are_one_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    bad_thread = b"t\xff".decode("utf-8", "surrogateescape")  # what a non-UTF-8 argv gives
    one_line_error(*cli(capsys, "run", "triage", "book", "--thread", bad_thread, "--db",
                        db)[::2], "not valid UTF-8")
    long_path = "sqlite:///" + str(tmp_path / ("x" * 300) / "runs.db")
    cases = [
        (("threads", "--db", long_path), "cannot be used"),
        (("run", "triage", "book", "--db", long_path), "cannot be used"),
        (("run", "triage", "book", "--db", "sqlite:///~nosuchuser/x.db"), "unknown user"),
        (("threads", "--db", "sqlite:///~nosuchuser/x.db"), "unknown user"),
        (("threads", "--db", "postgresql://u:pw@host:notaport/db"), "PostgreSQL"),
    ]
    for args, needle in cases:
        code, _, err = cli(capsys, *args)
        one_line_error(code, err, needle)
        assert ":pw@" not in err
    assert not os.path.exists(tmp_path / "runs.db")
