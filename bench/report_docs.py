"""docs/performance.md, rendered from bench/results.json and the hand-written sources beside it.

The page is built around the endpoint sweep, in three parts (issue 16):

1. the tables: the sweep (`make bench`, then `make bench-quick`), the targets and whether they are
   met (bench/targets.md, hand-kept), the other scenarios;
2. how each figure was reached: how the figures are made (bench/intro.md) and the findings, one
   section per change with its profile and before/after figures (bench/findings.md);
3. what is left: the sections of bench/findings.md whose heading begins "What is left".

Nothing hand-written lives only in the page: a re-render (`python -m bench.report`, or the end of
any `bench/run.py`) keeps every word of the sources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.common import BENCH, ROOT
from bench.report import num, sweep_table, table

DOCS: Path = ROOT / "docs" / "performance.md"
INTRO = BENCH / "intro.md"  # how the figures are made: commands, scenarios, data
TARGETS = BENCH / "targets.md"  # each target of the issues, met or not, and where the figure is from
FINDINGS = BENCH / "findings.md"  # one section per change: profile, change, figures; and what is left
LEFT = re.compile(r"^## What is left\b")

LEAD = """# Performance

The endpoint sweep comes first: every endpoint of the three APIs, as VEN and as BL, with the read
cache off and, for the endpoints the cache can change, on, against a bare aiohttp process measured
in the same run. Then the targets and whether they are met, and the other scenarios. Then how each
figure was reached: how the figures are made, and one section per change with its profile. Last,
what is left. `make bench-quick` (a few minutes) and `make bench` (about 25 minutes on a quiet
2-core machine) regenerate the tables; the text comes from bench/intro.md, bench/targets.md and
bench/findings.md.
"""

NO_SWEEP = """## Endpoint sweep

No endpoint sweep is recorded in bench/results.json: `make bench` (or `python bench/run.py
--scenario sweep`) measures it and writes its table here. Earlier sweeps are kept in the findings
below.
"""

_MACHINE_KEYS = [
    ("cpu_model", "CPU"),
    ("cores", "Cores"),
    ("memory_gb", "Memory (GB)"),
    ("kernel", "Kernel"),
    ("python", "Python"),
    ("sqlite", "SQLite"),
    ("postgresql", "PostgreSQL"),
    ("aiohttp", "aiohttp"),
    ("sqlalchemy", "SQLAlchemy"),
    ("pydantic", "pydantic"),
    ("uvloop", "uvloop (installed; used only with --uvloop)"),
    ("orjson", "orjson (installed; not used by the VTN)"),
    ("load_generator", "Load generator"),
]


def _when(run: dict[str, Any]) -> str:
    took = f" ({run.get('duration_s', 0):.0f} s)" if run.get("duration_s") is not None else ""
    status = run.get("status", "complete")
    if status == "complete":
        return f"Run {run['started']} – {run.get('finished')}{took}"
    if status == "running":
        return f"Run started {run['started']}, still running when this page was written"
    return f"Run {run['started']} – {run.get('finished')}{took}, **cut** ({run.get('cut_reason', 'stopped')})"


def _section(title: str, run: dict[str, Any], *, sweep: bool) -> str:
    """One run's table: its sweep rows (`sweep`) or its other scenarios, with how it was run."""
    m = run.get("machine", {})
    s = run.get("settings", {})
    base = run.get("baseline", {})
    if not any((r["scenario"] == "sweep") == sweep for r in run["rows"]):
        return ""
    body = sweep_table(run["rows"], run["started"]) if sweep else table(run["rows"])
    out = [f"## {title}", ""]
    out.append(f"{_when(run)}, command `{run.get('command', '')}`.")
    after = base.get("after")
    out.append(
        f"Load: {s.get('generator')} from a separate process, {s.get('connections')} keep-alive "
        f"connections, {s.get('threads')} thread(s), {s.get('duration')} s per measurement after "
        f"{s.get('warmup')} s warm-up"
        + (
            f" (sweep steps: {s['sweep_warmup']} s + {s['sweep_duration']} s)"
            if sweep and "sweep_duration" in s
            else ""
        )
        + f". Load average {run.get('loadavg_start')} at the start, {run.get('loadavg_end')} at the end. "
        f"Bare-aiohttp baseline in this run: {num(base.get('before'))} req/s before, "
        + (
            f"{num(after)} req/s after the scenarios (mean {num(base.get('rps'))})."
            if after is not None
            else "not measured after (the run was cut): ratios are against the one before."
        )
    )
    if run.get("earlier_runs"):
        out.append(
            "Rows this run did not measure come from earlier runs (their *Note* says which), each "
            "with its own run's baseline."
        )
    if sweep:
        out += [
            "",
            "Every endpoint as VEN and as BL on one seeded database (bench/sweep.py). *Cache off*: "
            "`read_cache_seconds = 0`, `grant_cache_seconds = 0`; *cache on*: the defaults, measured "
            "only for the endpoints the read cache can change (cached list answers, a VEN's cached "
            "grants, the 2.0b poll cache: bench/sweep_plan.py `cache_dependent`). *off only*: the "
            "cache takes no part in that endpoint, so it ran once, with the cache off; *not run*: "
            "the cache can change it but this run left it out (the quick form measures only GET "
            "/events with the cache on); *missing*: planned but not measured (a cut run). *Ratio* "
            "against this run's baseline; "
            "on a shared machine compare *VTN CPU µs/req*, not req/s.",
        ]
    out += ["", body]
    if m:
        out += ["<details><summary>Machine</summary>", "", "| | |", "|---|---|"]
        out += [f"| {label} | {m.get(key)} |" for key, label in _MACHINE_KEYS]
        out += ["", "</details>", ""]
    return "\n".join(out)


def split_findings(text: str) -> tuple[str, str]:
    """bench/findings.md as (how each figure was reached, what is left): its `## ` sections in
    their order, those headed "What is left ..." moved to the second part."""
    reached: list[str] = []
    left: list[str] = []
    current: list[str] = []
    target = reached
    for line in text.splitlines():
        if line.startswith("## "):
            target.extend(current)
            current = []
            target = left if LEFT.match(line) else reached
        current.append(line)
    target.extend(current)
    return "\n".join(reached).strip(), "\n".join(left).strip()


def render_docs(data: dict[str, Any]) -> str:
    parts = [LEAD]
    runs = [("full", "make bench"), ("quick", "make bench-quick")]
    sweeps = [
        _section(f"Endpoint sweep (`{cmd}`)", data[mode], sweep=True) for mode, cmd in runs if data.get(mode)
    ]
    parts += [s for s in sweeps if s] or [NO_SWEEP]
    if TARGETS.exists():
        parts.append(TARGETS.read_text())
    for mode, command in runs:
        if data.get(mode):
            parts.append(_section(f"Other scenarios (`{command}`)", data[mode], sweep=False))
    reached, left = split_findings(FINDINGS.read_text()) if FINDINGS.exists() else ("", "")
    parts += [INTRO.read_text(), reached, left]
    return "\n".join(p.strip() + "\n" for p in parts if p and p.strip()).rstrip() + "\n"


def write_docs(data: dict[str, Any], path: Path | None = None) -> None:
    path = path or DOCS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_docs(data))
