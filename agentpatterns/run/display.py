"""A ``RunResult`` as HTML, for its notebook display (``RunResult._repr_html_``).

Plain HTML tables with inline styles (no scripts, no external CSS), so it renders the same
in JupyterLab, VS Code, nbviewer and GitHub; every value is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["result_html"]

_MAX_TEXT = 600
_CELL = "padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #e5e7eb"
_HEAD = _CELL + ";font-weight:600;color:#374151;white-space:nowrap"


def _text(value: Any, limit: int = _MAX_TEXT) -> str:
    if hasattr(value, "model_dump_json"):
        value = value.model_dump_json(indent=2)
    elif not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            value = repr(value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value)


def _row(head: str, body: str) -> str:
    return f'<tr><th style="{_HEAD}">{html.escape(head)}</th><td style="{_CELL}">{body}</td></tr>'


def _table(columns: list[str], rows: list[list[str]], caption: str) -> str:
    head = "".join(f'<th style="{_HEAD}">{html.escape(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>"
                   for row in rows)
    return (f'<table style="border-collapse:collapse;margin:4px 0">'
            f'<caption style="text-align:left;font-weight:600">{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _pre(text: str) -> str:
    return f'<pre style="margin:0;white-space:pre-wrap">{text}</pre>'


def result_html(result: Any) -> str:
    """The HTML of a ``RunResult``: a summary table, then per-agent, tool-call and incident
    tables (those with rows)."""
    route = " → ".join(html.escape(a) for a in result.path) or "-"
    rows = [_row("route", route)]
    if result.interrupted:
        info = result.interruption
        if isinstance(info, Mapping):
            what = "".join(f"<div><b>{html.escape(str(k))}</b>: {_text(v)}</div>"
                           for k, v in info.items())
        else:
            what = _text(info)
        rows.append(_row("waiting for a decision", what))
    else:
        by = f" <small>(from {html.escape(result.last_agent)})</small>" if result.last_agent else ""
        rows.append(_row("final output", _pre(_text(result.final_output)) + by))
    stopped = (result.values or {}).get("stopped")
    if isinstance(stopped, Mapping):
        rows.append(_row("stopped", _text(dict(stopped))))
    for handoff in result.handoffs:
        rows.append(_row("handoff", f"{html.escape(str(handoff.get('from')))} → "
                                    f"{html.escape(str(handoff.get('to')))} "
                                    f"<small>{_text(handoff.get('reason') or '', 120)}</small>"))
    rows.append(_row("model", html.escape(result.model or "-")))
    rows.append(_row("thread", f"<code>{html.escape(result.thread_id)}</code> "
                               f"<small>({html.escape(result.runtime)})</small>"))
    parts = [f'<table style="border-collapse:collapse">{"".join(rows)}</table>']
    agents = list(dict.fromkeys([*result.calls, *result.usage]))
    if agents:
        usage = result.usage
        lines = [[html.escape(a), str(result.calls.get(a, 0)),
                  str(usage.get(a, {}).get("input", 0)), str(usage.get(a, {}).get("output", 0))]
                 for a in agents]
        lines.append(["<b>total</b>", f"<b>{result.model_calls}</b>",
                      str(sum(u.get("input", 0) for u in usage.values())),
                      str(sum(u.get("output", 0) for u in usage.values()))])
        parts.append(_table(["agent", "model calls", "tokens in", "tokens out"], lines,
                            "Per agent"))
    if result.tool_calls:
        parts.append(_table(["agent", "tool", "arguments", "result"], [
            [html.escape(str(c.get("agent"))), f"<code>{html.escape(str(c.get('tool')))}</code>",
             _text(c.get("args"), 200), _text(c.get("result"), 200)]
            for c in result.tool_calls], f"Tool calls ({len(result.tool_calls)})"))
    if result.events:
        parts.append(_table(["incident", "detail"], [
            [html.escape(str(e.get("type"))), _text({k: v for k, v in e.items() if k != "type"})]
            for e in result.events], "Recorded incidents"))
    return '<div class="agentpatterns-run-result">' + "".join(parts) + "</div>"
