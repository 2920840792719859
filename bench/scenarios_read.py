"""Read scenarios: event polling at 1,000 / 10,000 / 100,000 VENs, list/lookup scale, scale-out.

Polling and scale share one VTN process per VEN count (same seeded database), so the peak RSS
reported at 100,000 VENs covers polling plus every list and lookup.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

from bench.common import BASE_PATH, Proc, http_json
from bench.context import Ctx, baseline_beside, events_path, vtn
from bench.load import LoadResult, Request
from bench.report import Row
from bench.seed import Manifest, SeedSpec, ensure, group_of, mint_tokens
from shared.enums import Role

RESOURCES_PER_VEN = 10
VISIBLE_EVENTS = 11  # 10 untargeted + the one targeted at the VEN's group
POLL_TARGET_RPS = 6000.0
POLL_TARGET_RATIO = 0.3
SCALE_FLAT = 1.5  # p50 at the largest size within this factor of the smallest
RSS_LIMIT_MB = 300.0
RSS_LIMIT_1M_MB = 600.0  # at 1,000,000 VENs (issue 16)
SCALEOUT_TARGET = 1.6
SCALEOUT_CPU_LIMIT = 1.1  # CPU per request with two processes within 10 % of one
LOOKUPS = 4000  # distinct ids rotated through by the lookup/list measurements


RATIO_ROUNDS = 3
POLL_WARMUP_RATE = 4000.0  # polls/s assumed for the warm-up's length (each VEN polls once)


def vens_spec(n: int) -> SeedSpec:
    return SeedSpec(f"vens-{n}", n, resources_per_ven=RESOURCES_PER_VEN)


def size_label(n: int) -> str:
    return f"{n:,} VENs" + (f" / {n * RESOURCES_PER_VEN:,} res." if n >= 100_000 else "")


def poll_requests(m: Manifest, tokens: list[str]) -> list[Request]:
    """One request per VEN, each with its own token, asking for its own group's events."""
    return [("GET", events_path(group_of(i)), tokens[i], "") for i in range(len(tokens))]


def preflight_poll(proc: Proc, m: Manifest, token: str) -> None:
    """The poll must answer what a VEN of group 0 should see, before anything is measured."""
    status, body = http_json("GET", f"http://127.0.0.1:{proc.port}{events_path(group_of(0))}", token)
    if status != 200 or not isinstance(body, list) or len(body) != VISIBLE_EVENTS:
        got = len(body) if isinstance(body, list) else body
        raise RuntimeError(
            f"preflight GET /events: HTTP {status}, expected {VISIBLE_EVENTS} events, got {got}"
        )


def _scale_picks(n: int) -> list[int]:
    rng = random.Random(7)
    return [rng.randrange(n) for _ in range(min(LOOKUPS, n))]


def _scale_requests(m: Manifest, ven_tokens: dict[int, str], bl: str) -> dict[str, list[Request]]:
    picks = _scale_picks(len(m.ven_ids))
    res = m.resource_ids_sample[:LOOKUPS]
    return {
        "BL GET /vens/{id}": [("GET", f"{BASE_PATH}/vens/{m.ven_ids[i]}", bl, "") for i in picks],
        "BL GET /resources/{id}": [("GET", f"{BASE_PATH}/resources/{r}", bl, "") for r in res],
        "BL GET /vens (first 50)": [("GET", f"{BASE_PATH}/vens?limit=50", bl, "")],
        "BL GET /resources?venID=": [
            ("GET", f"{BASE_PATH}/resources?venID={m.ven_ids[i]}", bl, "") for i in picks
        ],
        "VEN GET /resources (own 10)": [("GET", f"{BASE_PATH}/resources", ven_tokens[i], "") for i in picks],
    }


def vens_sessions(ctx: Ctx, backend: str, sizes: list[int], do_poll: bool, do_scale: bool) -> None:
    """For each VEN count: seed (or reuse), start one VTN, measure polling and/or lists and lookups."""
    poll: dict[int, Row] = {}
    scale: dict[tuple[str, int], Row] = {}
    rss: dict[int, float | None] = {}
    for n in sizes:
        m = ensure(vens_spec(n), backend, ctx.pg_url, log=ctx.log)
        if do_scale:
            # Each run begins with no client seen (runs record contacts in the seeded database).
            from bench.scenarios_scale import forget_contacts  # noqa: PLC0415 - it imports this module

            forget_contacts(m)
        # Every VEN's token when polling; only those of the looked-up VENs otherwise (minting
        # 1,000,000 tokens took minutes).
        wanted = range(n) if do_poll else sorted({0, *_scale_picks(n)})
        minted = mint_tokens(m.url, [m.client_ids[i] for i in wanted])
        token_of = dict(zip(wanted, minted, strict=True))
        tokens = minted if do_poll else []
        with vtn(ctx, m.url, f"vtn-{backend}-{n}") as proc:
            preflight_poll(proc, m, token_of[0])
            if do_poll:
                reqfile = ctx.requests_file(f"poll-{backend}-{n}", poll_requests(m, tokens))
                # Steady state: every VEN has polled before (real VENs poll every few seconds to
                # minutes with hour-long tokens), so the warm-up lasts long enough for each of the
                # n VENs to poll once at a few thousand polls/s; otherwise at 100,000 VENs most
                # measured polls were a VEN's first (a token signature check each).
                r = ctx.measure(proc, reqfile, warmup=max(ctx.warmup, n / POLL_WARMUP_RATE))
                beside = baseline_beside(ctx, reqfile)
                row = Row(
                    "polling",
                    "GET /events?targets=<group>",
                    backend,
                    size_label(n),
                    r.rps,
                    "req/s",
                    r.p50_ms,
                    r.p99_ms,
                    proc.peak_rss_mb(),
                    errors=r.errors,
                    extra={"load": r.as_dict(), "vens": n, "baseline_beside": beside},
                )
                if n == 10_000 and backend == "sqlite":
                    row.target = f"≥ {POLL_TARGET_RPS:,.0f} req/s and ≥ {POLL_TARGET_RATIO}× baseline"
                    row.extra |= {"min_rps": POLL_TARGET_RPS, "min_ratio": POLL_TARGET_RATIO}
                poll[n] = ctx.add(row)
                ctx.profiled(proc, reqfile, f"polling-{backend}-{n}")
            if do_scale:
                bl = mint_tokens(m.url, [m.bl_client_id], Role.BL)[0]
                for name, reqs in _scale_requests(m, token_of, bl).items():
                    slug = "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()
                    reqfile = ctx.requests_file(f"scale-{backend}-{n}-{slug}", reqs)
                    r = ctx.measure(proc, reqfile, connections=4, duration=ctx.scale_duration, warmup=1)
                    scale[(name, n)] = ctx.add(
                        Row(
                            "scale",
                            name,
                            backend,
                            size_label(n),
                            r.rps,
                            "req/s",
                            r.p50_ms,
                            r.p99_ms,
                            proc.peak_rss_mb(),
                            errors=r.errors,
                            extra={"load": r.as_dict(), "vens": n, "connections": 4},
                        )
                    )
            rss[n] = proc.peak_rss_mb()
    _poll_checks(ctx, backend, poll)
    if do_scale:
        _scale_checks(ctx, backend, sizes, scale, rss)


def _alternate(ctx: Ctx, servers: dict[int, tuple[Proc, Path, int]]) -> dict[int, list[LoadResult]]:
    """Warm each server until every one of its VENs polled once, then load them in turn, ROUNDS times.

    This machine's CPU speed drifts by up to ~2x within minutes, so two set-ups measured minutes
    apart cannot be compared: both run at once (only one loaded at a time) and alternate.
    Keys: whatever the caller compares; values: (server, request file, VEN count).
    """
    for proc, reqfile, vens in servers.values():
        ctx.measure(proc, reqfile, duration=max(1.0, vens / POLL_WARMUP_RATE), warmup=0)
    done: dict[int, list[LoadResult]] = {key: [] for key in servers}
    for _ in range(RATIO_ROUNDS):
        for key, (proc, reqfile, _vens) in servers.items():
            done[key].append(ctx.measure(proc, reqfile, warmup=0))
    return done


def _poll_checks(ctx: Ctx, backend: str, poll: dict[int, Row]) -> None:
    """Throughput at the largest vs the smallest size, from alternating rounds (_alternate): the
    sizes' own rows were measured minutes apart. The ratio is that of the summed throughputs."""
    if len(poll) < 2:
        return
    small, large = min(poll), max(poll)
    with contextlib.ExitStack() as stack:
        servers: dict[int, tuple[Proc, Path, int]] = {}
        for n in (small, large):
            m = ensure(vens_spec(n), backend, ctx.pg_url, log=ctx.log)
            tokens = mint_tokens(m.url, m.client_ids)
            proc = stack.enter_context(vtn(ctx, m.url, f"vtn-{backend}-{n}-rounds"))
            servers[n] = (proc, ctx.requests_file(f"poll-{backend}-{n}", poll_requests(m, tokens)), n)
        done = {n: [r.rps for r in results] for n, results in _alternate(ctx, servers).items()}
    lo, hi = sum(done[small]), sum(done[large])
    ratio = hi / lo if lo else 0.0
    rounds = ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in zip(done[small], done[large], strict=True))
    ctx.add(
        Row(
            "polling",
            f"throughput {large:,} vs {small:,} VENs ({RATIO_ROUNDS} alternating rounds)",
            backend,
            f"{small:,} → {large:,} VENs",
            note=f"{ratio:.2f}× (req/s per round {rounds})",
            target="≥ 0.80× (within 20 %)",
            met=ratio >= 0.8,
            extra={"rounds": {str(small): done[small], str(large): done[large]}},
        )
    )


def _scale_checks(
    ctx: Ctx, backend: str, sizes: list[int], scale: dict[tuple[str, int], Row], rss: dict[int, float | None]
) -> None:
    large = max(sizes)
    peak = rss.get(large)
    limit = RSS_LIMIT_1M_MB if large >= 1_000_000 else RSS_LIMIT_MB
    ctx.add(
        Row(
            "scale",
            "VTN peak RSS after polling + lists",
            backend,
            size_label(large),
            peak_rss_mb=peak,
            note=f"{peak} MB",
            target=f"< {limit:.0f} MB" if large >= 100_000 else None,
            met=(peak is not None and peak < limit) if large >= 100_000 else None,
        )
    )
    # The p50 factors of the lookups come from alternating rounds (bench/scenarios_scale.py): these
    # per-size rows were measured minutes apart.


def scaleout(ctx: Ctx, n: int, backend: str = "postgresql") -> None:
    """Polling: two VTN processes sharing one port (SO_REUSEPORT) against one (PostgreSQL by default;
    SQLite with `--db sqlite`, the processes sharing the database file).

    Both set-ups run at once (each on its own port; only one is loaded at a time) and are measured
    in ROUNDS alternating rounds, so that the drift of this machine's CPU speed hits both alike;
    the factor is that of the summed throughputs, the rows show the last round. VTN CPU per request
    (all processes' CPU over all rounds' requests) is compared too: it holds better than throughput
    on a shared machine, and a second process should add capacity, not cost per request.
    """
    if not ctx.backends([backend]):
        return
    m = ensure(vens_spec(n), backend, ctx.pg_url, log=ctx.log)
    tokens = mint_tokens(m.url, m.client_ids)
    reqfile = ctx.requests_file(f"scaleout-{n}", poll_requests(m, tokens))
    with contextlib.ExitStack() as stack:
        servers: dict[int, tuple[Proc, Path, int]] = {}
        for procs in (1, 2):
            proc = stack.enter_context(
                vtn(ctx, m.url, f"vtn-scaleout-{procs}", processes=procs, reuse_port=True)
            )
            preflight_poll(proc, m, tokens[0])
            servers[procs] = (proc, reqfile, n)
        done = _alternate(ctx, servers)
        peak = {procs: proc.peak_rss_mb() for procs, (proc, _, _) in servers.items()}
    sums = {procs: sum(r.rps for r in results) for procs, results in done.items()}
    for procs, results in done.items():
        r = results[-1]
        ctx.add(
            Row(
                "scaleout",
                f"GET /events, {procs} process{'es' if procs > 1 else ''} (SO_REUSEPORT)",
                backend,
                size_label(n),
                r.rps,
                "req/s",
                r.p50_ms,
                r.p99_ms,
                peak[procs],
                errors=r.errors,
                extra={"load": r.as_dict(), "processes": procs, "vens": n},
            )
        )
    one, two = sums[1], sums[2]
    factor = two / one if one else 0.0
    ctx.add(
        Row(
            "scaleout",
            f"2 processes vs 1 ({RATIO_ROUNDS} alternating rounds)",
            backend,
            size_label(n),
            note=f"{factor:.2f}×",
            target=f"≥ {SCALEOUT_TARGET}×",
            met=factor >= SCALEOUT_TARGET,
        )
    )
    cpu = {procs: _cpu_per_request(results) for procs, results in done.items()}
    if cpu[1] and cpu[2]:
        ratio = cpu[2] / cpu[1]
        ctx.add(
            Row(
                "scaleout",
                f"VTN CPU µs/request, 2 processes vs 1 ({RATIO_ROUNDS} alternating rounds)",
                backend,
                size_label(n),
                note=f"{ratio:.2f}× ({cpu[1]:.0f} → {cpu[2]:.0f} µs)",
                target=f"≤ {SCALEOUT_CPU_LIMIT}×",
                met=ratio <= SCALEOUT_CPU_LIMIT,
                extra={"cpu_us_per_request": {str(k): round(v, 1) for k, v in cpu.items() if v}},
            )
        )


def _cpu_per_request(results: list[LoadResult]) -> float | None:
    """CPU µs per request over several runs: each run's CPU weighted by its requests."""
    cpu = sum((r.cpu_us_per_request or 0) * r.requests for r in results)
    requests = sum(r.requests for r in results if r.cpu_us_per_request is not None)
    return cpu / requests if requests else None
