"""Every notebook runs top to bottom on the offline model, in a fresh kernel of this venv.

The kernel is started from a kernel spec written for the test (``JUPYTER_PATH`` points at
it), so it is this interpreter - not whatever ``python3`` kernel the machine has installed.
Each notebook runs in its own empty working directory (SQLite files land there).
"""

from __future__ import annotations

import json
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
    assert names == {*PATTERNS, "checkpoints", "sdk_parity", "compose"}


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
