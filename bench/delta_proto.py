"""``messages`` as a plain reducer channel vs a LangGraph ``DeltaChannel``, side by side.

With ``Annotated[list, add_messages]`` every checkpoint stores the whole conversation again,
so a loop of n steps writes O(n^2) bytes, and ``add_messages`` runs once per write (a
fan-in of K branches costs O(K^2)). A ``DeltaChannel`` stores only the step's writes (and
a full snapshot every ``snapshot_frequency`` updates) and reduces a whole step's writes in
one call.

``patched(kind)`` swaps the schema of every pattern module for a copy of ``PatternState``
whose ``messages`` is ``"reducer"`` (``add_messages``, the schema before the change) or
``"delta"`` (``DeltaChannel(add_messages_batch)``), whatever the package ships, so the
checkpoint benchmark can show both without touching the package's files.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.channels import DeltaChannel
from langgraph.graph.message import add_messages

from agentpatterns.state import PatternState

_MODULES = ("handoffs", "parallel", "reflection", "supervisor", "hierarchical", "dynamic",
            "memory", "human_approval")


def add_messages_batch(left: list[Any], writes: Sequence[Any]) -> list[Any]:
    """``add_messages`` over a whole step's writes at once."""
    right: list[Any] = []
    for w in writes:
        if isinstance(w, list):
            right.extend(w)
        else:
            right.append(w)
    return add_messages(left, right)


def shipped_kind() -> str:
    """``"delta"`` when the package's ``PatternState.messages`` is a DeltaChannel."""
    hints = typing.get_type_hints(PatternState, include_extras=True)
    meta = getattr(hints["messages"], "__metadata__", ())
    return "delta" if any(isinstance(m, DeltaChannel) for m in meta) else "reducer"


def state_with(kind: str) -> type:
    hints = typing.get_type_hints(PatternState, include_extras=True)
    if kind == "delta":
        hints["messages"] = Annotated[list[AnyMessage], DeltaChannel(add_messages_batch)]
    else:
        hints["messages"] = Annotated[list[AnyMessage], add_messages]
    return typing.TypedDict("PatternState", hints, total=False)  # type: ignore[operator]


@contextmanager
def patched(kind: str = "delta") -> Iterator[type]:
    """Patterns whose graph is built inside the block use ``messages`` of that kind."""
    import agentpatterns.graphs  # noqa: F401  (import every builder module)

    state = state_with(kind)
    saved = {}
    for name in _MODULES:
        mod = sys.modules.get(f"agentpatterns.graphs.{name}")
        if mod is not None and hasattr(mod, "PatternState"):
            saved[mod] = mod.PatternState
            mod.PatternState = state
    try:
        yield state
    finally:
        for mod, value in saved.items():
            mod.PatternState = value
