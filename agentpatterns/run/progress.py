"""Live progress of a run: one line per agent turn, handoff, assignment and tool call.

The command line prints it in a terminal (with a spinner while the model works); in a
Jupyter notebook every run that returns a result shows the same lines as it goes, through
rich's Jupyter support (each line is displayed as it happens): ``Runner.run`` / ``run_sync``
/ ``resume`` / ``resume_sync`` and, on the SDK runtime, ``run_sdk`` / ``run_sdk_sync`` /
``resume_sdk`` / ``resume_sdk_sync``. Their ``progress=False`` turns it off;
``progress=True`` turns it on outside notebooks too (a terminal, a script).
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["ProgressPrinter", "in_notebook", "live_terminal", "progress_console", "shown"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (IPython's ``ZMQInteractiveShell``).

    Cheap when IPython was never imported: it is not looked up then.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def shown(progress: Any) -> bool:
    """Whether a run given ``progress=`` shows its progress (``None``: in a notebook only).

    Raises:
        InputError: ``progress`` is not ``None``, ``True`` or ``False``.
    """
    if progress is None:
        return in_notebook()
    if not isinstance(progress, bool):
        from agentpatterns.errors import InputError

        raise InputError(f"progress={progress!r}; pass True (show it), False (never) or None "
                         "(in a Jupyter notebook only)")
    return progress


def live_terminal(console: Any) -> bool:
    """Whether a spinner may redraw its line: stdout is a real terminal, not a pipe, a file,
    or the pseudo-terminal a notebook's ``!command`` runs in (whose cell would show the
    cursor codes raw; the kernel sets ``JPY_PARENT_PID`` for its children)."""
    try:
        tty = sys.stdout.isatty()
    except ValueError:  # closed
        return False
    return bool(tty and console.is_terminal and not console.is_dumb_terminal
                and "JPY_PARENT_PID" not in os.environ)


def progress_console() -> Any:
    """A rich ``Console`` for progress lines (in a notebook it displays them as HTML)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


class _NoStatus:
    """Stands in for rich's ``Status`` where no spinner is shown."""

    def update(self, message: str) -> None:
        """Nothing to redraw."""


class ProgressPrinter:
    """Prints a streamed run's events as they happen (see the module docstring).

    Lines: ``N. Agent`` when an agent starts, ``handoff A → B (why)``, ``assign → W: task``,
    tool calls and results, recorded incidents, a tripped guardrail. Reply tokens go to the
    spinner line (when there is one), not printed; the final output is not printed here.

    Args:
        console: A rich ``Console``.
        status: rich's ``Status`` (the spinner), or ``None`` for none.
    """

    def __init__(self, console: Any, status: Any = None) -> None:
        self.console = console
        self.status = status if status is not None else _NoStatus()
        self.started = 0
        self.text: dict[str, str] = {}

    def _spin(self, message: str) -> None:
        self.status.update(f"[cyan]{message}[/]")

    def __call__(self, event: Any) -> None:
        """Print (or spin) one event of :mod:`agentpatterns.events`."""
        from rich.markup import escape

        from agentpatterns.redaction import redact

        def e(text: str) -> str:  # no key a tool or a model echoed reaches the screen
            return escape(redact(text))

        kind, out = event.type, self.console.print
        if kind == "agent_started":
            self.started += 1
            out(f"  [bold cyan]{self.started:>2}.[/] {e(event.agent)}")
            self._spin(f"{e(event.agent)}: waiting for the model…")
        elif kind == "token_delta":
            text = self.text[event.agent] = self.text.get(event.agent, "") + event.delta
            tail = redact(" ".join(text.split()))[-60:]
            self._spin(f"{e(event.agent)} is writing: …{e(tail)}")
        elif kind == "handoff" and event.kind == "assign":
            out(f"      [magenta]assign[/] → {e(event.target)}: "
                f"[dim]{e(redact(event.reason)[:70])}[/]")
        elif kind == "handoff":
            out(f"      [magenta]handoff[/] {e(event.source)} → {e(event.target)}"
                f"  [dim]({e(redact(event.reason)[:70])})[/]")
        elif kind == "tool_called":
            args = ", ".join(f"{k}={v!r}" for k, v in event.args.items())
            out(f"      [blue]tool[/] {e(event.tool)}([dim]{e(redact(args)[:70])}[/])")
            self._spin(f"{e(event.agent)}: running {e(event.tool)}…")
        elif kind == "tool_result":
            said = redact(" ".join(event.output.split()))[:70]
            out(f"      [blue]←[/] {e(event.tool)}: [dim]{e(said)}[/]")
            self._spin(f"{e(event.agent)}: waiting for the model…")
        elif kind == "recorded":
            detail = {k: v for k, v in event.detail.items() if k != "type"}
            out(f"      [yellow]event[/] {e(event.kind)}: {e(str(detail))}")
        elif kind == "guardrail_tripped":
            out(f"      [bold red]guardrail[/] {event.kind} guardrail {e(repr(event.guardrail))} "
                f"of {e(event.agent)} tripped: {e(repr(event.info))}")
