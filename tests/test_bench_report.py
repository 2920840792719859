"""The benchmark's bookkeeping: results.json written row by row, the sweep table, the page's order,
the progress line, and a run that is cut. No server and no timing (`make bench` measures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import progress, report, report_docs
from bench import run as bench_run
from bench.load import LoadResult
from bench.report import Row


def _run(started: str, rows: list[dict[str, Any]], mode: str = "full") -> dict[str, Any]:
    return {"mode": mode, "started": started, "rows": rows}


def _sweep_row(
    endpoint: str, role: str, cache: str, rps: float | None, passes: list[str], **more: Any
) -> dict[str, Any]:
    api, _, rest = endpoint.partition(" ")
    row = Row("sweep", endpoint, "sqlite", f"{role}, cache {cache}", throughput=rps).as_dict()
    row["extra"] = {"api": api, "endpoint": rest, "role": role, "cache": cache, "passes": passes}
    row["ratio"] = None if rps is None else round(rps / 10_000, 3)
    return row | more


def test_rows_are_kept_while_a_run_goes_and_replaced_when_a_full_run_ends(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    a1 = Row("polling", "GET /events", "sqlite", "1,000 VENs", 100.0).as_dict()
    a2 = Row("ingest", "POST /reports", "sqlite", "1,000 VENs", 50.0).as_dict()
    report.merge(_run("A", [a1, a2]), partial=False, path=path)

    b1 = a1 | {"throughput": 120.0}
    during = report.merge(_run("B", [b1]), partial=False, final=False, path=path)["full"]
    assert [(r["name"], r["throughput"], r["run"]) for r in during["rows"]] == [
        ("POST /reports", 50.0, "A"),  # not measured again yet: kept, stamped with its run
        ("GET /events", 120.0, "B"),
    ]
    assert during["earlier_runs"] == ["A"]
    again = report.merge(_run("B", [b1]), partial=False, final=False, path=path)["full"]
    assert len(again["rows"]) == 2  # writing after every row does not pile rows up

    done = report.merge(_run("B", [b1]), partial=False, final=True, path=path)
    assert [r["name"] for r in done["full"]["rows"]] == ["GET /events"]
    assert "earlier_runs" not in done["full"]
    assert json.loads(path.read_text()) == done


def test_a_partial_run_replaces_only_its_rows_and_modes_stay_apart(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    a = [_sweep_row("3.1.0 GET /events", "VEN", c, 10.0, ["off", "on"]) for c in ("off", "on")]
    report.merge(_run("A", a), partial=False, path=path)
    report.merge(_run("Q", [a[0]], mode="quick"), partial=False, path=path)
    b = _sweep_row("3.1.0 GET /events", "VEN", "on", 20.0, ["off", "on"])
    data = report.merge(_run("B", [b]), partial=True, path=path)
    assert {(r["size"], r["throughput"], r["run"]) for r in data["full"]["rows"]} == {
        ("VEN, cache off", 10.0, "A"),
        ("VEN, cache on", 20.0, "B"),
    }
    assert data["quick"]["started"] == "Q" and data["latest"] == "full"


def test_the_sweep_table_puts_both_passes_side_by_side_and_says_what_was_not_run() -> None:
    both = ["off", "on"]
    quick_form = {"on_planned": False}
    rows = [
        _sweep_row("3.1.0 GET /events", "VEN", "off", 2000.0, both, target="≥ 0.25×", met=False),
        _sweep_row("3.1.0 GET /events", "VEN", "on", 8000.0, both, target="≥ 0.7×", met=True),
        _sweep_row("3.1.0 GET /vens", "BL", "off", 5000.0, ["off"]),
        _sweep_row("3.1.0 GET /programs", "BL", "off", 4000.0, both, run="OLD"),
        _sweep_row("3.0.1 GET /programs", "BL", "off", 4000.0, both),
        _sweep_row("3.1.0 POST /events", "BL", "off", None, ["off"], note="failed: boom", met=False),
        Row("polling", "GET /events", "sqlite", "1,000 VENs", 1.0).as_dict(),
    ]
    rows[4]["extra"] |= quick_form
    text = report.sweep_table(rows, current_run="NEW")
    body = text.splitlines()[2:]
    lines = {" ".join(cell.strip() for cell in ln.split("|")[1:4]): ln for ln in body}
    assert len(body) == len(lines) == 5  # one line per endpoint and role; no other scenario
    events = lines["3.1.0 GET /events VEN"]
    assert "2,000" in events and "8,000" in events
    assert "off: ≥ 0.25× · on: ≥ 0.7×" in events and "off: **no** · on: yes" in events
    assert "*off only*" in lines["3.1.0 GET /vens BL"]  # the cache cannot change it: measured once
    assert "*missing*" in lines["3.1.0 GET /programs BL"]  # planned with the cache on, not measured
    assert "from the run of OLD" in lines["3.1.0 GET /programs BL"]
    assert "*not run*" in lines["3.0.1 GET /programs BL"]  # left out by this run (the quick form)
    failed = lines["3.1.0 POST /events BL"]
    assert "failed: boom" in failed and "**no**" in failed


def _sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "intro.md").write_text("## How the figures are made\n\nintro text\n")
    (tmp_path / "targets.md").write_text("## Targets: met or not\n\ntargets text\n")
    (tmp_path / "findings.md").write_text(
        "## What is left (today)\n\n- the left item\n\n## A change (today)\n\nprofile and figures\n"
        "\n## What was left (yesterday, history)\n\nold\n"
    )
    monkeypatch.setattr(report_docs, "INTRO", tmp_path / "intro.md")
    monkeypatch.setattr(report_docs, "TARGETS", tmp_path / "targets.md")
    monkeypatch.setattr(report_docs, "FINDINGS", tmp_path / "findings.md")


def test_the_page_is_the_table_then_how_each_figure_was_reached_then_what_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sources(tmp_path, monkeypatch)
    run = _run("2026-12-06T00:00:00+00:00", [_sweep_row("3.1.0 GET /events", "VEN", "off", 10.0, ["off"])])
    run |= {"finished": "2026-12-06T00:10:00+00:00", "duration_s": 600, "status": "complete"}
    page = report_docs.render_docs({"full": run, "latest": "full"})
    order = [
        "## Endpoint sweep (`make bench`)",
        "| 3.1.0 | GET /events | VEN |",
        "## Targets: met or not",
        "## How the figures are made",
        "## A change (today)",
        "## What was left (yesterday, history)",
        "## What is left (today)",
        "- the left item",
    ]
    at = [page.index(text) for text in order]
    assert at == sorted(at)
    assert page.count("## What is left (today)") == 1


def test_without_a_sweep_the_page_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sources(tmp_path, monkeypatch)
    page = report_docs.render_docs({})
    assert page.index("No endpoint sweep is recorded") < page.index("## Targets: met or not")


def test_progress_gives_row_k_of_n_and_an_eta_from_the_rows_done() -> None:
    now = [100.0]
    said: list[str] = []
    p = progress.Progress(4, planned_row_s=5.0, log=said.append, clock=lambda: now[0], pending_setup_s=10.0)
    p.begin("first")
    assert said[-1] == "  [1/4] first (elapsed 0:00, ETA 0:30)"  # 4 rows × 5 s planned + 10 s setup
    p.setup_done(10.0)
    now[0] += 3.0
    assert p.end() == 3.0
    p.begin("second")
    assert said[-1] == "  [2/4] second (elapsed 0:03, ETA 0:09)"  # 3 rows left × 3 s measured
    assert progress.fmt(3725) == "1:02:05"


def test_the_sweep_estimate_counts_whole_wrk_seconds_and_each_pass_once() -> None:
    one = progress.sweep_seconds([10, 0], duration=2.0, warmup=1.0)
    assert one == progress.SWEEP_PASS_SETUP_S + 10 * (1 + 2 + progress.SWEEP_ROW_OVERHEAD_S)
    both = progress.sweep_seconds([10, 5], duration=2.4, warmup=0.4)  # wrk: 2 s and at least 1 s
    assert both == 2 * progress.SWEEP_PASS_SETUP_S + 15 * (1 + 2 + progress.SWEEP_ROW_OVERHEAD_S)
    recorded = progress.scenario_seconds("ingest", False, 10.0, 2.0, {"ingest": 123.0})
    assert recorded == 123.0
    assert progress.scenario_seconds("ingest", False, 4.0, 2.0, {}) < progress.FULL_SECONDS["ingest"]


def test_a_cut_run_keeps_its_rows_and_renders_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sources(tmp_path, monkeypatch)
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(report_docs, "DOCS", tmp_path / "performance.md")
    monkeypatch.setattr(bench_run, "machine_info", lambda url: {})
    monkeypatch.setattr(bench_run, "_pg_version", lambda url: None)

    def scenarios(args: Any, ctx: Any, selected: Any, sizes: Any, run: Any, recorder: Any, plan: Any) -> Any:
        recorder.before = LoadResult(1000, 0.1, 10_000.0, 1.0, 1.0, 1.0, 1.0, 0, 0, "wrk")
        extra = {"api": "3.1.0", "endpoint": "GET /events", "role": "VEN", "cache": "off", "passes": ["off"]}
        ctx.add(Row("sweep", "3.1.0 GET /events", "sqlite", "VEN, cache off", 2_500.0, extra=extra))
        saved = json.loads(report.RESULTS.read_text())["full"]  # written as soon as it was added
        assert saved["status"] == "running" and saved["rows"][0]["ratio"] == 0.25
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_run, "_scenarios", scenarios)
    assert bench_run.main(["--scenario", "sweep"]) == 1
    saved = json.loads(report.RESULTS.read_text())["full"]
    assert saved["status"] == "cut" and len(saved["rows"]) == 1
    assert saved["baseline"]["after"] is None and saved["rows"][0]["ratio"] == 0.25
    page = report_docs.DOCS.read_text()
    assert "**cut**" in page and "| 3.1.0 | GET /events |" in page


def test_the_sweep_takes_its_own_duration_else_the_runs() -> None:
    assert bench_run._sweep_settings(bench_run.parse_args([])) == (None, None)
    assert bench_run._sweep_settings(bench_run.parse_args(["--duration", "5"])) == (5.0, None)
    both = bench_run.parse_args(["--duration", "8", "--sweep-duration", "2", "--sweep-warmup", "1"])
    assert bench_run._sweep_settings(both) == (2.0, 1.0)


def test_a_row_with_a_baseline_beside_it_is_held_against_that_one() -> None:
    """bench/context.baseline_beside: bare aiohttp measured right after the row, not the run's mean."""
    from bench.recorder import finalize  # noqa: PLC0415 - only this test needs it

    beside = Row(
        "polling", "GET /events", "sqlite", "1,000 VENs", 14_000.0, extra={"baseline_beside": 19_000.0}
    )
    beside.extra["min_ratio"] = 0.7
    alone = Row("polling", "GET /events", "sqlite", "10,000 VENs", 14_000.0, extra={"min_ratio": 0.7})
    failed = Row(
        "polling", "GET /events", "sqlite", "100,000 VENs", 14_000.0, extra={"baseline_beside": None}
    )
    finalize([beside, alone, failed], 23_000.0)
    assert (beside.baseline_rps, beside.ratio, beside.met) == (19_000.0, 0.737, True)
    assert (alone.baseline_rps, alone.ratio, alone.met) == (23_000.0, 0.609, False)
    assert (failed.baseline_rps, failed.ratio) == (23_000.0, 0.609)
