"""Export discipline, docstring examples, and a cheap import."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import agentpatterns


def test_all_is_complete_and_importable():
    for name in agentpatterns.__all__:
        assert hasattr(agentpatterns, name), name
    public = {n for n in dir(agentpatterns) if not n.startswith("_")}
    modules = {m.name for m in pkgutil.iter_modules(agentpatterns.__path__)}
    assert public - set(agentpatterns.__all__) - modules == set()


def test_design_contract_names_exist():
    from agentpatterns import (  # noqa: F401
        Agent,
        OfflineModel,
        Pattern,
        Runner,
        RunResult,
        SQLiteSession,
        dynamic,
        from_agent,
        function_tool,
        hierarchical,
        human_approval,
        parallel,
        reflection,
        sequential,
        supervisor,
        triage,
    )


def test_errors_share_one_root_and_fitting_builtins():
    from agentpatterns import errors

    assert issubclass(errors.PatternError, ValueError)
    assert issubclass(errors.RunError, RuntimeError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), agentpatterns.AgentPatternsError)


DOC_MODULES = ["agentpatterns.nodes.agent", "agentpatterns.nodes.tools",
               "agentpatterns.nodes.handoff",
               "agentpatterns.nodes.offline", "agentpatterns.graphs.handoffs",
               "agentpatterns.graphs.hierarchical", "agentpatterns.graphs.supervisor",
               "agentpatterns.graphs.reflection", "agentpatterns.graphs.parallel",
               "agentpatterns.graphs.dynamic", "agentpatterns.graphs.memory",
               "agentpatterns.graphs.human_approval", "agentpatterns.run.session",
               "agentpatterns.adapters.networkx"]


@pytest.mark.parametrize("module", DOC_MODULES)
def test_docstring_examples_run(module, tmp_cwd):
    mod = importlib.import_module(module)
    failures, tried = doctest.testmod(mod, optionflags=doctest.ELLIPSIS, verbose=False)
    assert tried > 0, f"{module} has no examples"
    assert failures == 0


def test_import_is_lazy_about_heavy_optional_parts():
    code = ("import sys, agentpatterns; "
            "print(sorted(m for m in ('agents', 'psycopg', 'matplotlib', 'langchain_openai') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _python_blocks(heading: str) -> list[str]:
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [part.split("```", 1)[0] for part in section.split("```python\n")[1:]]


def test_readme_tour_and_sdk_examples_run_as_written(tmp_cwd):
    namespace: dict[str, object] = {}
    for block in [*_python_blocks("A 30-second tour"),
                  *_python_blocks("The same agents on the OpenAI Agents SDK")]:
        exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.path == ["Triage Agent", "Booking Agent"]  # type: ignore[attr-defined]
    assert (tmp_cwd / "runs.db").exists()
