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


def test_redact_hides_other_credential_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    # every example is one case of a rule: other providers' variables and key shapes,
    # credentials in headers, JSON bodies and query strings
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-" + "A" * 20)
    cases = {
        '{"error": {"message": "invalid subscription key 0123456789abcdef0123456789abcdef"}}':
            "0123456789abcdef",
        "x-api-key: sk-ant-api03-" + "A" * 20: "AAAAAAAA",
        "Authorization: Basic dXNlcjpodW50ZXIyMjI=": "dXNlcjpodW50ZXIyMjI",
        "Authorization: token ghp_" + "b" * 36: "bbbbbbbb",
        '{"api-key": "fedcba9876543210fedcba9876543210"}': "fedcba98765",
        "x-api-key: qwertyuiopasdfgh": "qwertyuiop",
        "GET https://host/v1?api_key=secretvalue123&x=1": "secretvalue123",
        "https://host/v1/models?key=AIzaSyA-1234567890abcdefghijklmnopqrstu": "AIzaSyA-1234",
        "access_token=abcdefghijklmnopq": "abcdefghijklmnopq",
        '{"password": "hunter2hunter2"}': "hunter2hunter2",
        "redis://:s3cr3tpass@cache:6379": "s3cr3tpass",
        "AKIAIOSFODNN7EXAMPLE": "AKIAIOSFODNN7EXAMPLE",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), (text, redact(text))
    for plain in ("the key to success is hard work", "use the token bucket",
                  "password reset link sent", "Error code=429 rate limited"):
        assert redact(plain) == plain


def test_a_key_given_in_code_and_echoed_by_a_401_is_neither_raised_nor_stored(
        openai_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an Azure-style key (no sk- shape) passed as api_key=, in no environment variable
    from langchain_openai import ChatOpenAI

    for name in [n for n in os.environ if "KEY" in n or "TOKEN" in n]:
        monkeypatch.delenv(name)
    secret = uuid.uuid4().hex
    server: object = openai_server
    server.responder = lambda request: ErrorReply(  # type: ignore[attr-defined]
        401, f"Access denied due to invalid subscription key {secret}.",
        type="invalid_request_error", code="401")
    model = ChatOpenAI(model="gpt-4.1-mini", base_url=server.base_url,  # type: ignore[attr-defined]
                       api_key=secret, max_retries=0)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(ModelCallError) as info:
        Runner.run_sync(example("triage"), "book a table", thread_id="t", model=model,
                        checkpointer=db)
    assert secret not in str(info.value) and "***" in str(info.value)
    chain: BaseException | None = info.value  # nor in the chain a printed traceback shows
    while chain is not None:
        assert secret not in str(chain), repr(chain)
        chain = chain.__cause__ or chain.__context__
    assert type(info.value.__cause__).__name__ == "OpenAIAuthenticationError"
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert _files_with(tmp_path, secret) == []


def test_keys_in_a_request_are_not_printed_by_run_history_or_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the user's text is stored as given; what the command line prints is redacted
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    bearer = "Authorization: Bearer " + uuid.uuid4().hex
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    request = f"migrate the db with key {secret} and {bearer}"
    outputs = [cli(capsys, "run", "human_approval", request, "--thread", "s1", "--db", db,
                   "--model", "offline")]
    outputs.append(cli(capsys, "history", "--thread", "s1", "--db", db))
    outputs.append(cli(capsys, "history", "--thread", "s1", "--db", db, "--json"))
    outputs.append(cli(capsys, "resume", "--thread", "s1", "--approve", "--db", db,
                       "--model", "offline"))
    for code, out, err in outputs:
        assert code == 0, err
        assert secret not in out + err and bearer not in out + err, out + err
    assert "***" in outputs[1][1]  # the request is shown, redacted


def test_a_fifo_socket_or_device_as_db_is_one_line_on_every_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a FIFO blocked every command forever; a device was opened as a database
    import socket

    from tests.test_cli_durable import subprocess_cli

    fifo, sock = tmp_path / "fifo.db", tmp_path / "sock.db"
    os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    commands = [("threads",), ("history", "--thread", "t"),
                ("run", "triage", "hi", "--thread", "t", "--model", "offline"),
                ("resume", "--thread", "t", "--model", "offline"),
                ("fork", "--thread", "t", "--checkpoint", "x")]
    try:
        for command in commands[:1] + commands[2:3]:  # in a child: a hang is a timeout
            done = subprocess_cli(*command, "--db", f"sqlite:///{fifo}")
            one_line_error(done.returncode, done.stderr, "is a FIFO", "left untouched")
        for path, what in ((sock, "is a socket"), (Path("/dev/null"), "is a device")):
            for command in commands:
                code, _, err = cli(capsys, *command, "--db", f"sqlite:///{path}")
                one_line_error(code, err, what)
    finally:
        server.close()
    assert fifo.is_fifo() and sock.is_socket()


def _crafted(tmp_path: Path, name: str, column: str, value: object,
             type_: str | None = None) -> Path:
    """A copy of a finished thread's database with every checkpoint row's ``column`` set."""
    import shutil

    path = tmp_path / f"{name}.db"
    shutil.copy(tmp_path / "good.db", path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE checkpoints SET {column} = ?", (value,))
        if type_ is not None:
            conn.execute("UPDATE checkpoints SET type = ?", (type_,))
    conn.close()
    return path


def test_crafted_checkpoint_rows_are_one_line_on_every_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # rows another program (or damage) wrote: metadata that is not an object or has fields
    # of other types, checkpoints that are not objects, unknown or garbage encodings -
    # every one printed a traceback from history/resume/fork (threads skipped some)
    import json

    good = f"sqlite:///{tmp_path / 'good.db'}"
    assert cli(capsys, "run", "triage", "book a table", "--thread", "t1", "--db", good,
               "--model", "offline")[0] == 0
    with sqlite3.connect(tmp_path / "good.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        metadata = json.loads(conn.execute("SELECT metadata FROM checkpoints").fetchone()[0])
    conn.close()
    crafted = [
        _crafted(tmp_path, "md-list", "metadata", b"[1, 2]"),
        _crafted(tmp_path, "md-number", "metadata", b"42"),
        _crafted(tmp_path, "md-garbage", "metadata", b"\xff\xfe not json"),
        _crafted(tmp_path, "ck-list", "checkpoint", b"[1, 2]", "json"),
        _crafted(tmp_path, "ck-garbage", "checkpoint", b"\xc1\xc1", "msgpack"),
        _crafted(tmp_path, "ck-null", "checkpoint", None, "msgpack"),
        _crafted(tmp_path, "ck-yaml", "checkpoint", b"a: 1", "yaml"),
    ]
    for field, bad in (("step", "abc"), ("source", 123), ("parents", "x")):
        crafted.append(_crafted(tmp_path, f"md-{field}", "metadata",
                                json.dumps({**metadata, field: bad}).encode()))
    for path in crafted:
        before = path.read_bytes()
        db = f"sqlite:///{path}"
        code, _, err = cli(capsys, "threads", "--db", db)
        assert code == 0 and "skipped" in err and len(err.strip().splitlines()) == 1, (
            path.name, err)
        for command in (("history", "--thread", "t1"),
                        ("resume", "--thread", "t1", "--model", "offline"),
                        ("fork", "--thread", "t1", "--checkpoint", "x")):
            code, _, err = cli(capsys, *command, "--db", db)
            one_line_error(code, err, "cannot be read", "left untouched")
        assert path.read_bytes() == before, path.name  # nothing written


@pytest.mark.parametrize("checkpointer_url", ["postgres"], indirect=True)
def test_crafted_postgres_rows_are_one_line(checkpointer_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    assert cli(capsys, "run", "triage", "book a table", "--thread", "t1", "--db",
               checkpointer_url, "--model", "offline")[0] == 0
    with psycopg.connect(checkpointer_url, autocommit=True) as conn:
        conn.execute("UPDATE checkpoints SET metadata = '[1, 2]'::jsonb")
    code, _, err = cli(capsys, "threads", "--db", checkpointer_url)
    assert code == 0 and "metadata is list" in err, err
    for command in (("history", "--thread", "t1"),
                    ("resume", "--thread", "t1", "--model", "offline")):
        one_line_error(*cli(capsys, *command, "--db", checkpointer_url)[::2],
                       "cannot be read", "metadata is list")


def test_a_pattern_name_a_row_records_is_shown_short_and_never_suggested_as_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    good = f"sqlite:///{tmp_path / 'good.db'}"
    assert cli(capsys, "run", "human_approval", "migrate", "--thread", "t1", "--db", good,
               "--model", "offline")[0] == 0
    with sqlite3.connect(tmp_path / "good.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        metadata = json.loads(conn.execute("SELECT metadata FROM checkpoints").fetchone()[0])
    conn.close()
    for name, recorded in (("huge", "x" * 1_000_000), ("dict", {"module": "os:abort"}),
                           ("nul", "triage\x00os:abort")):
        path = _crafted(tmp_path, name, "metadata",
                        json.dumps({**metadata, "agentpatterns_pattern": recorded}).encode())
        code, _, err = cli(capsys, "resume", "--thread", "t1", "--approve", "--db",
                           f"sqlite:///{path}")
        one_line_error(code, err, "not a built-in pattern", "--pattern NAME")
        assert len(err) < 500, len(err)


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
