"""The real-model rows: server tokens/s, and wall time per pattern per runtime.

``python bench/realmodel.py`` starts llama-cpp-python's server with SmolLM2-135M (installed
by ``tests/_llama_server.py``), measures its speed (a plain 64-token reply and a reply with
the triage handoff tools, three times each), and prints the table of the last real-model
tier run (``make realmodel`` writes ``~/.cache/agentpatterns/realmodel/table.jsonl``):
pattern x runtime -> how it finished, route, model calls, wall time. ``--no-server`` only
prints the table. Timing depends on what else the machine runs: the load average is printed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._llama_server import LlamaServer, home, install  # noqa: E402

PROMPT = [{"role": "system", "content": "You are Booking Agent. Help users book"},
          {"role": "user", "content": "I need to book a table for two tonight"}]
TOOLS = [{"type": "function", "function": {
    "name": f"transfer_to_{n}_agent", "description": d,
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}}
    for n, d in (("booking", "Handles all booking and reservation requests"),
                 ("support", "Handles customer support and troubleshooting"))]


def speed(server: LlamaServer) -> list[str]:
    """Rows: generated tokens/s of a plain reply, and the wall time of a tool-choice call."""
    import httpx

    def call(**extra: object) -> tuple[float, dict[str, int]]:
        started = time.monotonic()
        reply = httpx.post(f"{server.base_url}/chat/completions", timeout=300, json={
            "model": server.model, "messages": PROMPT, "temperature": 0, **extra})
        reply.raise_for_status()
        return time.monotonic() - started, reply.json()["usage"]

    call(max_tokens=8)  # warm-up
    plain = [call(max_tokens=64) for _ in range(3)]
    tools = [call(tools=TOOLS, tool_choice="auto", stop=["functions."]) for _ in range(3)]
    rate = statistics.median(u["completion_tokens"] / s for s, u in plain)
    prompt = plain[0][1]["prompt_tokens"]
    return [f"| server: plain reply, 64 tokens | {rate:.1f} tokens/s | median of 3, "
            f"{prompt} prompt tokens, {statistics.median(s for s, _ in plain):.2f} s/reply |",
            f"| server: handoff decision (2 tools, tool_choice=auto) | "
            f"{statistics.median(s for s, _ in tools):.2f} s/call | median of 3, "
            f"{tools[0][1]['prompt_tokens']} prompt tokens |"]


def table() -> list[str]:
    """The last tier run, one row per pattern and runtime."""
    path = home() / "table.jsonl"
    if not path.exists():
        return ["(no tier run yet: make realmodel)"]
    rows = ["| pattern | runtime | finished | route | model calls | wall s |",
            "|---|---|---|---|---|---|"]
    for line in path.read_text().splitlines():
        r = json.loads(line)
        route = " → ".join(r["path"]) if len(r["path"]) <= 6 else (
            " → ".join(r["path"][:5]) + f" … ({len(r['path'])})")
        if not r["path"] and r.get("stopped_in"):
            route = f"(no turn completed; stopped in {r['stopped_in']})"
        how = r["how"] + (f" ({', '.join(sorted(set(r['events'])))})"
                          if r.get("events") else "")
        calls = "-" if r.get("calls") is None else r["calls"]
        rows.append(f"| {r['pattern']} | {r['runtime']} | {how} | {route or '-'} | {calls} | "
                    f"{r['wall_s']} |")
    return rows


def main(argv: list[str]) -> int:
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs")
    if "--no-server" not in argv:
        python, gguf = install()
        server = LlamaServer(python, gguf)
        try:
            print("\n".join(["| what | result | detail |", "|---|---|---|", *speed(server)]))
        finally:
            server.stop()
    print()
    print("\n".join(table()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
