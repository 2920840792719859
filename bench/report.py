"""Results: one row per measurement, kept in bench/results.json (docs/performance.md is rendered
from it by bench/report_docs.py).

bench/results.json keeps the latest full run and the latest quick run side by side
({"latest": mode, "full": {...}, "quick": {...}}). A run writes it after every row (`merge` with
`final=False`), so a run that is cut keeps the rows it measured; each row carries the start of the
run that measured it (`run`). Rows of the mode's earlier record that the run did not measure again
are kept while it runs, when it is cut and after a partial run (`--scenario`, `--db`, `--sizes`,
`--only`); a complete run of everything replaces them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BENCH

RESULTS = BENCH / "results.json"


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
    run: str = ""  # when the run that measured it started (bench/results.json keeps rows of several)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _met(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "**no**")


def _cpu(row: dict[str, Any]) -> str:
    load = row.get("extra", {}).get("load") or {}
    return num(load.get("cpu_us_per_request"))


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
        thr = "–" if r["throughput"] is None else f"{num(r['throughput'])} {r['unit']}"
        if r.get("note") and r["throughput"] is None:
            thr = r["note"]
        errors = f" ({r['errors']} errors)" if r.get("errors") else ""
        lines.append(
            f"| {r['scenario']} | {r['name']}{errors} | {r['db']} | {r['size']} | {thr} "
            f"| {num(r['p50_ms'], 2)} | {num(r['p99_ms'], 2)} | {num(r['peak_rss_mb'], 0)} "
            f"| {num(r['baseline_rps'])} | {num(r['ratio'], 2)} | {_cpu(r)} | {_cores(r)} "
            f"| {r['target'] or '–'} | {_met(r['met'])} |"
        )
    return head + "\n".join(lines) + "\n"


def _cells(row: dict[str, Any] | None, absent: str) -> list[str]:
    """req/s, ratio, CPU µs/req, p99 ms of one pass of a sweep step (`absent`: why there is none)."""
    if row is None:
        return [absent, "–", "–", "–"]
    return [num(row["throughput"]), num(row["ratio"], 2), _cpu(row), num(row["p99_ms"], 2)]


def _absent_on(x: dict[str, Any]) -> str:
    """Why a sweep step has no cache-on figure: the cache cannot change it, this run did not plan
    it (the quick form, BENCH_SWEEP_CACHE=off), or it was planned and not measured (cut)."""
    if "on" not in x.get("passes", ["off", "on"]):
        return "*off only*"
    return "*missing*" if x.get("on_planned", True) else "*not run*"


def _by_pass(values: dict[str, str]) -> str:
    """One value, or each pass's when they differ ("off: yes · on: **no**")."""
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return " · ".join(f"{cache}: {value}" for cache, value in values.items())


def sweep_table(rows: list[dict[str, Any]], current_run: str | None = None) -> str:
    """The endpoint sweep (bench/sweep.py): one line per endpoint and role, the read cache off and on
    side by side; where a pass has no figure, `_absent_on` says why (or *missing*)."""
    steps: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    order: dict[tuple[str, str, str, str], float] = {}
    for r in rows:
        if r["scenario"] != "sweep":
            continue
        x = r.get("extra", {})
        k = (x.get("api", ""), x.get("endpoint", r["name"]), x.get("role", ""), r["db"])
        steps.setdefault(k, {})[x.get("cache", "off")] = r
        order.setdefault(k, x.get("order", len(order) + 1e6))
    if not steps:
        return ""
    head = (
        "| API | Endpoint | Role | Cache off: req/s | Ratio | VTN CPU µs/req | p99 ms "
        "| Cache on: req/s | Ratio | VTN CPU µs/req | p99 ms | Target | Met | Note |\n"
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|\n"
    )
    lines = []
    for k in sorted(steps, key=lambda k: order[k]):
        by_cache = steps[k]
        first = next(iter(by_cache.values())).get("extra", {})
        cells = _cells(by_cache.get("off"), "*missing*") + _cells(by_cache.get("on"), _absent_on(first))
        measured: dict[str, dict[str, Any]] = {c: by_cache[c] for c in ("off", "on") if c in by_cache}
        targets: dict[str, str] = {c: r["target"] for c, r in measured.items() if r.get("target")}
        mets: dict[str, str] = {c: _met(r["met"]) for c, r in measured.items() if r.get("met") is not None}
        notes = []
        for cache, r in measured.items():
            note = r.get("note") or (f"{r['errors']} errors" if r.get("errors") else "")
            if current_run and r.get("run") and r["run"] != current_run:
                note = f"{note}; " if note else ""
                note += f"from the run of {r['run'][:16].replace('T', ' ')}"
            if note:
                notes.append(f"{cache}: {note}" if len(measured) > 1 else note)
        api, endpoint, role, _ = k
        lines.append(
            f"| {api} | {endpoint} | {role} | {' | '.join(cells)} "
            f"| {_by_pass(targets) if targets else '–'} | {_by_pass(mets) if mets else '–'} "
            f"| {'; '.join(notes)} |"
        )
    return head + "\n".join(lines) + "\n"


def load_all(path: Path | None = None) -> dict[str, Any]:
    path = path or RESULTS
    if path.exists():
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            return data
        except ValueError:
            pass
    return {}


def _key(r: dict[str, Any]) -> tuple[str, str, str, str]:
    return (r["scenario"], r["db"], r["name"], r["size"])


def merge(
    run: dict[str, Any], partial: bool, *, final: bool = True, path: Path | None = None
) -> dict[str, Any]:
    """Fold this run into results.json and return its whole content.

    The run's rows replace the rows of the same measurement in its mode's record. The record's
    other rows are dropped only when the run is `final` (it ended) and not `partial` (it ran
    everything): a run still going, a cut run and a partial run keep them, each row stamped with
    the run that measured it."""
    path = path or RESULTS
    data = load_all(path)
    mode = run["mode"]
    old = data.get(mode)
    rows = [r if r.get("run") else {**r, "run": run["started"]} for r in run["rows"]]
    record = {**run, "rows": rows}
    if old and (partial or not final):
        fresh = {_key(r) for r in rows}
        earlier = old.get("started", "")
        kept = [r if r.get("run") else {**r, "run": earlier} for r in old["rows"] if _key(r) not in fresh]
        record["rows"] = kept + rows
    older = sorted({r["run"] for r in record["rows"] if r["run"]} - {run["started"]})
    if older:
        record["earlier_runs"] = older  # the runs some of its rows come from
    data[mode] = record
    data["latest"] = mode
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)  # a run cut while writing leaves the previous file whole
    return data


if __name__ == "__main__":
    from bench import report_docs

    report_docs.write_docs(load_all())
    print(f"wrote {report_docs.DOCS}")
