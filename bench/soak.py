"""Soak test: `vtn serve` under a steady mixed load for minutes, its memory and descriptors sampled.

    .venv/bin/python bench/soak.py --minutes 10        (or `make soak`; never part of `make test`)

The VTN runs as its own process on a fresh copy of a seeded SQLite database (1,000 VENs with two
resources each, 20 events); the load (bench/soak_load.py) runs as another process for the whole
time. Every `--interval` seconds the VTN's resident set (VmRSS), open file descriptors, threads and
CPU time are read from /proc, beside the load's counts so far; one line per sample.

Verdict: flat when the resident set grew by less than 5 % over the second half (least-squares line
through the second half's samples, from its value at the half to its value at the end) and the
descriptors at the end are at most FD_SLACK above those at the start. Results go to
bench/results-soak.json and the "Soak" section of docs/performance.md (kept in bench/findings.md,
from which `make bench` rebuilds the page's end).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/soak.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import soak_trace
from bench.common import (
    BASE_PATH,
    BENCH,
    DATA,
    PYTHON,
    ROOT,
    VTN_BIN,
    Proc,
    cpu_seconds,
    free_port,
    http_json,
    spawn,
    status_kb,
    wait_http,
)
from bench.context import vtn_env
from bench.seed import BENCH_SECRET, SeedSpec, ensure, group_of, mint_tokens, working_copy
from shared.enums import Role

RESULTS = BENCH / "results-soak.json"
DOCS = ROOT / "docs" / "performance.md"
FINDINGS = BENCH / "findings.md"
HEADING = "## Soak"
GROWTH_LIMIT = 0.05
FD_SLACK = 8  # descriptors that may come and go with the load (sockets in flight, the WAL files)
SPEC = SeedSpec("soak", 1000, resources_per_ven=2)


def sample(pid: int, started: float, stats_file: Path) -> dict[str, Any]:
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = -1
    try:
        load = json.loads(stats_file.read_text())
    except (OSError, ValueError):
        load = {}
    return {
        "t_s": round(time.monotonic() - started, 1),
        "rss_kb": status_kb(pid, "VmRSS"),
        # Of it: heap (Python objects, SQLite's page caches), mapped files, shared memory (the WAL index).
        "rss_anon_kb": status_kb(pid, "RssAnon"),
        "rss_file_kb": status_kb(pid, "RssFile"),
        "rss_shmem_kb": status_kb(pid, "RssShmem"),
        "fds": fds,
        "threads": status_kb(pid, "Threads"),  # not kB: the count (same "Key: value" line)
        "cpu_s": round(cpu_seconds(pid) or 0.0, 2),
        "requests": load.get("requests", 0),
        "unexpected": sum(load.get("unexpected", {}).values()),
        "transport_errors": sum(load.get("transport_errors", {}).values()),
        "dropped": load.get("dropped_connections", 0),
        "load": load,
    }


def slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line y = a + b·x through `points`: (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0
    return my - b * mx, b


def verdict(samples: list[dict[str, Any]]) -> dict[str, Any]:
    loaded = [s for s in samples if s["t_s"] > 0]
    first, last = loaded[0], loaded[-1]
    half = last["t_s"] / 2
    second = [(s["t_s"] / 60, s["rss_kb"] / 1024) for s in loaded if s["t_s"] >= half]
    a, b = slope(second) if len(second) >= 2 else (second[0][1], 0.0)
    at_half, at_end = a + b * half / 60, a + b * last["t_s"] / 60
    growth = (at_end - at_half) / at_half if at_half else 0.0
    rss_flat = growth < GROWTH_LIMIT
    fds_flat = last["fds"] <= first["fds"] + FD_SLACK
    return {
        "idle_rss_mb": round(samples[0]["rss_kb"] / 1024, 1),
        "idle_fds": samples[0]["fds"],
        "start_rss_mb": round(first["rss_kb"] / 1024, 1),
        "end_rss_mb": round(last["rss_kb"] / 1024, 1),
        "max_rss_mb": round(max(s["rss_kb"] for s in loaded) / 1024, 1),
        "start_rss_anon_mb": round((first.get("rss_anon_kb") or 0) / 1024, 1),
        "end_rss_anon_mb": round((last.get("rss_anon_kb") or 0) / 1024, 1),
        "start_fds": first["fds"],
        "end_fds": last["fds"],
        "max_fds": max(s["fds"] for s in loaded),
        "start_threads": first["threads"],
        "end_threads": last["threads"],
        "rss_slope_mb_per_min_second_half": round(b, 3),
        "rss_growth_second_half_pct": round(100 * growth, 2),
        "rss_flat": rss_flat,
        "fds_flat": fds_flat,
        "flat": rss_flat and fds_flat,
    }


def run(
    minutes: float,
    connections: int,
    interval: float,
    trace: bool = False,
    gc_probe: bool = False,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    seconds = minutes * 60
    m = ensure(SPEC, "sqlite", "", log=print)
    url = working_copy(m, "sqlite", "", "soak")
    ven_tokens = mint_tokens(url, m.client_ids)
    plan = {
        "ven_tokens": ven_tokens,
        "groups": [group_of(i) for i in range(len(m.client_ids))],
        "ven_names": m.ven_names,
        "ven_ids": m.ven_ids,
        "client_ids": m.client_ids,
        "secret": BENCH_SECRET,
        "bl_token": mint_tokens(url, [m.bl_client_id], Role.BL)[0],
        "event_ids": m.untargeted_event_ids,
    }
    plan_file, stats_file = DATA / "soak-plan.json", DATA / "soak-stats.json"
    plan_file.write_text(json.dumps(plan))
    stats_file.unlink(missing_ok=True)
    port = free_port()
    argv = [VTN_BIN, "serve", "--db", url, "--port", str(port), "--no-migrate"]
    env = vtn_env() | (extra_env or {})
    trace_dir = DATA / "soak-trace"
    if trace or gc_probe:  # the same `vtn serve`, under tracemalloc (snapshots at half time and at
        # the end) or not (--gc-probe), and a full collection on SIGUSR2 (bench/soak_trace.py)
        argv = [PYTHON, "-m", "bench.soak_trace", *argv[1:]]
        env["SOAK_TRACE_DIR"] = str(trace_dir)
        env["SOAK_TRACEMALLOC"] = "1" if trace else "0"
        for old in trace_dir.glob("snap-*"):
            old.unlink()
    server: Proc = spawn("vtn-soak", argv, port, env)
    snapshots: list[Path] = []
    probe: dict[str, Any] = {}
    load: Proc | None = None
    samples: list[dict[str, Any]] = []
    uptime_before = Path("/proc/loadavg").read_text().split()[:3]
    began = datetime.now(UTC)
    try:
        wait_http(server, "/health", timeout=180.0 if trace else 60.0)
        status, body = http_json("GET", f"http://127.0.0.1:{port}{BASE_PATH}/events", ven_tokens[0])
        if status != 200:
            raise RuntimeError(f"preflight GET /events: HTTP {status}: {body}")
        pid = server.pid_main
        started = time.monotonic()
        samples.append(sample(pid, started, stats_file) | {"t_s": 0.0})
        load_argv = [PYTHON, "-m", "bench.soak_load", f"http://127.0.0.1:{port}", str(plan_file)]
        load_argv += [
            "--connections",
            str(connections),
            "--seconds",
            str(seconds),
            "--stats",
            str(stats_file),
        ]
        load = spawn("soak-load", load_argv, port)
        print(
            f"soak: VTN pid {pid} on port {port}, {minutes:g} min, {connections} connections, load avg "
            f"{' '.join(uptime_before)}"
        )
        print(
            f"{'t s':>6} {'RSS MB':>7} {'fds':>4} {'thr':>4} {'VTN cpu s':>9} {'requests':>9} "
            f"{'req/s':>6} {'unexp.':>6} {'transp.':>7} {'dropped':>7}"
        )
        _line(samples[0], None)
        next_at = started + interval
        while True:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            if not server.alive():
                raise RuntimeError(f"the VTN died during the soak:\n{server.tail()}")
            done = not load.alive()
            samples.append(sample(pid, started, stats_file))
            if trace and (done or (not snapshots and samples[-1]["t_s"] >= seconds / 2)):
                snapshots.append(_snapshot(pid, trace_dir / f"snap-{len(snapshots)}.snap"))
            _line(samples[-1], samples[-2])
            if done:
                break
        if load.popen.returncode:
            raise RuntimeError(f"the load process failed:\n{load.tail()}")
        if gc_probe:
            probe = _gc_probe(server, pid)
    finally:
        if load is not None:
            load.stop()
        server.stop()
    result = {
        "began": began.isoformat(timespec="seconds"),
        "minutes": minutes,
        "connections": connections,
        "interval_s": interval,
        "vtn_env": extra_env or {},
        "load_average_before": uptime_before,
        "load_average_after": Path("/proc/loadavg").read_text().split()[:3],
        "database": "sqlite (fresh copy of a seeded file: 1,000 VENs, 2,000 resources, 20 events)",
        "final_load": samples[-1]["load"],
        "summary": verdict(samples),
        "samples": [{k: v for k, v in s.items() if k != "load"} for s in samples],
    }
    if gc_probe:
        result["gc_probe"] = probe
    if len(snapshots) == 2:
        result["tracemalloc_diff"] = soak_trace.diff(snapshots[0], snapshots[1])
    return result


def _gc_probe(server: Proc, pid: int) -> dict[str, Any]:
    """One full collection in the idle VTN: what it found, and the resident set before and after."""
    before = status_kb(pid, "VmRSS") or 0
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [ln for ln in server.log.read_text(errors="replace").splitlines() if ln.startswith("SOAKGC ")]
        if lines:
            time.sleep(1.0)
            found = json.loads(lines[-1].removeprefix("SOAKGC "))
            after = status_kb(pid, "VmRSS") or 0
            return {"rss_before_mb": round(before / 1024, 1), "rss_after_mb": round(after / 1024, 1), **found}
        time.sleep(0.2)
    raise RuntimeError("the VTN did not report its garbage collection")


def _snapshot(pid: int, path: Path, timeout: float = 120.0) -> Path:
    """Ask the traced VTN for a tracemalloc snapshot and wait until it is written."""
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no tracemalloc snapshot {path} after {timeout:.0f} s")
        time.sleep(0.2)
    return path


def _line(s: dict[str, Any], prev: dict[str, Any] | None) -> None:
    rate = ""
    if prev is not None and s["t_s"] > prev["t_s"]:
        rate = f"{(s['requests'] - prev['requests']) / (s['t_s'] - prev['t_s']):.0f}"
    print(
        f"{s['t_s']:>6.0f} {s['rss_kb'] / 1024:>7.1f} {s['fds']:>4} {s['threads']:>4} {s['cpu_s']:>9.1f} "
        f"{s['requests']:>9,} {rate:>6} {s['unexpected']:>6} {s['transport_errors']:>7} {s['dropped']:>7}",
        flush=True,
    )


def section(result: dict[str, Any]) -> str:
    """The "Soak" section of docs/performance.md."""
    s, fl = result["summary"], result["final_load"]
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(fl.get("by_kind", {}).items()))
    req = fl.get("requests", 0)
    secs = fl.get("elapsed_s") or 1
    return "\n".join(
        [
            HEADING,
            "",
            f"`python bench/soak.py --minutes {result['minutes']:g}` (`make soak`), run {result['began']}: "
            "one "
            f"`vtn serve` on a {result['database']}, a mixed load from a separate process "
            f"(bench/soak_load.py: 70 % VEN polls, 20 % VEN reports with 24 intervals, 10 % BL reads, plus "
            f"token grants, bad requests and connections dropped mid-request) over {result['connections']} "
            f"connections; the VTN sampled from /proc every {result['interval_s']:g} s. Load average "
            f"{' '.join(result['load_average_before'])} before, "
            f"{' '.join(result['load_average_after'])} after "
            "(2 cores shared with other work: the request rate is not the point here).",
            "",
            f"Requests: {req:,} in {secs:,.0f} s ({req / secs:,.0f}/s: {kinds}); "
            f"{sum(fl.get('unexpected', {}).values())} unexpected answers, "
            f"{sum(fl.get('transport_errors', {}).values())} transport errors, "
            f"{fl.get('dropped_connections', 0)} connections dropped on purpose.",
            "",
            "| | Idle | Start (first sample under load) | End | Max |",
            "|---|--:|--:|--:|--:|",
            f"| RSS MB | {s['idle_rss_mb']} | {s['start_rss_mb']} | {s['end_rss_mb']} | {s['max_rss_mb']} |",
            f"| of it heap (RssAnon) MB | | {s.get('start_rss_anon_mb', '–')} | "
            f"{s.get('end_rss_anon_mb', '–')} | |",
            f"| Open fds | {s['idle_fds']} | {s['start_fds']} | {s['end_fds']} | {s['max_fds']} |",
            f"| Threads | | {s['start_threads']} | {s['end_threads']} | |",
            "",
            f"RSS slope over the second half: {s['rss_slope_mb_per_min_second_half']} MB/min "
            f"({s['rss_growth_second_half_pct']} % over the second half). Verdict: "
            f"**{'flat' if s['flat'] else 'NOT flat'}** (RSS growth over the second half < "
            f"{100 * GROWTH_LIMIT:.0f} %: {'yes' if s['rss_flat'] else 'no'}; fds at the end ≤ start + "
            f"{FD_SLACK}: {'yes' if s['fds_flat'] else 'no'}). Every sample: bench/results-soak.json.",
            "",
        ]
    )


def upsert_section(path: Path, text: str) -> None:
    """Replace the page's "## Soak" section (up to the next "## " heading), or append it."""
    old = path.read_text() if path.exists() else ""
    start = old.find(f"\n{HEADING}\n")
    if start < 0:
        path.write_text(old.rstrip("\n") + "\n\n" + text)
        return
    end = old.find("\n## ", start + 1)
    rest = old[end:] if end >= 0 else ""
    path.write_text(old[: start + 1] + text + rest)


def print_summary(result: dict[str, Any]) -> None:
    s = result["summary"]
    print()
    print(f"{'':<10} {'idle':>8} {'start':>8} {'end':>8} {'max':>8}")
    print(
        f"{'RSS MB':<10} {s['idle_rss_mb']:>8} {s['start_rss_mb']:>8} {s['end_rss_mb']:>8} "
        f"{s['max_rss_mb']:>8}"
    )
    print(f"{'fds':<10} {s['idle_fds']:>8} {s['start_fds']:>8} {s['end_fds']:>8} {s['max_fds']:>8}")
    print(f"{'threads':<10} {'':>8} {s['start_threads']:>8} {s['end_threads']:>8}")
    print(
        f"RSS slope, second half: {s['rss_slope_mb_per_min_second_half']} MB/min "
        f"({s['rss_growth_second_half_pct']} % over the second half)"
    )
    print(
        f"verdict: {'FLAT' if s['flat'] else 'NOT FLAT'} "
        f"(rss flat: {s['rss_flat']}, fds flat: {s['fds_flat']})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=8, help="keep-alive connections of the load")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--no-docs", action="store_true", help="do not write results-soak.json / the docs")
    p.add_argument(
        "--gc-probe",
        action="store_true",
        help="at the end, one full garbage collection in the VTN: what it found, and the RSS after it",
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="run the VTN under tracemalloc and print what grew over the second half (implies --no-docs)",
    )
    p.add_argument(
        "--vtn-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the VTN only (e.g. MALLOC_ARENA_MAX=2, or SOAK_SQLITE_CACHE_KIB=256 "
        "with --gc-probe); repeatable",
    )
    args = p.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.vtn_env)
    result = run(args.minutes, args.connections, args.interval, args.trace, args.gc_probe, extra)
    if args.gc_probe:
        print(f"full collection at the end: {json.dumps(result['gc_probe'])}")
    if args.trace:
        print(result.get("tracemalloc_diff", "(no tracemalloc snapshots)"))
        args.no_docs = True  # a traced VTN is slower and bigger: its figures are not the soak's
    print_summary(result)
    if not args.no_docs:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        text = section(result)
        upsert_section(DOCS, text)
        upsert_section(FINDINGS, text)
        print(
            f"wrote {RESULTS.relative_to(ROOT)}, "
            "the Soak section of docs/performance.md and bench/findings.md"
        )
    sys.exit(0 if result["summary"]["flat"] else 1)


if __name__ == "__main__":
    main()
