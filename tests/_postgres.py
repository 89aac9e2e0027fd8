"""A real, throwaway PostgreSQL server for tests (a pytest plugin).

Register with ``pytest_plugins = ["tests._postgres"]``. It provides:

* ``postgres_url`` (session): starts a private cluster with ``initdb`` + ``pg_ctl`` in a
  temporary folder, listening on 127.0.0.1 only (its unix socket lives in that folder),
  and yields ``postgresql://USER@127.0.0.1:PORT/DBNAME?sslmode=disable``. The cluster is
  stopped (``pg_ctl stop -m immediate``) and the folder removed at the end of the session;
  a small watchdog process does the same if pytest dies without tearing down.
* ``checkpointer_url`` (function, parametrised ``memory`` / ``sqlite`` / ``postgres``): a
  fresh backend per test: a uniquely named in-memory saver, a new SQLite file, or a new
  PostgreSQL database (dropped afterwards). The same URLs work for stores.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` user if it exists, else ``nobody``, with a temporary folder that user owns.
The binaries are found on ``PATH`` or in ``/usr/lib/postgresql/*/bin``. Without them the
PostgreSQL tests are skipped, except when ``CI`` is set: there they fail, because CI must
test PostgreSQL. ``AGENTPATTERNS_TEST_POSTGRES_URL`` points the tests at an existing server
instead (its user must be allowed to create databases).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

__all__ = ["checkpointer_url", "find_postgres_bin", "postgres_url"]

_USER = "agentpatterns"
_DBNAME = "agentpatterns_test"
_RUN_AS = ("postgres", "nobody")
_db_counter = itertools.count(1)
_startup_seconds: list[float] = []  # how long the cluster took to start, for the report

# Runs detached from pytest; blocks until pytest closes the pipe (normally, or by dying).
_WATCHDOG = """
import os, shutil, subprocess, sys
pg_ctl, data, root, uid, gid = sys.argv[1:]
sys.stdin.buffer.read()
kw = {} if uid == "-" else {"user": int(uid), "group": int(gid), "extra_groups": []}
if os.path.isfile(os.path.join(data, "postmaster.pid")):
    subprocess.run([pg_ctl, "stop", "-D", data, "-m", "immediate", "-w", "-t", "30"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root, **kw)
shutil.rmtree(root, ignore_errors=True)
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (tests._postgres)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked here, not with pytest.param(marks=...): this module is imported before its
    # pytest_configure registers the marker, and --strict-markers would reject it.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("checkpointer_url") == "postgres":
            item.add_marker("postgres")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _startup_seconds:
        terminalreporter.write_line(
            f"tests._postgres: PostgreSQL cluster started in {_startup_seconds[0]:.2f}s"
        )


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _skip_or_fail(reason: str) -> None:
    if _ci():
        pytest.fail(f"{reason} (CI is set, so PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path)) or (0,)


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``.

    Looks at ``AGENTPATTERNS_PG_BINDIR``, then ``initdb`` on ``PATH`` (following symlinks,
    since Debian keeps the real binaries in a versioned folder), then the newest
    ``/usr/lib/postgresql/*/bin``.
    """
    candidates: list[Path] = []
    if os.environ.get("AGENTPATTERNS_PG_BINDIR"):
        candidates.append(Path(os.environ["AGENTPATTERNS_PG_BINDIR"]))
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)[::-1]
    ]
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


@dataclass(frozen=True, kw_only=True)
class _RunAs:
    """Who runs the server: ``uid``/``gid`` when we must drop root, else ``None``."""

    name: str
    uid: int | None
    gid: int | None

    def kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _run_as() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(name=pwd.getpwuid(os.geteuid()).pw_name, uid=None, gid=None)
    for name in _RUN_AS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    pytest.fail(
        "running as root and neither a 'postgres' nor a 'nobody' user exists to run "
        "PostgreSQL; create one (useradd --system postgres)",
        pytrace=False,
    )
    raise AssertionError  # unreachable: pytest.fail raises


def _traversable(folder: str) -> bool:
    """Whether every ancestor of ``folder`` lets any user through (o+x)."""
    path = Path(folder).resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(cmd: list[str], who: _RunAs, cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **who.kwargs()
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def _admin_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a private PostgreSQL server for this test session (see the module doc)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _skip_or_fail("psycopg is not installed; pip install 'agentpatterns[postgres]'")
    external = os.environ.get("AGENTPATTERNS_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    bindir = find_postgres_bin()
    if bindir is None:
        _skip_or_fail(
            "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install the 'postgresql' package"
        )
        return
    who = _run_as()
    base = tempfile.gettempdir()
    if who.uid is not None and not _traversable(base):
        base = "/tmp"  # the server user must be able to reach its folder
    root = Path(tempfile.mkdtemp(prefix="agentpatterns-pg-", dir=base))
    if who.uid is not None:
        os.chown(root, who.uid, who.gid or 0)
    data = root / "data"
    env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(root),
        "LC_ALL": "C",
        "LANG": "C",
    }
    watchdog = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WATCHDOG,
            str(bindir / "pg_ctl"),
            str(data),
            str(root),
            "-" if who.uid is None else str(who.uid),
            "-" if who.gid is None else str(who.gid),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so a Ctrl-C aimed at pytest does not skip the clean-up
    )
    started = time.monotonic()
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                _USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            who,
            root,
            env,
        )
        port = _start(bindir, data, root, who, env)
        admin = f"postgresql://{_USER}@127.0.0.1:{port}/postgres?sslmode=disable"
        with _admin_connect(admin) as conn:
            conn.execute(f'CREATE DATABASE "{_DBNAME}"')
        _startup_seconds.append(time.monotonic() - started)
        yield f"postgresql://{_USER}@127.0.0.1:{port}/{_DBNAME}?sslmode=disable"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w"],
                cwd=root,
                env=env,
                capture_output=True,
                timeout=60,
                **who.kwargs(),
            )
        shutil.rmtree(root, ignore_errors=True)
        assert watchdog.stdin is not None
        watchdog.stdin.close()
        watchdog.wait(timeout=60)


def _start(bindir: Path, data: Path, root: Path, who: _RunAs, env: dict[str, str]) -> int:
    """``pg_ctl start`` on a free port; retried, since another process may take the port."""
    log = root / "server.log"
    error: Exception | None = None
    for _ in range(3):
        port = _free_port()
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {root} "
            # durability is pointless for a throwaway cluster; speed is not
            "-F -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                ],
                who,
                root,
                env,
            )
            return port
        except RuntimeError as exc:
            error = exc
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"PostgreSQL did not start: {error}\n{tail}")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def fresh_database(server: str, name: str) -> Iterator[str]:
    """The URL of a new database ``name`` on ``server``, dropped afterwards."""
    with _admin_connect(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server, name)
    finally:
        with _admin_connect(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def checkpointer_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh checkpointer (or store) URL per test, for each backend."""
    if request.param == "memory":
        # a named saver of its own, so tests never see each other's threads
        yield f"memory://test-{uuid.uuid4().hex}"
    elif request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "checkpoints.db")
    else:
        server: str = request.getfixturevalue("postgres_url")
        with fresh_database(server, f"test_{os.getpid()}_{next(_db_counter)}") as url:
            yield url
