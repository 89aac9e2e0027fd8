"""Text summaries of a run (the CLI's per-agent table)."""

from __future__ import annotations

from typing import Any

__all__ = ["usage_table"]


def usage_table(result: Any) -> Any:
    """A rich ``Table`` of model calls and tokens per agent."""
    from rich.table import Table

    table = Table(title="Per agent", title_justify="left", show_edge=False)
    table.add_column("agent", style="cyan")
    table.add_column("model calls", justify="right")
    table.add_column("tokens in", justify="right")
    table.add_column("tokens out", justify="right")
    for agent, calls in result.calls.items():
        usage = result.usage.get(agent, {})
        table.add_row(agent, str(calls), str(usage.get("input", 0)), str(usage.get("output", 0)))
    table.add_row("[bold]total[/]", f"[bold]{result.model_calls}[/]",
                  str(sum(u.get("input", 0) for u in result.usage.values())),
                  str(sum(u.get("output", 0) for u in result.usage.values())))
    return table
