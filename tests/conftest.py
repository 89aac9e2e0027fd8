"""Shared fixtures: no test reaches the internet, and no real model key is ever used."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["tests._openai_server", "tests._postgres", "tests._llama_server"]

_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def _offline_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Unset model keys and refuse connections to anything but loopback or unix sockets."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTPATTERNS_MODEL", "OPENAI_MODEL",
                "OPENAI_COMPAT", "OPENAI_MAX_TOKENS", "OPENAI_TIMEOUT", "OPENAI_TEMPERATURE"):
        monkeypatch.delenv(var, raising=False)
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOOPBACK):
                raise OSError(f"test tried to reach {host}: tests must stay on 127.0.0.1")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture(autouse=True, scope="session")
def _state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The runs' local state (write-ahead effect logs) in a folder of this session, not in
    the user's home; subprocesses the tests start inherit it."""
    old = os.environ.get("AGENTPATTERNS_STATE_DIR")
    os.environ["AGENTPATTERNS_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("AGENTPATTERNS_STATE_DIR", None)
    else:
        os.environ["AGENTPATTERNS_STATE_DIR"] = old


@pytest.fixture
def tmp_cwd(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the test in an empty working directory (the CLI writes ./.agentpatterns there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
