"""Run the agentpatterns benchmarks: ``python bench/run.py [--quick] [--check] [--only NAME]``.

Every section runs in its own fresh interpreter (so one section's heap, caches and
threads cannot slow another), prints a table, and ``bench/results.json`` gets the rows
(with ``--only``, the other sections' rows already in the file are kept). ``--check``
exits 1 when a row misses its target (rows without a target never fail).

Sections: patterns, fanout, concurrency, checkpoint, interrupt, startup, sdk, nesting.
``--only`` takes one or more of them, comma-separated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
PLOT = HERE / "fanout.png"
SECTIONS = ["patterns", "fanout", "concurrency", "checkpoint", "interrupt", "startup", "sdk",
            "nesting"]
_MARK = "@@BENCH-ROWS@@"


def _section(name: str, quick: bool) -> list[dict[str, Any]]:
    """Run one section in this interpreter and return its rows."""
    sys.path.insert(0, str(HERE))
    if name == "patterns":
        import bench_patterns as mod
    elif name == "fanout":
        import bench_fanout as mod
    elif name == "concurrency":
        import bench_concurrency as mod
    elif name == "checkpoint":
        import bench_checkpoint as mod
    elif name == "interrupt":
        import bench_interrupt as mod
    elif name == "startup":
        import bench_startup as mod
    elif name == "nesting":
        import bench_nesting as mod
    elif name == "sdk":
        return _sdk(quick)
    else:
        raise SystemExit(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
    return list(mod.run(quick=quick))


_SDK_ROW = "SDK: run_sdk vs agents.Runner.run"


def _sdk(quick: bool) -> list[dict[str, Any]]:
    """Hook for the OpenAI Agents SDK rows (``run_sdk`` vs plain ``agents.Runner.run``).

    ``bench/bench_sdk_concurrency.py`` is expected to define ``run(quick: bool) -> list[dict]``
    returning rows shaped like :class:`_util.Row` (``name``, ``ratio``, ``target``, ``ok``,
    ``ratio_of``, ``summary``, ``baseline``, ``ours``, ``detail``, ``note``). Until it and
    ``agentpatterns.adapters.openai_agents.run_sdk`` exist, the section reports a skip.
    """
    from _util import Row

    try:
        from agentpatterns.adapters.openai_agents import run_sdk  # noqa: F401
    except ImportError as exc:
        return [Row(_SDK_ROW, ratio=None, target=None, baseline="", ratio_of="",
                    ours="", note=f"skipped: agentpatterns.adapters.openai_agents.run_sdk is "
                                  f"not importable ({exc})")]
    try:
        import bench_sdk_concurrency as mod
    except ImportError as exc:
        return [Row(_SDK_ROW, ratio=None, target=None, baseline="", ratio_of="",
                    ours="", note=f"skipped: bench/bench_sdk_concurrency.py is missing ({exc})")]
    if not callable(getattr(mod, "run", None)):
        return [Row(_SDK_ROW, ratio=None, target=None, baseline="", ratio_of="",
                    ours="", note="skipped: bench/bench_sdk_concurrency.py has no "
                                  "run(quick) -> rows yet (see the hook's docstring in run.py)")]
    return [dict(row) for row in mod.run(quick=quick)]


def _run_isolated(name: str, quick: bool) -> tuple[list[dict[str, Any]], float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_section", name]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(HERE.parent))
    elapsed = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            rows = json.loads(line[len(_MARK):])
            for row in rows:
                row["section"] = name
            return rows, elapsed
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
    return [{"section": name, "name": f"{name}: FAILED", "ratio": None, "target": None,
             "ok": False, "ratio_of": "", "summary": "", "baseline": "", "ours": "",
             "detail": {"stderr_tail": tail}, "note": "the section crashed; see detail"}], elapsed


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("agentpatterns", "langgraph", "langgraph-checkpoint",
                 "langgraph-checkpoint-sqlite", "langgraph-checkpoint-postgres",
                 "langchain-core", "pydantic", "ormsgpack", "openai-agents"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "-"
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "versions": _versions()}


def _fmt_ratio(row: dict[str, Any]) -> str:
    if row.get("ratio") is None:
        return "-"
    unit = row.get("ratio_of", "")
    r = row["ratio"]
    if unit.startswith("seconds"):
        return f"+{r:.3f} s"
    if unit == "ms":
        return f"{r:.2f} ms"
    return f"{r:.3f}x"


def _fmt_target(row: dict[str, Any]) -> str:
    t = row.get("target")
    if t is None:
        return "-"
    unit = row.get("ratio_of", "")
    if unit.startswith("seconds"):
        return f"<= +{t} s"
    if unit == "ms":
        return f"<= {t} ms"
    return f"<= {t}x"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| scenario | result | target | ok | of | absolute (medians) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        ok = {True: "yes", False: "**MISS**", None: "-"}[row.get("ok")]
        summary = row.get("summary") or row.get("note") or ""
        lines.append(f"| {row['name']} | {_fmt_ratio(row)} | {_fmt_target(row)} | {ok} | "
                     f"{row.get('ratio_of', '')} | {summary} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and sizes (~1 min)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--only", default="", help=f"sections, comma-separated: {', '.join(SECTIONS)}")
    ap.add_argument("--_section", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._section:
        rows = _section(args._section, args.quick)
        print(_MARK + json.dumps(rows, default=str))
        return 0

    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or SECTIONS
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    started = time.time()
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    runtime: dict[str, float] = {}
    for name in wanted:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        section_rows, elapsed = _run_isolated(name, args.quick)
        runtime[name] = round(elapsed, 1)
        rows.extend(section_rows)
        print(f"[bench] {name}: {elapsed:.1f} s", file=sys.stderr, flush=True)

    previous: dict[str, Any] = {}
    if args.only and RESULTS.exists():
        try:
            previous = json.loads(RESULTS.read_text())
        except ValueError:
            previous = {}
    kept = [r for r in previous.get("rows", []) if r.get("section") not in wanted]
    order = {s: i for i, s in enumerate(SECTIONS)}
    all_rows = sorted(kept + rows, key=lambda r: order.get(r.get("section", ""), 99))
    result = {
        "command": " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "total_seconds": round(time.time() - started, 1),
        "section_seconds": {**previous.get("section_seconds", {}), **runtime},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
        "rows": all_rows,
    }
    RESULTS.write_text(json.dumps(result, indent=1, default=str) + "\n")
    if any(r.get("section") == "fanout" for r in rows):
        sys.path.insert(0, str(HERE))
        from bench_fanout import plot

        plot(all_rows, PLOT)
    print(table(all_rows))
    print(f"\n{len(all_rows)} rows; {sum(r.get('ok') is False for r in all_rows)} missed; "
          f"{time.time() - started:.0f} s; wrote {RESULTS.relative_to(HERE.parent)}"
          + (f" and {PLOT.relative_to(HERE.parent)}" if "fanout" in wanted else ""))
    if args.check and any(r.get("ok") is False for r in all_rows):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
