"""Endpoint sweep (`bench/run.py --scenario sweep`): every endpoint of the 3.1.0, 3.0.1 and 2.0b
APIs, as VEN and as BL, on one seeded SQLite database (or PostgreSQL: `--db postgresql`), with the
read cache off; then, with the read cache on, the steps the cache can change (bench/sweep_plan.py
`cache_dependent`: cached list answers, cached grants, the 2.0b poll cache). The others run the
same code with the cache on, so they are measured once and the table says so.

Data: 1,000 VENs with 10 resources each, 20 events of 24 hourly intervals (10 untargeted, 10 for 10
of the 100 groups: a VEN sees 11), one program; added to the working copy of each pass: 100 VEN
subscriptions, 200 VEN reports (posted before the steps), one BL client with a known secret (for
`POST /auth/token` as BL), and for 2.0b 40 VENs registered over HTTP (bench/sweep_20b.py).
Every step (bench/sweep_plan.py) is checked before it is measured (its first request must get the
expected status, a list must not be empty), and every answer of the measured run is counted:
wrk's non-2xx count, and for 2.0b the responseCode in the body. A step whose answers are mostly
errors is a bug of the sweep: its row says so instead of a throughput worth reading. A step that
fails records its error as its row and the sweep goes on (a VTN that died is started again); a
pass whose setup fails records every one of its steps as failed. Progress: `[k/N] step (elapsed,
ETA)` before each step.

The VTN runs with the limits of bench/common.py UNLIMITED off, no delivery worker (the sweep's
writes start no fan-out, see bench/sweep_plan.py), plain-HTTP webhooks allowed and no echo
challenge (so `POST /subscriptions` measures the VTN, not a round trip to a subscriber). Cache off
is `read_cache_seconds = 0` and `grant_cache_seconds = 0` (docs/config-reference.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from pathlib import Path

from bench import sweep_20b as b20
from bench import sweep_plan as plan
from bench.common import Proc
from bench.context import Ctx, baseline_beside, vtn
from bench.load import LoadResult, Request, run_load
from bench.progress import SWEEP_PASS_SETUP_S, Progress, fmt, sweep_row_seconds, sweep_seconds
from bench.report import Row
from bench.seed import SeedSpec, add_subscriptions, ensure, mint_tokens, working_copy
from bench.sweep_plan import VEN, Obj, Step, World
from bench.sweep_setup import add_bl_client, created, first_line, preflight, thread_cpu, timed
from shared.durations import to_us, utcnow
from shared.enums import Role
from vtn.core.ids import assigned_id

SPEC = SeedSpec("sweep-1000", 1000, resources_per_ven=10, events=20, intervals=24)
SUBSCRIPTIONS = 100
REPORTS = 200
VENS_20B = 40  # more VENs than connections; registered 8 at a time (setup, not measured)
WRITE_RATE = 2500.0  # requests/s a write step's files are sized for (each line is sent once)
SETUP_OBJECTS = 300  # objects made for a PUT/DELETE step whose POST step did not run (or made few)
UPDATE_POOL = 2000
ERROR_SHARE = 0.01  # more errors than this: the step is broken, not slow
MIN_ANSWERS = 50  # fewer in a measured run (a slow step on a busy machine): measure it again, longer
RETRY_FACTOR = 3
DURATION, WARMUP = 2.0, 1.0  # per step unless --duration / --warmup (wrk runs whole seconds)
ENV = {
    "VTN_DELIVERY_WORKER": "false",
    "VTN_WEBHOOK_REQUIRE_HTTPS": "false",
    "VTN_WEBHOOK_ALLOW_PRIVATE": "true",
    "VTN_WEBHOOK_ECHO_CHALLENGE": "false",
}
CACHE_OFF = {"VTN_READ_CACHE_SECONDS": "0", "VTN_GRANT_CACHE_SECONDS": "0"}


def selected(only: str | None, quick: bool, cache: str = "") -> dict[bool, list[Step]]:
    """The steps of each pass (cache off: False, on: True), filtered by --only (substring or regex).

    The cache-on pass runs only the steps the read cache can change (the quick form: GET /events).
    `cache` ("off" or "on", BENCH_SWEEP_CACHE) runs one pass only; asked for by name, the cache-on
    pass runs every selected step (to check that a step does not depend on the cache)."""

    def match(step: Step) -> bool:
        if not only:
            return True
        label = step.label
        return only.lower() in label.lower() or re.search(only, label, re.IGNORECASE) is not None

    everything = [s for s in plan.steps() if match(s)]
    if quick:
        off = [s for s in everything if s.label in plan.QUICK_OFF]
        on = [s for s in everything if s.label in plan.QUICK_ON]
    else:
        off, on = everything, [s for s in everything if plan.cache_dependent(s)]
    if cache == "on":
        return {False: [], True: on if quick else everything}
    if cache == "off":
        return {False: off, True: []}
    return {False: off, True: on}


def settings(duration: float | None, warmup: float | None) -> tuple[float, float]:
    """Seconds per step and of its warm-up: --duration / --warmup, else the sweep's own."""
    return duration or DURATION, WARMUP if warmup is None else warmup


def expected_seconds(ctx: Ctx, only: str | None, duration: float | None, warmup: float | None) -> float:
    passes = selected(only, ctx.quick, os.environ.get("BENCH_SWEEP_CACHE", ""))
    dur, warm = settings(duration, warmup)
    return sweep_seconds([len(passes[False]), len(passes[True])], dur, warm)


def sweep(
    ctx: Ctx,
    only: str | None = None,
    duration: float | None = None,
    warmup: float | None = None,
    backend: str = "sqlite",
) -> None:
    # BENCH_SWEEP_CACHE=off|on: one pass only (profiling a step does not need both).
    passes = selected(only, ctx.quick, os.environ.get("BENCH_SWEEP_CACHE", ""))
    if not any(passes.values()):
        raise RuntimeError(f"--only {only!r} matches no sweep step (see bench/sweep_plan.py)")
    dur, warm = settings(duration, warmup)
    counts = [len(passes[False]), len(passes[True])]
    ctx.log(
        f"  sweep: {counts[0]} steps with the read cache off, {counts[1]} with it on (the steps the "
        f"cache can change), {warm:g} s warm-up + {dur:g} s each; expected "
        f"{fmt(sweep_seconds(counts, dur, warm))} on a quiet machine"
    )
    progress = Progress(
        sum(counts),
        sweep_row_seconds(dur, warm),
        log=ctx.log,
        pending_setup_s=SWEEP_PASS_SETUP_S * sum(1 for n in counts if n),
    )
    for cache_on in (False, True):  # one VTN and one working copy per cache setting
        if passes[cache_on]:
            planned_on = {s.label for s in passes[True]}
            _Pass(ctx, cache_on, dur, warm, backend, progress, planned_on).run(passes[cache_on])
    rows = progress.row_seconds
    if rows:
        ctx.log(
            f"  sweep: {len(rows)} steps in {fmt(progress.elapsed())} "
            f"({sum(rows) / len(rows):.1f} s per step, setup included: "
            f"{progress.elapsed() / len(rows):.1f} s)"
        )


class _Pass:
    """One cache setting: a working copy of the seeded database, one VTN, every selected step."""

    def __init__(
        self,
        ctx: Ctx,
        cache_on: bool,
        duration: float,
        warmup: float,
        backend: str,
        progress: Progress,
        planned_on: set[str],
    ) -> None:
        self.ctx, self.cache_on, self.duration, self.warmup = ctx, cache_on, duration, warmup
        self.backend, self.progress = backend, progress
        self.planned_on = planned_on  # the steps this run measures with the cache on
        self.cache = "on" if cache_on else "off"
        self.created: dict[tuple[str, str, str], list[Obj]] = {}
        self.next_n: dict[tuple[str, str, str], int] = {}
        self.vens20b: list[b20.Ven20b] = []
        self.unready: dict[str, str] = {}  # "reports" | "20b": why that part of the setup failed
        self._vtn: contextlib.ExitStack | None = None
        self.starts = 0  # VTNs started for this pass (one, unless one died)
        self._row_started = time.monotonic()
        self.order = {s.label: i for i, s in enumerate(plan.steps())}  # the table's order

    def run(self, steps: list[Step]) -> None:
        ctx = self.ctx
        ctx.log(f"  sweep, read cache {self.cache}: {len(steps)} steps")
        took: dict[str, float] = {}
        try:
            with timed(took, "data"):
                self._setup()
            with timed(took, "VTN start"):
                self._start_vtn()
            self._setup_running(steps, took)
            ctx.log("  setup: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
        except Exception as exc:  # every step of the pass is reported, none measured
            ctx.log(f"  sweep setup (cache {self.cache}) FAILED: {first_line(exc)}")
            for step in steps:
                self._begin(step)
                self._add(step, None, note=f"sweep setup failed: {first_line(exc)}", met=False)
                self.progress.end()
            self._stop_vtn()
            return
        finally:
            self.progress.setup_done(SWEEP_PASS_SETUP_S)
        try:
            for step in steps:
                self._begin(step)
                try:
                    self._step_once_more_if_the_vtn_died(step)
                except Exception as exc:  # one broken step is reported, the others still run
                    ctx.log(f"  sweep {step.label} (cache {self.cache}) FAILED: {first_line(exc)}")
                    self._add(step, None, note=f"failed: {first_line(exc)}", met=False)
                finally:
                    self.progress.end()
        finally:
            self._stop_vtn()

    def _step_once_more_if_the_vtn_died(self, step: Step) -> None:
        """A step on a VTN that is running; if the VTN died meanwhile, it is started again (same
        working copy) and the step runs once more: a crash is in the VTN's log, not in the table."""
        for attempt in (1, 2):
            if not self.proc.alive():
                self.ctx.log(f"  the VTN had exited; starting it again (log: {self.proc.log})")
                self._stop_vtn()
                self._start_vtn()
            try:
                self._step(step)
                return
            except Exception:
                if attempt == 2 or self.proc.alive():
                    raise

    # -- setup ---------------------------------------------------------------------------------------

    def _setup(self) -> None:
        """The pass's working copy and what the steps' requests are built from."""
        ctx = self.ctx
        m = ensure(SPEC, self.backend, ctx.pg_url, log=ctx.log)
        self.url = working_copy(m, self.backend, ctx.pg_url, f"sweep-cache-{self.cache}")
        sub_ids = add_subscriptions(self.url, m, SUBSCRIPTIONS, plan.CALLBACK)
        bl_client, bl_secret = add_bl_client(self.url)
        tokens = mint_tokens(self.url, m.client_ids)
        bl_token = mint_tokens(self.url, [m.bl_client_id], Role.BL)[0]
        self.report_keys = [f"sweep-report-{i:04d}" for i in range(REPORTS)]
        # A VEN's chosen id is a key: the VTN stores the report under the id it assigns from the
        # VEN's client id and the key (vtn/core/ids.py), which is what the GET steps must ask for.
        report_ids = [assigned_id(m.client_ids[i], k) or k for i, k in enumerate(self.report_keys)]
        self.w = World(m, tokens, bl_token, bl_client, bl_secret, report_ids, sub_ids)
        self.m = m

    def _start_vtn(self) -> None:
        env = ENV | ({} if self.cache_on else CACHE_OFF)
        stack = contextlib.ExitStack()
        self.starts += 1  # a VTN started again logs to its own file: the dead one's log stays
        name = f"vtn-sweep-cache-{self.cache}" + (f"-{self.starts}" if self.starts > 1 else "")
        self.proc: Proc = stack.enter_context(vtn(self.ctx, self.url, name, env=env))
        self._vtn = stack

    def _stop_vtn(self) -> None:
        if self._vtn is not None:
            self._vtn.close()
            self._vtn = None

    def _setup_running(self, steps: list[Step], took: dict[str, float]) -> None:
        """Setup through the VTN, only for the steps that need it; a failure fails those steps only."""
        reads_reports = any(s.collection == "reports" and s.kind in ("list", "get") for s in steps)
        if reads_reports:
            try:
                with timed(took, "reports"):
                    self._seed_reports()
            except Exception as exc:
                self.unready["reports"] = first_line(exc)
        if any(s.api == plan.API20B for s in steps):
            try:
                with timed(took, "2.0b VENs"):
                    client = b20.Client20b(self.proc.port)
                    self.vens20b = b20.register(client, self.m.ven_names[:VENS_20B])
                self.client20b = client
            except Exception as exc:
                self.unready["20b"] = first_line(exc)

    def _begin(self, step: Step) -> None:
        self._row_started = time.monotonic()
        self.progress.begin(f"{step.label}, cache {self.cache}")

    def _seed_reports(self) -> None:
        """VEN i's report for i < REPORTS, with a known key (our extension: client-chosen report ids)."""
        w = self.w
        step = Step(plan.API31, "POST", "/reports", VEN, "create", "reports")
        reqs = []
        for i, rid in enumerate(self.report_keys):
            method, path, token, body = plan.create_request(step, w, i)
            reqs.append((method, path, token, body.replace('{"eventID"', f'{{"id":"{rid}","eventID"', 1)))
        self._send_all("sweep-seed-reports", reqs)

    def _send_all(self, name: str, reqs: list[Request], expect: str | None = None) -> None:
        """Send each request once, unmeasured; every one must succeed."""
        path = self.ctx.requests_file(name, reqs)
        conns = 8
        r = run_load(self.proc.port, path, duration=300, connections=conns, once=True, expect=expect)
        # once: the answers still in flight when the last request went out are not counted
        if r.errors or r.requests < len(reqs) - conns:
            raise RuntimeError(
                f"{name}: {r.errors} errors, {r.requests} of {len(reqs)} setup requests answered"
            )

    # -- steps ---------------------------------------------------------------------------------------

    def _file(self, step: Step, suffix: str, reqs: list[Request]) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", step.label.lower()).strip("-")
        return self.ctx.requests_file(f"sweep-{self.cache}-{slug}{suffix}", reqs)

    def _indices(self, step: Step, count: int) -> range:
        key = (step.api, step.collection, step.role)
        first = self.next_n.get(key, 0)
        self.next_n[key] = first + count
        return range(first, first + count)

    def _step(self, step: Step) -> None:
        w = self.w
        if step.api == plan.API20B and "20b" in self.unready:
            raise RuntimeError(f"2.0b setup failed: {self.unready['20b']}")
        if step.collection == "reports" and step.kind in ("list", "get") and "reports" in self.unready:
            raise RuntimeError(f"seeding the reports failed: {self.unready['reports']}")
        if step.kind in ("list", "get", "token"):
            reqs = plan.token_requests(step, w) if step.kind == "token" else plan.read_requests(step, w)
            self._preflight(step, reqs[0])
            self._measure(step, self._file(step, "", reqs))
        elif step.kind == "20b":
            self._step_20b(step)
        elif step.kind == "create":
            self._create(step)
        elif step.kind == "update":
            objs = self._objects(step)[:UPDATE_POOL]
            reqs = [plan.update_request(step, w, obj, n) for n, obj in enumerate(objs)]
            self._preflight(step, reqs[0])
            self._measure(step, self._file(step, "", reqs))
        else:
            self._delete(step)

    def _create(self, step: Step, measured: bool = True) -> None:
        """POST new objects, each request once; remember what was created for PUT and DELETE."""
        w = self.w
        warm_n = math.ceil(WRITE_RATE * self.warmup) if measured else 0
        count = math.ceil(WRITE_RATE * self.duration) if measured else SETUP_OBJECTS
        since = to_us(utcnow())
        first = self._indices(step, 1).start
        self._preflight(step, plan.create_request(step, w, first))
        warm = [plan.create_request(step, w, n) for n in self._indices(step, warm_n)]
        reqs = [plan.create_request(step, w, n) for n in self._indices(step, count)]
        if measured:
            warm_file = self._file(step, "-warm", warm) if warm else None
            self._measure(step, self._file(step, "", reqs), warm_file=warm_file, once=True)
        else:
            self._send_all(f"sweep-{self.cache}-setup", reqs)
        key = (step.api, step.collection, step.role)
        self.created[key] = self.created.get(key, []) + created(
            self.url, step.collection, since, to_us(utcnow())
        )

    def _objects(self, step: Step) -> list[Obj]:
        key = (step.api, step.collection, step.role)
        if len(self.created.get(key, [])) < 100:  # its POST step did not run (--only): make some
            self._create(Step(step.api, "POST", step.path, step.role, "create", step.collection), False)
        return self.created[key]

    def _delete(self, step: Step) -> None:
        w = self.w
        objs = self._objects(step)
        self.created.pop((step.api, step.collection, step.role))
        self._preflight(step, plan.delete_request(step, w, objs[0]))
        rest = objs[1:]
        warm_n = min(len(rest) // 4, math.ceil(WRITE_RATE * self.warmup))
        warm = [plan.delete_request(step, w, o) for o in rest[:warm_n]]
        reqs = [plan.delete_request(step, w, o) for o in rest[warm_n:]]
        warm_file = self._file(step, "-warm", warm) if warm else None
        self._measure(step, self._file(step, "", reqs), warm_file=warm_file, once=True)

    def _step_20b(self, step: Step) -> None:
        client, vens, label = self.client20b, self.vens20b, step.collection
        first = b20.requests(client, vens, label, self._indices(step, 1).start, 1)[0]
        self._preflight(step, first)
        if b20.bounded(label):
            warm_n, count = math.ceil(WRITE_RATE * self.warmup), math.ceil(WRITE_RATE * self.duration)
            warm = b20.requests(client, vens, label, self._indices(step, warm_n).start, warm_n)
            reqs = b20.requests(client, vens, label, self._indices(step, count).start, count)
            warm_file = self._file(step, "-warm", warm) if warm else None
            self._measure(step, self._file(step, "", reqs), warm_file=warm_file, once=True, expect=b20.EXPECT)
        else:
            reqs = b20.requests(client, vens, label, self._indices(step, len(vens)).start, len(vens))
            self._measure(step, self._file(step, "", reqs), expect=b20.EXPECT)

    def _preflight(self, step: Step, req: Request) -> None:
        preflight(self.proc.port, step, req)

    def _measure(
        self,
        step: Step,
        reqfile: Path,
        *,
        warm_file: Path | None = None,
        once: bool = False,
        expect: str | None = None,
    ) -> None:
        # --profile: py-spy over the warm-up and the measured run (its CPU figure then includes
        # py-spy's sampling: read the profile, not the row).
        slug = re.sub(r"[^a-z0-9]+", "-", step.label.lower()).strip("-")
        spy = self.ctx.start_profile(self.proc, f"sweep-{self.cache}-{slug}", self.duration + self.warmup)
        threads0 = thread_cpu(self.proc.pid_main) if self.ctx.profile else {}
        r = self.ctx.measure(
            self.proc,
            reqfile,
            duration=self.duration,
            warmup=self.warmup,
            warm_file=warm_file,
            once=once,
            expect=expect,
        )
        self.ctx.stop_profile(spy)
        if threads0 and r.requests:  # where the CPU went, per thread name (µs per answer)
            threads1 = thread_cpu(self.proc.pid_main)
            split = {k: round((v - threads0.get(k, 0.0)) / r.requests * 1e6) for k, v in threads1.items()}
            self.ctx.log(f"  threads (CPU µs/req over warm-up and run, {r.requests} answers): {split}")
        if r.requests < MIN_ANSWERS and not once:  # the warm-up was the first run
            longer = self.duration * RETRY_FACTOR
            self.ctx.log(f"  sweep {step.label}: {r.requests} answers, measuring again for {longer:g} s")
            r = self.ctx.measure(self.proc, reqfile, duration=longer, warmup=0, expect=expect)
        beside = None
        if self.cache_on and step.kind == "list" and step.collection == "events" and r.requests:
            # The cached GET /events rows (≥ 0.7×): bare aiohttp measured right after, same length.
            beside = baseline_beside(self.ctx, reqfile, duration=self.duration, warmup=self.warmup)
        self._add(step, r, beside=beside)

    def _add(
        self,
        step: Step,
        r: LoadResult | None,
        note: str = "",
        met: bool | None = None,
        beside: float | None = None,
    ) -> None:
        aim = plan.target(step, self.cache_on)
        extra: dict[str, object] = {
            "api": step.api,
            "endpoint": step.endpoint,
            "role": step.role,
            "cache": self.cache,
            # The passes this step is measured in (a step the cache cannot change: "off" only).
            "passes": ["on" if p else "off" for p in plan.passes(step)],
            "on_planned": step.label in self.planned_on,  # in this run (the quick form has fewer)
            "seconds": round(time.monotonic() - self._row_started, 1),  # wall time of the step
            "order": self.order.get(step.label, len(self.order)),
        }
        if beside is not None:
            extra["baseline_beside"] = beside
        row = Row("sweep", f"{step.api} {step.endpoint}", self.backend, f"{step.role}, cache {self.cache}")
        if aim is not None:
            row.target, extra["min_ratio"] = aim
        if r is not None:
            row.throughput, row.p50_ms, row.p99_ms = r.rps, r.p50_ms, r.p99_ms
            row.peak_rss_mb, row.errors = self.proc.peak_rss_mb(), r.errors
            extra["load"] = r.as_dict()
            if not r.requests:
                note, met = "no answer within the measured run: lengthen --duration", False
            elif r.errors > ERROR_SHARE * r.requests:
                note = f"sweep bug: {r.errors:,} of {r.requests:,} answers were errors"
                met = False
        row.note, row.met, row.extra = note, met, extra
        self.ctx.add(row)
