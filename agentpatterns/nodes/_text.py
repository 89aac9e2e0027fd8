"""Small text helpers shared by the offline model, the router, the runtimes and tool naming."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "AGENT_KEY",
    "STOPWORDS",
    "agent_name",
    "handoff_tool_name",
    "key_terms",
    "message_text",
    "snake",
    "stem",
    "stems",
]

STOPWORDS = frozenset(
    """a an the and or but if then than to of in on at by for from with without into onto
    is are was were be been being am do does did done have has had having i me my mine we us
    our you your yours he she it its they them their this that these those there here what
    which who whom whose when where why how can could would should will shall may might must
    need needs want wants please help handle handles handling all any some just also about
    request requests agent agents use used user users as so not no yes up out over via per
    let lets get got make makes very more most much many each every other both""".split()
)

_WORD = re.compile(r"[a-z0-9]+")

#: Run metadata of every model call (and ``response_metadata`` of the system message): the
#: agent making it. Streamed tokens are attributed by it, and the offline and scripted
#: models know which agent they answer for without a name in the prompt.
AGENT_KEY = "agentpatterns_agent"
_YOU_ARE = re.compile(r"^You are (.+?)\.(?:\s|$)")


def snake(name: str) -> str:
    """``"Booking Agent"`` -> ``"booking_agent"`` (the SDK's naming of handoff tools)."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_") or "agent"


def handoff_tool_name(agent_name: str) -> str:
    """The handoff tool for ``agent_name``: ``transfer_to_<snake>``, as in the SDK."""
    return f"transfer_to_{snake(agent_name)}"


def stem(word: str) -> str:
    """A small, stated suffix stripper: booking/book, reservation/reserve, queries/query."""
    w = word.lower()
    if len(w) <= 3:
        return w
    for suffix in (
        "ations",
        "ation",
        "ings",
        "ing",
        "ies",
        "ied",
        "ers",
        "er",
        "ed",
        "es",
        "s",
        "ly",
        "ment",
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if suffix in ("ies", "ied"):
                w += "y"
            break
    if w.endswith("y"):
        w = w[:-1] + "i"
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def stems(text: str) -> set[str]:
    """Stems of the content words of ``text`` (stop words dropped)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def key_terms(text: str, *, limit: int = 6) -> list[str]:
    """Content words of ``text`` in order of appearance, without repeats."""
    seen: list[str] = []
    for w in _WORD.findall(text.lower()):
        if w not in STOPWORDS and len(w) > 2 and w not in seen:
            seen.append(w)
    return seen[:limit]


def message_text(message: Any) -> str:
    """The text of a LangChain message: its string content, or its text blocks joined.

    Responses-API replies and multimodal messages carry a list of content blocks; only
    text blocks (``text`` / ``output_text``) count, reasoning and tool blocks do not.
    """
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        block.get("text", "") if isinstance(block, dict) else str(block)
        for block in content
        if not isinstance(block, dict) or block.get("type") in ("text", "output_text")
    )


def agent_name(messages: Any, run_manager: Any = None) -> tuple[str | None, str]:
    """Which agent a model call is for, and its instructions (the first system message).

    The agent's name comes from the system message's ``response_metadata`` (set by both
    runtimes), else the call's run metadata (``AGENT_KEY``), else a prompt that starts with
    ``"You are <name>."`` (that sentence is then not part of the instructions).
    """
    system = next((m for m in messages if getattr(m, "type", "") == "system"), None)
    text = message_text(system) if system is not None else ""
    name = (getattr(system, "response_metadata", None) or {}).get("agent")
    if not name and run_manager is not None:
        name = (getattr(run_manager, "metadata", None) or {}).get(AGENT_KEY)
    match = _YOU_ARE.match(text)
    if match:
        return (name or match.group(1)), text[match.end():]
    return (str(name) if name else None), text
