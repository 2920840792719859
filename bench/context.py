"""What every scenario shares: run settings, starting servers, measuring, and profiling."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import profile
from bench.common import (
    BASE_PATH,
    DATA,
    PYTHON,
    VTN_BIN,
    Proc,
    cpu_by_group,
    free_port,
    machine_jiffies,
    spawn,
    wait_http,
    wait_listeners,
)
from bench.load import LoadResult, Request, run_load, write_requests
from bench.report import Row


@dataclass
class Ctx:
    quick: bool
    pg_url: str
    pg_ok: bool
    duration: float
    warmup: float
    connections: int
    threads: int
    scale_duration: float = 5.0
    force_python: bool = False
    profile: bool = False
    uvloop: bool = False
    log: Callable[[str], None] = print
    rows: list[Row] = field(default_factory=list)
    on_row: Callable[[Row], None] | None = None  # told of each row as it is added (results.json)

    def backends(self, wanted: list[str]) -> list[str]:
        """The requested backends that can run here (PostgreSQL only when reachable)."""
        out = []
        for b in wanted:
            if b == "postgresql" and not self.pg_ok:
                self.log(f"  skipping PostgreSQL: {self.pg_url} not reachable")
                continue
            out.append(b)
        return out

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        thr = "" if row.throughput is None else f"{row.throughput:,.0f} {row.unit}"
        lat = "" if row.p50_ms is None else f" p50 {row.p50_ms} ms p99 {row.p99_ms} ms"
        rss = "" if row.peak_rss_mb is None else f" rss {row.peak_rss_mb} MB"
        met = "" if row.met is None else f" [{'met' if row.met else 'NOT met'}: {row.target}]"
        load = row.extra.get("load") or {}
        if load.get("cpu_us_per_request"):
            rss += (
                f" (VTN {load['server_cores']} cores, {load['cpu_us_per_request']:,} µs CPU/req;"
                f" machine busy {load['machine_busy_cores']} cores: {load.get('cores_by_group')})"
            )
        self.log(f"  {row.scenario}: {row.name} ({row.db}, {row.size}): {thr}{lat}{rss} {row.note}{met}")
        if self.on_row is not None:
            self.on_row(row)
        return row

    def requests_file(self, name: str, requests: list[Request]) -> Path:
        path = DATA / f"{name}.req"
        write_requests(path, requests)
        return path

    def measure(
        self,
        proc: Proc,
        reqfile: Path,
        *,
        connections: int | None = None,
        duration: float | None = None,
        warmup: float | None = None,
        between: Callable[[], None] | None = None,
        warm_file: Path | None = None,
        once: bool = False,
        expect: str | None = None,
        rate: float = 0.0,
    ) -> LoadResult:
        """Warm up, call `between`, then the measured run (the server must still be alive afterwards).

        `warm_file`: warm up on other requests (writes that must not repeat); `once`/`expect`: see
        bench.load.run_load (both runs).
        """
        conns = connections or self.connections
        warm = self.warmup if warmup is None else warmup
        if warm > 0:
            run_load(
                proc.port,
                warm_file or reqfile,
                duration=warm,
                connections=conns,
                threads=self.threads,
                force_python=self.force_python,
                once=once,
                expect=expect,
            )
        if between is not None:
            between()
        cpu0, t0, (busy0, total0) = proc.cpu_seconds(), time.monotonic(), machine_jiffies()
        groups0 = cpu_by_group(proc.pids)
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the load generator, once waited for
        result = run_load(
            proc.port,
            reqfile,
            duration=duration or self.duration,
            connections=conns,
            threads=self.threads,
            force_python=self.force_python,
            once=once,
            expect=expect,
            rate=rate,
        )
        cpu = proc.cpu_seconds() - cpu0
        wall = time.monotonic() - t0
        busy1, total1 = machine_jiffies()
        groups1 = cpu_by_group(proc.pids)
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        groups1["loadgen"] = groups0["loadgen"] + (
            children1.ru_utime + children1.ru_stime - children0.ru_utime - children0.ru_stime
        )
        cores = os.cpu_count() or 1
        if not proc.alive():
            raise RuntimeError(f"{proc.name} died during the run:\n{proc.tail()}")
        busy = cores * (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0
        by_group = {k: round((v - groups0.get(k, 0.0)) / wall, 2) for k, v in groups1.items()} if wall else {}
        if by_group:
            # Everything else, including processes that came and went during the run, and the kernel.
            named = by_group["server"] + by_group["postgres"] + by_group["loadgen"]
            by_group["other"] = round(max(0.0, busy - named), 2)
        # How busy the server was: cores used, and CPU per answered request (all its threads).
        return replace(
            result,
            server_cores=round(cpu / wall, 2) if wall else None,
            cpu_us_per_request=round(cpu / result.requests * 1e6) if result.requests else None,
            machine_busy_cores=round(busy, 2) if total1 > total0 else None,
            # Who used the machine meanwhile (a 2-core box is shared with PostgreSQL and wrk).
            cores_by_group=by_group or None,
        )

    def profiled(self, proc: Proc, reqfile: Path, name: str) -> None:
        """An extra (unmeasured) run under py-spy; writes the raw stacks and a text summary."""
        if not self.profile:
            return
        out_dir = DATA / "profiles"
        out_dir.mkdir(parents=True, exist_ok=True)
        raw = out_dir / f"{name}.raw"
        seconds = max(5.0, self.duration)
        spy = profile.record(proc.pid_main, raw, seconds, gil_only=True)
        if spy is None:
            self.log("  (py-spy not installed: no profile)")
            return
        time.sleep(0.5)
        run_load(proc.port, reqfile, duration=seconds + 1, connections=self.connections, threads=self.threads)
        spy.wait(timeout=seconds + 30)
        if raw.exists():
            summary = profile.summarise(raw)
            (out_dir / f"{name}.txt").write_text(summary)
            self.log(f"  profile: {raw} and {raw.with_suffix('.txt')}")

    def start_profile(self, proc: Proc, name: str, seconds: float) -> tuple[Any, Path] | None:
        """py-spy on the VTN from now until stop_profile (for one-shot scenarios such as fan-out)."""
        if not self.profile:
            return None
        out_dir = DATA / "profiles"
        out_dir.mkdir(parents=True, exist_ok=True)
        raw = out_dir / f"{name}.raw"
        spy = profile.record(proc.pid_main, raw, seconds + 5, gil_only=True)
        if spy is None:
            return None
        time.sleep(0.5)
        return spy, raw

    def stop_profile(self, handle: tuple[Any, Path] | None) -> None:
        if handle is None:
            return
        spy, raw = handle
        spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(timeout=30)
        if raw.exists():
            raw.with_suffix(".txt").write_text(profile.summarise(raw))
            self.log(f"  profile: {raw} and {raw.with_suffix('.txt')}")


def vtn_env(webhooks: bool = False) -> dict[str, str]:
    env = {"VTN_LOG_LEVEL": "WARNING"}
    if webhooks:
        env |= {"VTN_WEBHOOK_REQUIRE_HTTPS": "false", "VTN_WEBHOOK_ALLOW_PRIVATE": "true"}
    return env


@contextlib.contextmanager
def vtn(
    ctx: Ctx,
    url: str,
    name: str,
    *,
    processes: int = 1,
    webhooks: bool = False,
    reuse_port: bool = False,
    intake_workers: int = 0,
    env: dict[str, str] | None = None,
) -> Iterator[Proc]:
    """`vtn serve` on a free port; `processes` copies of it sharing the port with `--reuse-port`
    (bench/reuseport_serve.py only for uvloop, which `vtn serve` does not offer). `env`: more
    VTN_* settings."""
    port = free_port()
    env = vtn_env(webhooks) | (env or {})
    use_wrapper = ctx.uvloop
    shared_port = reuse_port or processes > 1
    procs: list[Proc] = []
    try:
        for k in range(processes):
            if use_wrapper:
                argv = [PYTHON, "-m", "bench.reuseport_serve", "--db", url, "--port", str(port)]
                if ctx.uvloop:
                    argv.append("--uvloop")
            else:
                argv = [VTN_BIN, "serve", "--db", url, "--port", str(port), "--no-migrate"]
                argv += ["--intake-workers", str(intake_workers)]
                if shared_port:
                    argv.append("--reuse-port")
            procs.append(spawn(f"{name}-{k}" if processes > 1 else name, argv, port, env))
            wait_http(procs[-1], "/health")
            # /health may be answered by an earlier process: wait until this one listens too.
            wait_listeners(port, k + 1)
        main = procs[0]
        main.extra = procs[1:]
        yield main
    finally:
        for p in procs:
            p.stop()


@contextlib.contextmanager
def baseline_server(ctx: Ctx) -> Iterator[Proc]:
    port = free_port()
    argv = [PYTHON, "-m", "bench.baseline", "--port", str(port)]
    if ctx.uvloop:
        argv.append("--uvloop")
    proc = spawn("baseline", argv, port)
    try:
        wait_http(proc, "/")
        yield proc
    finally:
        proc.stop()


def run_baseline(ctx: Ctx, reqfile: Path) -> LoadResult:
    with baseline_server(ctx) as proc:
        return ctx.measure(proc, reqfile)


def baseline_beside(
    ctx: Ctx, reqfile: Path, duration: float | None = None, warmup: float | None = None
) -> float | None:
    """req/s of bare aiohttp on `reqfile`, measured now, right after a row it is the baseline of.

    Why: the run's baseline is the mean of one measurement before all scenarios and one after them,
    up to half an hour apart, and this machine's speed drifts within minutes (2026-12-05 evening:
    19,198 req/s before, 26,650 after). A target row measured early in a slow phase was then held
    against a baseline it never met: polling 1,000 VENs, 0.72× the baseline measured minutes
    before it, came out 0.60× of the mean. Bare aiohttp gets the same warm-up and the same run
    length as the row. None if it could not be measured (the row then keeps the run's baseline).
    """
    try:
        with baseline_server(ctx) as proc:
            rps = ctx.measure(proc, reqfile, duration=duration, warmup=warmup).rps
    except Exception as exc:  # the row is still reported, against the run's baseline
        ctx.log(f"  baseline beside the row FAILED: {exc}")
        return None
    ctx.log(f"  bare aiohttp beside it: {rps:,.0f} req/s (the row's baseline)")
    return rps


def events_path(group: str) -> str:
    return f"{BASE_PATH}/events?targets={group}"
