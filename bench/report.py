"""Results: one row per measurement, written to bench/results.json and docs/performance.md.

bench/results.json keeps the latest full run and the latest quick run side by side
({"latest": mode, "full": {...}, "quick": {...}}); a partial run (`--scenario`, `--db`, `--sizes`)
replaces only the rows it measured again in its mode. docs/performance.md is regenerated from both, with the
machine, the commands, the tables, and bench/findings.md (the profile analysis) appended.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BENCH, ROOT

RESULTS = BENCH / "results.json"
DOCS = ROOT / "docs" / "performance.md"
FINDINGS = BENCH / "findings.md"


@dataclass
class Row:
    """One measured (or derived) line of the results table."""

    scenario: str  # polling | ingest | fanout | scale | scaleout | mtls | oadr20b | sweep
    name: str
    db: str = "-"
    size: str = "-"
    throughput: float | None = None
    unit: str = "req/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mb: float | None = None
    baseline_rps: float | None = None
    ratio: float | None = None  # throughput / baseline (req/s rows only)
    target: str | None = None
    met: bool | None = None
    errors: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _met(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "**no**")


def _cpu(row: dict[str, Any]) -> str:
    load = row.get("extra", {}).get("load") or {}
    return _num(load.get("cpu_us_per_request"))


def _cores(row: dict[str, Any]) -> str:
    groups = (row.get("extra", {}).get("load") or {}).get("cores_by_group")
    if not groups:
        return "–"
    return f"{groups['server']:.2f}/{groups['postgres']:.2f}/{groups['loadgen']:.2f}/{groups['other']:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown results table."""
    head = (
        "| Scenario | Measurement | DB | Size | Throughput | p50 ms | p99 ms | Peak RSS MB "
        "| Baseline req/s | Ratio | VTN CPU µs/req | Cores VTN/PG/load/other | Target | Met |\n"
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|---|\n"
    )
    lines = []
    for r in rows:
        if r["scenario"] == "sweep":
            continue  # its own table (sweep_table)
        thr = "–" if r["throughput"] is None else f"{_num(r['throughput'])} {r['unit']}"
        if r.get("note") and r["throughput"] is None:
            thr = r["note"]
        errors = f" ({r['errors']} errors)" if r.get("errors") else ""
        lines.append(
            f"| {r['scenario']} | {r['name']}{errors} | {r['db']} | {r['size']} | {thr} "
            f"| {_num(r['p50_ms'], 2)} | {_num(r['p99_ms'], 2)} | {_num(r['peak_rss_mb'], 0)} "
            f"| {_num(r['baseline_rps'])} | {_num(r['ratio'], 2)} | {_cpu(r)} | {_cores(r)} "
            f"| {r['target'] or '–'} | {_met(r['met'])} |"
        )
    return head + "\n".join(lines) + "\n"


def sweep_table(rows: list[dict[str, Any]]) -> str:
    """The endpoint sweep (bench/sweep.py): one line per endpoint, role and read-cache setting."""
    head = (
        "| API | Endpoint | Role | Read cache | req/s | Ratio | p50 ms | p99 ms | VTN CPU µs/req "
        "| Target | Met | Note |\n"
        "|---|---|---|---|--:|--:|--:|--:|--:|---|---|---|\n"
    )
    lines = []
    for r in rows:
        if r["scenario"] != "sweep":
            continue
        x = r.get("extra", {})
        note = r.get("note") or ""
        if r.get("errors") and not note:
            note = f"{r['errors']} errors"
        lines.append(
            f"| {x.get('api', '')} | {x.get('endpoint', r['name'])} | {x.get('role', '')} "
            f"| {x.get('cache', '')} | {_num(r['throughput'])} | {_num(r['ratio'], 2)} "
            f"| {_num(r['p50_ms'], 2)} | {_num(r['p99_ms'], 2)} | {_cpu(r)} "
            f"| {r['target'] or '–'} | {_met(r['met'])} | {note} |"
        )
    return head + "\n".join(lines) + "\n" if lines else ""


def load_all() -> dict[str, Any]:
    if RESULTS.exists():
        try:
            data: dict[str, Any] = json.loads(RESULTS.read_text())
            return data
        except ValueError:
            pass
    return {}


def merge(run: dict[str, Any], scenarios: list[str], partial: bool) -> dict[str, Any]:
    """Fold this run into results.json: a partial run replaces only the rows it measured again."""
    data = load_all()
    mode = run["mode"]
    old = data.get(mode)
    if partial and old:
        # Replace the rows this run measured again; keep the others (each carries its own baseline).
        def key(r: dict[str, Any]) -> tuple[str, str, str, str]:
            return (r["scenario"], r["db"], r["name"], r["size"])

        fresh = {key(r) for r in run["rows"]}
        kept = [r for r in old["rows"] if key(r) not in fresh]
        run = {
            **run,
            "rows": kept + run["rows"],
            "partial_runs": [*old.get("partial_runs", []), run["started"]],
        }
    data[mode] = run
    data["latest"] = mode
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    return data


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


def _section(title: str, run: dict[str, Any], *, sweep: bool) -> str:
    """One run's table: its sweep rows (`sweep`) or its other scenarios, with how it was run."""
    m = run.get("machine", {})
    s = run.get("settings", {})
    base = run.get("baseline", {})
    if not any((r["scenario"] == "sweep") == sweep for r in run["rows"]):
        return ""
    body = sweep_table(run["rows"]) if sweep else table(run["rows"])
    out = [f"## {title}", ""]
    out.append(
        f"Run {run['started']} – {run['finished']} ({run.get('duration_s', 0):.0f} s), "
        f"command `{run.get('command', '')}`."
    )
    out.append(
        f"Load: {s.get('generator')} from a separate process, {s.get('connections')} keep-alive "
        f"connections, {s.get('threads')} thread(s), {s.get('duration')} s per measurement after "
        f"{s.get('warmup')} s warm-up. "
        f"Bare-aiohttp baseline in this run: {_num(base.get('before'))} req/s before, "
        f"{_num(base.get('after'))} req/s after the scenarios (mean {_num(base.get('rps'))})."
    )
    if sweep:
        out += [
            "",
            "Every endpoint as VEN and as BL, read cache off and on, one seeded SQLite database "
            "(bench/sweep.py); *Ratio* against this run's baseline. On a shared machine compare "
            "*VTN CPU µs/req*, not req/s.",
        ]
    out += ["", body]
    if m:
        out += ["<details><summary>Machine</summary>", "", "| | |", "|---|---|"]
        out += [f"| {label} | {m.get(key)} |" for key, label in _MACHINE_KEYS]
        out += ["", "</details>", ""]
    return "\n".join(out)


INTRO = BENCH / "intro.md"  # the page's fixed part: how the figures are made, scenarios, data
TARGETS = BENCH / "targets.md"  # hand-kept: each target of the issues, met or not, and where from

LEAD = """# Performance

The endpoint sweep comes first: every endpoint of the three APIs, as VEN and as BL, with the read
cache off and on, against a bare aiohttp process measured in the same run. Then the targets and
whether they are met, the other scenarios, how the figures are made, and how each was reached.
`make bench-quick` (a few minutes) and `make bench` (the whole page) regenerate it.
"""


def render_docs(data: dict[str, Any]) -> str:
    parts = [LEAD]
    runs = [("full", "make bench"), ("quick", "make bench-quick")]
    for mode, command in runs:  # the sweep tables first
        if data.get(mode):
            parts.append(_section(f"Endpoint sweep (`{command}`)", data[mode], sweep=True))
    if TARGETS.exists():
        parts.append(TARGETS.read_text())
    for mode, command in runs:
        if data.get(mode):
            parts.append(_section(f"Other scenarios (`{command}`)", data[mode], sweep=False))
    parts.append(INTRO.read_text())
    if FINDINGS.exists():
        parts.append(FINDINGS.read_text())
    return "\n".join(p for p in parts if p).rstrip() + "\n"


def write_docs(data: dict[str, Any], path: Path = DOCS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_docs(data))


if __name__ == "__main__":
    write_docs(load_all())
    print(f"wrote {DOCS}")
