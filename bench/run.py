"""Benchmark the VTN: `python bench/run.py` (full, `make bench`) or `--quick` (`make bench-quick`).

Each scenario starts the VTN as its own process on a seeded database, loads it from a separate
process over loopback (wrk, or bench/pyload.py without wrk), and records throughput, p50/p99
latency and the VTN's peak RSS. The bare-aiohttp baseline (bench/baseline.py) is measured before
and after the scenarios, loaded the same way; rows report VTN/baseline ratios against its mean.

Before it starts, the run prints what it expects each scenario to take (bench/progress.py). Every
row is written to bench/results.json as soon as it is measured (its ratio against the baseline
measured before; the mean replaces it at the end), so a run that is cut (Ctrl-C, SIGTERM) keeps
its rows; docs/performance.md is rendered from bench/results.json at the end, cut or not.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: make `bench`, `vtn` and `shared` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (  # noqa: E402
    progress,
    report,
    report_docs,
    scenarios_mixed,
    scenarios_mqtt,
    scenarios_peer,
    scenarios_read,
    scenarios_scale,
    scenarios_write,
    sweep,
)
from bench.common import DATA, DEFAULT_PG_URL, _pg_version, machine_info  # noqa: E402
from bench.context import Ctx, run_baseline  # noqa: E402
from bench.load import LoadResult, have_wrk  # noqa: E402
from bench.recorder import Recorder, Stopped, finalize, stop  # noqa: E402
from bench.report import Row  # noqa: E402
from bench.seed import clean, ensure, mint_tokens  # noqa: E402

SCENARIOS = ["polling", "ingest", "fanout", "mqtt", "mixed", "scale", "scaleout", "mtls", "oadr20b", "sweep"]
QUICK_SCENARIOS = ["polling", "ingest", "fanout", "sweep"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="about three minutes: polling 1,000 VENs, ingest, fan-out 1,000, a dozen sweep steps",
    )
    p.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="run only this scenario (repeatable)"
    )
    p.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        help="run polling/scale/ingest/fanout/sweep on this database only "
        "(default: SQLite, plus PostgreSQL for ingest; scaleout PostgreSQL unless --db sqlite)",
    )
    p.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (databases vtnbench_* are made there)"
    )
    p.add_argument(
        "--sizes", help="VEN counts for polling/scale, comma-separated (default 1000,10000,100000)"
    )
    p.add_argument(
        "--fanout", type=int, help="webhook subscribers, or VENs for mqtt (default 10000; quick 1000)"
    )
    p.add_argument(
        "--duration", type=float, help="seconds per measurement (default 10; quick 4; sweep steps 2)"
    )
    p.add_argument(
        "--warmup",
        type=float,
        help="warm-up seconds before each measurement (default 2; quick 1; sweep steps 1)",
    )
    p.add_argument(
        "--sweep-duration",
        type=float,
        help="seconds per sweep step (default: --duration if given, else 2): with --duration, "
        "the other scenarios' measurements change without the sweep's",
    )
    p.add_argument("--sweep-warmup", type=float, help="warm-up seconds per sweep step (default 1)")
    p.add_argument(
        "--only",
        metavar="PATTERN",
        help="sweep: only the steps whose label ('3.1.0 GET /events/{id} VEN', '2.0b POST "
        "OadrPoll:oadrPoll VEN', ...) contains PATTERN or matches it as a regex (case-insensitive)",
    )
    p.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32)")
    p.add_argument("--threads", type=int, default=1, help="load generator threads (default 1)")
    p.add_argument("--python-load", action="store_true", help="use bench/pyload.py even if wrk is installed")
    p.add_argument(
        "--ingest-runs",
        help="ingest runs as PROCESSESxCONNECTIONS[wWORKERS], comma-separated (default: SQLite "
        "1x32,1x64,1x64w1 and, in full runs, 1x128,1x128w1; PostgreSQL 1x32,1x64,1x64w1,2x64,2x128): "
        "with 2 processes, two `vtn serve --reuse-port` share the port; wN adds --intake-workers N",
    )
    p.add_argument("--profile", action="store_true", help="also record polling and ingest with py-spy")
    p.add_argument("--uvloop", action="store_true", help="run VTN and baseline on uvloop (needs uvloop)")
    p.add_argument("--no-docs", action="store_true", help="do not write results.json / docs/performance.md")
    p.add_argument(
        "--clean", action="store_true", help="remove bench/.data and drop the vtnbench_* databases, then exit"
    )
    return p.parse_args(argv)


def _ingest_run(spec: str) -> tuple[int, int, int]:
    """ "2x64" -> (2, 64, 0); "1x64w1" -> (1, 64, 1): processes, connections, intake workers."""
    head, _, workers = spec.lower().partition("w")
    processes, connections = head.split("x")
    return int(processes), int(connections), int(workers or 0)


def _expected(
    args: argparse.Namespace, ctx: Ctx, selected: list[str], recorded: dict[str, Any]
) -> list[tuple[str, float]]:
    """What each part of the run should take on a quiet machine (bench/progress.py)."""
    out = [("baseline, before and after", progress.baseline_seconds(ctx.duration, ctx.warmup))]
    for name in selected:
        if name == "sweep":
            seconds = sweep.expected_seconds(ctx, args.only, *_sweep_settings(args))
        else:
            seconds = progress.scenario_seconds(name, ctx.quick, ctx.duration, ctx.warmup, recorded)
        out.append((name, seconds))
    return out


def _sweep_settings(args: argparse.Namespace) -> tuple[float | None, float | None]:
    """The sweep's --sweep-duration / --sweep-warmup, else --duration / --warmup (None: its own)."""
    duration = args.sweep_duration if args.sweep_duration is not None else args.duration
    warmup = args.sweep_warmup if args.sweep_warmup is not None else args.warmup
    return duration, warmup


def _recorded_timings(mode: str, ctx: Ctx) -> dict[str, Any]:
    """The scenarios' times in the last complete run of this mode with the same settings."""
    last = report.load_all().get(mode) or {}
    s = last.get("settings", {})
    same = s.get("duration") == ctx.duration and s.get("warmup") == ctx.warmup
    return dict(last.get("timings", {})) if same and last.get("status", "complete") == "complete" else {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.clean:
        clean(args.pg_url)
        return 0
    started = datetime.now(UTC)
    t_start = time.monotonic()
    load_start = [round(x, 2) for x in os.getloadavg()]
    quick = args.quick
    mode = "quick" if quick else "full"
    selected = args.scenario or (QUICK_SCENARIOS if quick else SCENARIOS)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([1000] if quick else [1000, 10_000, 100_000])
    )
    pg_ok = _pg_version(args.pg_url) is not None
    ctx = Ctx(
        quick=quick,
        pg_url=args.pg_url,
        pg_ok=pg_ok,
        duration=args.duration or (4.0 if quick else 10.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if quick else 2.0),
        connections=args.connections,
        threads=args.threads,
        scale_duration=3.0 if quick else 5.0,
        force_python=args.python_load,
        profile=args.profile,
        uvloop=args.uvloop,
        log=lambda msg: print(msg, flush=True),
    )
    generator = "wrk" if have_wrk() and not args.python_load else "bench/pyload.py"
    print(f"bench: {mode} run of {', '.join(selected)} with {generator}", flush=True)
    plan = _expected(args, ctx, selected, _recorded_timings(mode, ctx))
    total = sum(seconds for _, seconds in plan)
    print("  expected on a quiet 2-core machine (seeded data cached in bench/.data):", flush=True)
    for name, seconds in plan:
        print(f"    {name:<28} {progress.fmt(seconds):>8}", flush=True)
    if not any(DATA.glob("sqlite-*.json")):
        print("    + seeding the databases (first run here: a few minutes more)", flush=True)
    busy = f"; load average now {load_start[0]}: expect longer" if load_start[0] > 2 else ""
    print(f"    {'total':<28} {progress.fmt(total):>8}{busy}", flush=True)
    DATA.mkdir(parents=True, exist_ok=True)

    sweep_duration, sweep_warmup = sweep.settings(*_sweep_settings(args))
    partial = bool(args.scenario) or bool(args.sizes) or bool(args.db) or bool(args.only)
    run: dict[str, Any] = {
        "mode": mode,
        "status": "running",
        "started": started.isoformat(timespec="seconds"),
        "finished": None,
        "duration_s": None,
        "command": " ".join(
            ["python bench/run.py", shlex.join(sys.argv[1:] if argv is None else argv)]
        ).strip(),
        "scenarios": selected,
        "loadavg_start": load_start,
        "loadavg_end": None,
        "machine": machine_info(args.pg_url),
        "settings": {
            "generator": generator,
            "connections": ctx.connections,
            "threads": ctx.threads,
            "duration": ctx.duration,
            "warmup": ctx.warmup,
            "sweep_duration": sweep_duration,
            "sweep_warmup": sweep_warmup,
            "uvloop": ctx.uvloop,
        },
        "expected_s": {name: round(seconds) for name, seconds in plan},
        "timings": {},
        "baseline": {},
        "rows": [],
        "failures": [],
    }
    recorder = Recorder(run, ctx.rows, partial, write=not args.no_docs)
    ctx.on_row = recorder.row
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        _scenarios(args, ctx, selected, sizes, run, recorder, plan)
        run["status"] = "complete"
    except (KeyboardInterrupt, Stopped) as exc:
        run["status"] = "cut"
        run["cut_reason"] = str(exc) or "Ctrl-C"
        print(f"\nbench: cut ({run['cut_reason']}): {len(ctx.rows)} rows kept", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        _close(run, ctx, recorder.before, recorder.after, t_start)
        data = recorder.save(final=run["status"] == "complete")
        print()
        print(report.table(run["rows"]))
        if data:
            report_docs.write_docs(data)
            print(f"wrote {report.RESULTS} and {report_docs.DOCS} ({run['duration_s']:.0f} s)")
    return 0 if run["status"] == "complete" else 1


def _close(
    run: dict[str, Any], ctx: Ctx, before: LoadResult | None, after: LoadResult | None, t_start: float
) -> None:
    """The run's end: the baseline's mean (or the one measurement there is), ratios, times."""
    measured = [r.rps for r in (before, after) if r is not None]
    mean = sum(measured) / len(measured) if measured else 0.0
    finalize(ctx.rows, mean)
    run["baseline"] = {
        "before": before.rps if before else None,
        "after": after.rps if after else None,
        "rps": round(mean, 1),
        "before_load": before.as_dict() if before else None,
        "after_load": after.as_dict() if after else None,
    }
    run["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    run["duration_s"] = round(time.monotonic() - t_start, 1)
    run["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]


def _scenarios(
    args: argparse.Namespace,
    ctx: Ctx,
    selected: list[str],
    sizes: list[int],
    run: dict[str, Any],
    recorder: Recorder,
    plan: list[tuple[str, float]],
) -> None:
    """The baseline, every selected scenario, the baseline again (kept on `recorder`); a failed
    scenario is a row."""
    t0 = time.monotonic()
    expected = dict(plan)
    total = sum(expected.values())
    failures: list[str] = run["failures"]
    timings: dict[str, float] = run["timings"]

    def attempt(name: str, fn: Any, *fn_args: Any) -> None:
        t = time.monotonic()
        first = name not in timings
        said = f"expected {progress.fmt(expected.get(name, 0))} in all; " if first else "continued; "
        print(f"== {name} ({said}run so far {progress.fmt(t - t0)} of ~{progress.fmt(total)})", flush=True)
        try:
            fn(*fn_args)
        except Exception as exc:  # a failed scenario is reported, the others still run
            failures.append(f"{name}: {exc}")
            print(f"  {name} FAILED: {exc}", flush=True)
            ctx.add(Row(name, "failed", note=str(exc).splitlines()[0][:120], met=False))
        finally:
            timings[name] = round(timings.get(name, 0.0) + time.monotonic() - t, 1)

    # The baseline is loaded with the polling requests of 1,000 VENs: same paths, same headers.
    base_manifest = ensure(scenarios_read.vens_spec(1000), "sqlite", args.pg_url, log=ctx.log)
    base_reqs = scenarios_read.poll_requests(
        base_manifest, mint_tokens(base_manifest.url, base_manifest.client_ids)
    )
    base_file = ctx.requests_file("baseline", base_reqs)
    before = recorder.before = _baseline(ctx, base_file, failures)
    if before is not None:
        latency = f"p50 {before.p50_ms} ms p99 {before.p99_ms} ms"
        print(f"  baseline (bare aiohttp): {before.rps:,.0f} req/s {latency}", flush=True)
    db, quick = args.db, ctx.quick
    read_backends = [db] if db else ["sqlite"]
    for backend in ctx.backends(read_backends):
        do_poll, do_scale = "polling" in selected, "scale" in selected
        if do_poll or do_scale:
            attempt(
                "polling" if do_poll else "scale",
                scenarios_read.vens_sessions,
                ctx,
                backend,
                sizes,
                do_poll,
                do_scale,
            )
        if do_scale and len(set(sizes)) > 1:
            attempt("scale", scenarios_scale.scale_rounds, ctx, backend, min(sizes), max(sizes))
    if "ingest" in selected:
        ingest_backends = [db] if db else (["sqlite"] if quick else ["sqlite", "postgresql"])
        for backend in ctx.backends(ingest_backends):
            sqlite_runs = "1x32,1x64,1x64w1" if quick else "1x32,1x64,1x128,1x64w1,1x128w1"
            pg_runs = "1x32,1x64,1x64w1,2x64,2x128"
            runs = args.ingest_runs or (sqlite_runs if backend == "sqlite" else pg_runs)
            for run_spec in runs.split(","):
                processes, connections, workers = _ingest_run(run_spec)
                attempt("ingest", scenarios_write.ingest, ctx, backend, processes, connections, workers)
    if "fanout" in selected:
        subs = args.fanout or (1000 if quick else 10_000)
        for backend in ctx.backends([db] if db else ["sqlite"]):
            attempt("fanout", scenarios_write.fanout, ctx, backend, subs)
    if "mqtt" in selected:
        vens = args.fanout or (1000 if quick else 10_000)
        for backend in ctx.backends([db] if db else ["sqlite"]):
            attempt("mqtt", scenarios_mqtt.mqtt_fanout, ctx, backend, vens)
    if "mixed" in selected:
        for backend in ctx.backends([db] if db else ["sqlite"]):
            attempt("mixed", scenarios_mixed.mixed, ctx, backend)
    if "scaleout" in selected:
        attempt("scaleout", scenarios_read.scaleout, ctx, 1000 if quick else 10_000, db or "postgresql")
    if "mtls" in selected:
        attempt("mtls", scenarios_peer.mtls, ctx)
    if "oadr20b" in selected:
        attempt("oadr20b", scenarios_peer.oadr20b, ctx)
    if "sweep" in selected:
        for backend in ctx.backends([db or "sqlite"]):
            attempt("sweep", sweep.sweep, ctx, args.only, *_sweep_settings(args), backend)

    after = recorder.after = _baseline(ctx, base_file, failures)
    if after is not None:
        print(f"  baseline (bare aiohttp), again: {after.rps:,.0f} req/s", flush=True)


def _baseline(ctx: Ctx, base_file: Path, failures: list[str]) -> LoadResult | None:
    try:
        return run_baseline(ctx, base_file)
    except Exception as exc:  # no ratios then, but the rows still count
        failures.append(f"baseline: {exc}")
        print(f"  baseline FAILED: {exc}", flush=True)
        return None


if __name__ == "__main__":
    sys.exit(main())
