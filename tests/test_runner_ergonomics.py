"""``Runner`` as a notebook user meets it: early model errors, LangGraph idioms, scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentpatterns import RunError, Runner
from agentpatterns.examples import example


def test_a_model_without_a_key_fails_before_any_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTPATTERNS_MODEL"):
        monkeypatch.delenv(var, raising=False)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(RunError, match="needs OPENAI_API_KEY"):
        Runner.run_sync(example("triage"), "book a table", model="gpt-4.1-mini",
                        thread_id="nokey", checkpointer=db)
    assert not (tmp_path / "runs.db").exists()  # nothing was opened, nothing is cut off
