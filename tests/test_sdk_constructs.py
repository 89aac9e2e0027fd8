"""The construct table (docs/sdk-constructs.md) covers the installed SDK, field by field.

A new SDK field or parameter without a row fails here, so it cannot slip through unnoticed;
so does a row for something the SDK no longer has, and a status other than honoured /
refused (a refused row says why and what to do).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import agents
from agents.handoffs import Handoff
from agents.tool import FunctionTool

TABLE = Path(__file__).resolve().parents[1] / "docs" / "sdk-constructs.md"
ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \|(.*)\|$")


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]


def _params(fn: object, skip: tuple[str, ...] = ("self",)) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p not in skip]  # type: ignore[arg-type]


def expected() -> set[str]:
    """Every construct of the installed SDK the table must have a row for."""
    rows = {f"Agent.{n}" for n in _fields(agents.Agent)}
    rows |= {f"Handoff.{n}" for n in _fields(Handoff)}
    rows |= {f"handoff({n})" if n != "agent" else "handoff(agent)"
             for n in _params(agents.handoff)}
    rows |= {f"FunctionTool.{n}" for n in _fields(FunctionTool)}
    rows |= {f"function_tool({n})" for n in _params(agents.function_tool)}
    rows |= {f"as_tool({n})" for n in _params(agents.Agent.as_tool)}
    rows |= {f"ModelSettings.{n}" for n in _fields(agents.ModelSettings)}
    rows |= {f"RunConfig.{n}" for n in _fields(agents.RunConfig)}
    rows |= {f"Runner.run({n})" for n in _params(agents.Runner.run)}
    rows |= {f"InputGuardrail.{n}" for n in _fields(agents.InputGuardrail)}
    rows |= {f"OutputGuardrail.{n}" for n in _fields(agents.OutputGuardrail)}
    return rows


def table() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for line in TABLE.read_text().splitlines():
        match = ROW.match(line)
        if match:
            name, status, how = match.groups()
            assert name not in out, f"{name} has two rows"
            out[name] = (status, how.strip())
    return out


def test_every_sdk_construct_has_one_row_and_no_row_is_stale() -> None:
    rows = table()
    missing = sorted(expected() - set(rows))
    # a row for a field newer than the installed SDK says so ("since 0.24")
    stale = sorted(n for n in set(rows) - expected() if "since 0." not in rows[n][1])
    assert not missing, f"SDK constructs without a row in {TABLE.name}: {missing}"
    assert not stale, f"rows in {TABLE.name} for constructs the SDK no longer has: {stale}"


def test_every_row_is_honoured_or_refused_with_a_reason() -> None:
    for name, (status, how) in table().items():
        assert status in {"honoured", "refused"}, f"{name} is {status!r}: decide it"
        if status == "refused":
            assert how, f"refused row {name} gives no reason"


def test_the_refused_rows_of_model_settings_are_refused_at_import() -> None:
    import pytest

    from agentpatterns.adapters.openai_agents import from_sdk_agent
    from agentpatterns.errors import UnsupportedError

    values = {"truncation": "auto", "prompt_cache_retention": "24h", "include_usage": True,
              "response_include": ["reasoning.encrypted_content"], "preserve_raw_usage": True}
    refused = {n.split(".")[1] for n, (s, _) in table().items()
               if n.startswith("ModelSettings.") and s == "refused"}
    for name in sorted(refused & set(values)):
        agent = agents.Agent(name="Tuned", model_settings=agents.ModelSettings(
            **{name: values[name]}))
        with pytest.raises(UnsupportedError, match=name):
            from_sdk_agent(agent)
