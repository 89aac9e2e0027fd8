"""Every notebook runs top to bottom on the offline model, in a fresh kernel of this venv.

The kernel is started from a kernel spec written for the test (``JUPYTER_PATH`` points at
it), so it is this interpreter - not whatever ``python3`` kernel the machine has installed.
Each notebook runs in its own empty working directory (SQLite files land there).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PATTERNS = [
    "triage",
    "sequential",
    "hierarchical",
    "supervisor",
    "reflection",
    "parallel",
    "dynamic",
    "memory",
    "human_approval",
]
CELL_TIMEOUT = 180


@pytest.fixture
def kernel(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``python3`` kernel spec that runs this interpreter, found first via JUPYTER_PATH."""
    base = tmp_path_factory.mktemp("jupyter")
    spec = base / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "agentpatterns (test)",
                "language": "python",
                # the kernel imports the package from this checkout, installed or not
                "env": {"PYTHONPATH": str(ROOT)},
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(base))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return "python3"


def _execute(nb: Any, kernel: str, cwd: Path) -> Any:
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}}
    )
    return client.execute()


def test_every_pattern_has_a_notebook() -> None:
    names = {p.stem for p in NOTEBOOKS}
    assert names == {*PATTERNS, "checkpoints", "sdk_parity", "compose", "quickstart"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_kernel_runs_this_interpreter(kernel: str, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell("import sys, os; print(sys.executable); print(os.getcwd())")
    )
    out = _execute(nb, kernel, tmp_path).cells[0].outputs[0]["text"].splitlines()
    assert Path(out[0]).resolve() == Path(sys.executable).resolve()
    assert Path(out[1]).resolve() == tmp_path.resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel: str, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    done = _execute(nb, kernel, tmp_path)  # raises CellExecutionError naming the failing cell
    outputs = [o for c in done.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if path.stem in PATTERNS or path.stem == "checkpoints":
        # the topology drawing is displayed, as SVG with the agents' names in it
        svgs = [o["data"]["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
        assert svgs, f"{path.name} displays no drawing"
        from agentpatterns.examples import example

        pattern = example("human_approval" if path.stem == "checkpoints" else path.stem)
        assert all(a.name in svgs[0] for a in pattern.agents)


def _texts(output: Any) -> str:
    data = output.get("data", {})
    return str(output.get("text", "")) + str(data.get("text/html", "")) + str(
        data.get("text/plain", ""))


def test_quickstart_shows_progress_results_drawings_and_plain_cli_output(
    kernel: str, tmp_path: Path
) -> None:
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    done = _execute(nb, kernel, tmp_path)

    def outputs(source_start: str) -> list[Any]:
        cell = next(c for c in done.cells if c.cell_type == "code"
                    and c.source.startswith(source_start))
        return list(cell.outputs)

    # live progress while the run goes: one displayed line per turn and tool call
    progress = "".join(_texts(o) for o in outputs('db = "sqlite:///quickstart.db"'))
    assert "Front Desk" in progress and "Orders Agent" in progress
    assert "track_order" in progress and "A1001" in progress
    # the result's notebook display: an HTML summary, not a 900-character line
    shown = next(c for c in done.cells if c.source == "result").outputs[0]
    html = shown["data"]["text/html"]
    assert 'class="agentpatterns-run-result"' in html and "Tool calls (1)" in html
    assert "Orders Agent" in html and "order A1001: shipped" in html
    assert len(shown["data"]["text/plain"]) < 260
    # draw(path=...) echoes the path, not the bytes
    path_out = _texts(outputs('p.draw(path="desk.svg")')[0])
    assert "desk.svg" in path_out and len(path_out) < 200
    assert (tmp_path / "desk.svg").read_bytes().startswith(b"<?xml") or b"<svg" in (
        tmp_path / "desk.svg").read_bytes()
    # the approval node's state in the drawings: waiting, then rejected after the fork
    svgs = [o["data"]["image/svg+xml"] for c in done.cells if c.cell_type == "code"
            for o in c.outputs if "image/svg+xml" in o.get("data", {})]
    assert any(">waiting<" in s for s in svgs) and any(">rejected<" in s for s in svgs)
    assert any(">called<" in s for s in svgs)  # the tool the run called
    # history and fork through the Python API: the fork is a new thread, waiting again
    steps = _texts(outputs('history = Runner.history("h1"')[0])
    assert "'Planner'" in steps and "asked for approval" in steps and "'Executor'" in steps
    assert "h1-fork" in _texts(outputs("at_approval = next(")[0])
    # the SDK runtime inside the kernel's running event loop, with the same live progress
    sdk_cell = outputs("from agentpatterns.adapters.openai_agents")
    sdk = "".join(_texts(o) for o in sdk_cell)
    assert "Front Desk" in sdk and "handoff" in sdk and "Orders Agent" in sdk
    assert "track_order" in sdk and "A1001" in sdk
    assert len(sdk_cell) > 2  # the progress lines, displayed one by one, then the value
    # `!python -m agentpatterns` in a cell: plain lines, no spinner escape codes
    cli = "".join(_texts(o) for o in outputs("import sys"))
    assert "h1-fork" in cli and "q1" in cli
    assert "\x1b[?25l" not in cli and "\x1b[2K" not in cli


def test_bang_agentpatterns_finds_the_console_script_of_the_kernels_venv(
    kernel: str, tmp_path: Path
) -> None:
    # a kernel started from the venv has the venv's bin on PATH (see the README)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import os, sys\n"
        "os.environ['PATH'] = os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']"))
    nb.cells.append(nbformat.v4.new_code_cell('!agentpatterns run triage "book a table"'))
    done = _execute(nb, kernel, tmp_path)
    text = "".join(_texts(o) for o in done.cells[1].outputs)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours are fine in a cell; a spinner is not
    assert "2. Booking Agent" in plain and "not found" not in plain
    assert "\x1b[?25l" not in text and "\x1b[2K" not in text  # no spinner in a cell
