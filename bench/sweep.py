"""Endpoint sweep (`bench/run.py --scenario sweep`): every endpoint of the 3.1.0, 3.0.1 and 2.0b
APIs, as VEN and as BL, on one seeded SQLite database (or PostgreSQL: `--db postgresql`), with the
read cache off and then on.

Data: 1,000 VENs with 10 resources each, 20 events of 24 hourly intervals (10 untargeted, 10 for 10
of the 100 groups: a VEN sees 11), one program; added to the working copy of each pass: 100 VEN
subscriptions, 200 VEN reports (posted before the steps), one BL client with a known secret (for
`POST /auth/token` as BL), and for 2.0b 40 VENs registered over HTTP (bench/sweep_20b.py).
Every step (bench/sweep_plan.py) is checked before it is measured (its first request must get the
expected status, a list must not be empty), and every answer of the measured run is counted:
wrk's non-2xx count, and for 2.0b the responseCode in the body. A step whose answers are mostly
errors is a bug of the sweep: its row says so instead of a throughput worth reading.

The VTN runs with the limits of bench/common.py UNLIMITED off, no delivery worker (the sweep's
writes start no fan-out, see bench/sweep_plan.py), plain-HTTP webhooks allowed and no echo
challenge (so `POST /subscriptions` measures the VTN, not a round trip to a subscriber). Cache off
is `read_cache_seconds = 0` and `grant_cache_seconds = 0` (docs/config-reference.md).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from bench import sweep_20b as b20
from bench import sweep_plan as plan
from bench.common import http_json
from bench.context import Ctx, vtn
from bench.load import LoadResult, Request, run_load
from bench.report import Row
from bench.seed import SeedSpec, add_subscriptions, ensure, mint_tokens, working_copy
from bench.sweep_plan import VEN, Obj, Step, World
from shared.durations import to_us, utcnow
from shared.enums import Role
from vtn.core.ids import assigned_id
from vtn.storage import open_store
from vtn.storage import tables as t

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
DURATION, WARMUP = 2.0, 1.0  # per step unless --duration / --warmup
ENV = {
    "VTN_DELIVERY_WORKER": "false",
    "VTN_WEBHOOK_REQUIRE_HTTPS": "false",
    "VTN_WEBHOOK_ALLOW_PRIVATE": "true",
    "VTN_WEBHOOK_ECHO_CHALLENGE": "false",
}
CACHE_OFF = {"VTN_READ_CACHE_SECONDS": "0", "VTN_GRANT_CACHE_SECONDS": "0"}
TABLES = {
    "programs": t.programs,
    "events": t.events,
    "reports": t.reports,
    "subscriptions": t.subscriptions,
    "vens": t.vens,
    "resources": t.resources,
}
EXPECTED = {"list": 200, "get": 200, "create": 201, "update": 200, "delete": 200, "token": 200}


def selected(only: str | None, quick: bool) -> dict[bool, list[Step]]:
    """The steps of each pass (cache off: False, on: True), filtered by --only (substring or regex)."""

    def match(step: Step) -> bool:
        if not only:
            return True
        label = step.label
        return only.lower() in label.lower() or re.search(only, label, re.IGNORECASE) is not None

    everything = [s for s in plan.steps() if match(s)]
    if not quick:
        return {False: everything, True: everything}
    return {
        False: [s for s in everything if s.label in plan.QUICK_OFF],
        True: [s for s in everything if s.label in plan.QUICK_ON],
    }


def sweep(
    ctx: Ctx,
    only: str | None = None,
    duration: float | None = None,
    warmup: float | None = None,
    backend: str = "sqlite",
) -> None:
    passes = selected(only, ctx.quick)
    if not any(passes.values()):
        raise RuntimeError(f"--only {only!r} matches no sweep step (see bench/sweep_plan.py)")
    # BENCH_SWEEP_CACHE=off|on: one pass only (profiling a step does not need both).
    only_cache = os.environ.get("BENCH_SWEEP_CACHE", "")
    for cache_on in (False, True):  # one VTN and one working copy per cache setting
        if only_cache and only_cache != ("on" if cache_on else "off"):
            continue
        if passes[cache_on]:
            warm = WARMUP if warmup is None else warmup
            _Pass(ctx, cache_on, duration or DURATION, warm, backend).run(passes[cache_on])


def _add_bl_client(url: str) -> tuple[str, str]:
    """A BL client whose secret the sweep knows (the seed's is never shown)."""

    async def run() -> tuple[str, str]:
        store = open_store(url)
        try:
            async with store.transaction() as tx:
                new = await tx.clients.add("sweep-bl", Role.BL, client_id="bl-sweep")
                return new.record.client_id, new.secret
        finally:
            await store.close()

    return asyncio.run(run())


def _created(url: str, collection: str, since_us: int, until_us: int) -> list[Obj]:
    """The objects written to `collection` in a time window (the POST step that ran then)."""
    table = TABLES[collection]
    cols = [table.c.id, table.c.client_id if "client_id" in table.c else None]
    cols.append(table.c.ven_id if "ven_id" in table.c else None)

    async def run() -> list[Obj]:
        store = open_store(url)
        try:
            async with store.read() as tx:
                query = select(*[c for c in cols if c is not None]).where(
                    table.c.created_us >= since_us, table.c.created_us <= until_us
                )
                rows = (await tx.conn.execute(query.order_by(table.c.created_us))).all()
        finally:
            await store.close()
        out: list[Obj] = []
        for row in rows:
            values = list(row)
            client = values.pop(1) if cols[1] is not None else None
            ven = values.pop(1) if cols[2] is not None else None
            out.append((str(values[0]), client, ven))
        return out

    return asyncio.run(run())


class _Pass:
    """One cache setting: a working copy of the seeded database, one VTN, every selected step."""

    def __init__(self, ctx: Ctx, cache_on: bool, duration: float, warmup: float, backend: str) -> None:
        self.ctx, self.cache_on, self.duration, self.warmup = ctx, cache_on, duration, warmup
        self.backend = backend
        self.cache = "on" if cache_on else "off"
        self.created: dict[tuple[str, str, str], list[Obj]] = {}
        self.next_n: dict[tuple[str, str, str], int] = {}
        self.vens20b: list[b20.Ven20b] = []

    def run(self, steps: list[Step]) -> None:
        ctx = self.ctx
        m = ensure(SPEC, self.backend, ctx.pg_url, log=ctx.log)
        self.url = working_copy(m, self.backend, ctx.pg_url, f"sweep-cache-{self.cache}")
        sub_ids = add_subscriptions(self.url, m, SUBSCRIPTIONS, plan.CALLBACK)
        bl_client, bl_secret = _add_bl_client(self.url)
        tokens = mint_tokens(self.url, m.client_ids)
        bl_token = mint_tokens(self.url, [m.bl_client_id], Role.BL)[0]
        self.report_keys = [f"sweep-report-{i:04d}" for i in range(REPORTS)]
        # A VEN's chosen id is a key: the VTN stores the report under the id it assigns from the
        # VEN's client id and the key (vtn/core/ids.py), which is what the GET steps must ask for.
        report_ids = [assigned_id(m.client_ids[i], k) or k for i, k in enumerate(self.report_keys)]
        self.w = World(m, tokens, bl_token, bl_client, bl_secret, report_ids, sub_ids)
        env = ENV | ({} if self.cache_on else CACHE_OFF)
        ctx.log(f"  sweep, read cache {self.cache}: {len(steps)} steps")
        with vtn(ctx, self.url, f"vtn-sweep-cache-{self.cache}", env=env) as proc:
            self.proc = proc
            self._seed_reports()
            if any(s.api == plan.API20B for s in steps):
                client = b20.Client20b(proc.port)
                names = m.ven_names[:VENS_20B]
                self.vens20b = b20.register(client, names)
                self.client20b = client
            for step in steps:
                try:
                    self._step(step)
                except Exception as exc:  # one broken step is reported, the others still run
                    first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
                    ctx.log(f"  sweep {step.label} (cache {self.cache}) FAILED: {first}")
                    self._add(step, None, note=f"sweep bug: {first}", met=False)

    # -- setup ---------------------------------------------------------------------------------------

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
        self.created[key] = self.created.get(key, []) + _created(
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
        """The step's first request must get the expected answer before anything is measured."""
        method, path, token, body = req
        url = f"http://127.0.0.1:{self.proc.port}{path}"
        if step.kind == "20b":
            status, answer = _post_xml(url, body)
            if status != 200 or b20.EXPECT not in answer:
                raise RuntimeError(f"preflight: HTTP {status}, not {b20.EXPECT!r}: {answer[:300]}")
            return
        status, doc = http_json(method, url, token or None, json.loads(body) if body else None)
        want = EXPECTED[step.kind]
        if status != want:
            raise RuntimeError(f"preflight: HTTP {status} (expected {want}): {str(doc)[:300]}")
        if step.kind == "list" and not doc:
            raise RuntimeError("preflight: empty list (the step would measure nothing)")

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
        threads0 = _thread_cpu(self.proc.pid_main) if self.ctx.profile else {}
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
            threads1 = _thread_cpu(self.proc.pid_main)
            split = {k: round((v - threads0.get(k, 0.0)) / r.requests * 1e6) for k, v in threads1.items()}
            self.ctx.log(f"  threads (CPU µs/req over warm-up and run, {r.requests} answers): {split}")
        if r.requests < MIN_ANSWERS and not once:  # the warm-up was the first run
            longer = self.duration * RETRY_FACTOR
            self.ctx.log(f"  sweep {step.label}: {r.requests} answers, measuring again for {longer:g} s")
            r = self.ctx.measure(self.proc, reqfile, duration=longer, warmup=0, expect=expect)
        self._add(step, r)

    def _add(self, step: Step, r: LoadResult | None, note: str = "", met: bool | None = None) -> None:
        aim = plan.target(step, self.cache_on)
        extra: dict[str, object] = {
            "api": step.api,
            "endpoint": step.endpoint,
            "role": step.role,
            "cache": self.cache,
        }
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


def _post_xml(url: str, body: str) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=body.encode(), method="POST", headers={"Content-Type": "application/xml"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the main thread of `pid` (the event loop) and of its other threads
    (SQLite connections, executors), from Linux /proc."""
    out = {"loop": 0.0, "threads": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        key = "loop" if task.name == str(pid) else "threads"
        out[key] += (int(fields[11]) + int(fields[12])) / tick
    return out
