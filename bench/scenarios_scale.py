"""Lists and lookups at the smallest vs the largest VEN count, from alternating rounds.

The per-size rows of the scale scenario are measured minutes apart (one VTN per size, one after the
other), and on this shared machine p50 moves by 2x and more between such moments: the factor of two
p50s measured minutes apart says more about the machine than about the VTN. Here both VTNs run at
once (each on its own seeded database, only one loaded at a time): each lookup is first run over
all its ids once on each (the ids' pages read into the OS and SQLite caches, the VENs' first
contacts recorded, as in any steady state), then measured on both in turn, ROUNDS times. The
factor is the median of the rounds' p50 factors; CPU per request is summed over the rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

from bench.context import Ctx, vtn
from bench.load import LoadResult
from bench.report import Row
from bench.scenarios_read import (
    SCALE_FLAT,
    _cpu_per_request,
    _scale_picks,
    _scale_requests,
    preflight_poll,
    vens_spec,
)
from bench.seed import Manifest, ensure, mint_tokens
from shared.enums import Role
from vtn.storage import open_store

ROUNDS = 3
CONNECTIONS = 4
WARM_CAP = 60.0  # seconds at most for a warm pass (each request of the file once)
FLUSH_WAIT = 11.0  # > contacts_flush_seconds (10): the warm pass's first contacts are recorded


def forget_contacts(m: Manifest) -> None:
    """Empty client_contacts of a seeded database: every run starts with no client ever seen (runs
    record the clients they use there; a VEN's first contact costs a write the next ones do not)."""

    async def run() -> None:
        store = open_store(m.url)
        try:
            async with store.transaction() as tx:
                await tx.conn.exec_driver_sql("DELETE FROM client_contacts")
        finally:
            await store.close()

    asyncio.run(run())


def scale_rounds(ctx: Ctx, backend: str, small: int, large: int) -> None:
    """Rows '<lookup>: p50 <large> vs <small> VENs (ROUNDS alternating rounds)', each with its CPU factor."""
    with contextlib.ExitStack() as stack:
        files = {}
        procs = {}
        for n in (small, large):
            m = ensure(vens_spec(n), backend, ctx.pg_url, log=ctx.log)
            forget_contacts(m)
            wanted = sorted({0, *_scale_picks(n)})
            token_of = dict(zip(wanted, mint_tokens(m.url, [m.client_ids[i] for i in wanted]), strict=True))
            bl = mint_tokens(m.url, [m.bl_client_id], Role.BL)[0]
            procs[n] = stack.enter_context(vtn(ctx, m.url, f"vtn-{backend}-{n}-scale-rounds"))
            preflight_poll(procs[n], m, token_of[0])
            for name, reqs in _scale_requests(m, token_of, bl).items():
                slug = "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()
                files[(name, n)] = ctx.requests_file(f"scale-rounds-{backend}-{n}-{slug}", reqs)
        names = sorted({name for name, _ in files})
        # Steady state: every looked-up VEN has called before (as in polling) and its first contact
        # is recorded; each id's pages have been read once.
        for (_name, n), reqfile in files.items():
            ctx.measure(procs[n], reqfile, connections=CONNECTIONS, duration=WARM_CAP, warmup=0, once=True)
        time.sleep(FLUSH_WAIT)
        done: dict[tuple[str, int], list[LoadResult]] = {key: [] for key in files}
        for _ in range(ROUNDS):
            for name in names:
                for n in (small, large):
                    r = ctx.measure(
                        procs[n],
                        files[(name, n)],
                        connections=CONNECTIONS,
                        duration=ctx.scale_duration,
                        warmup=0,
                    )
                    done[(name, n)].append(r)
        rss = {n: proc.peak_rss_mb() for n, proc in procs.items()}
    for name in names:
        a, b = done[(name, small)], done[(name, large)]
        factors = [y.p50_ms / x.p50_ms for x, y in zip(a, b, strict=True) if x.p50_ms]
        factor = statistics.median(factors) if factors else 0.0
        cpu_a, cpu_b = _cpu_per_request(a), _cpu_per_request(b)
        cpu = f"; CPU {cpu_b / cpu_a:.2f}× ({cpu_a:.0f} → {cpu_b:.0f} µs/req)" if cpu_a and cpu_b else ""
        p50s = ", ".join(f"{x.p50_ms}/{y.p50_ms}" for x, y in zip(a, b, strict=True))
        busy = ", ".join(f"{r.machine_busy_cores}" for r in b)
        ctx.add(
            Row(
                "scale",
                f"{name}: p50 {large:,} vs {small:,} VENs ({ROUNDS} alternating rounds)",
                backend,
                f"{small:,} → {large:,} VENs",
                note=f"{factor:.2f}× (p50 ms per round {p50s}){cpu}; machine busy {busy} cores",
                target=f"≤ {SCALE_FLAT}×",
                met=factor <= SCALE_FLAT,
                extra={
                    "rounds": {str(small): [r.as_dict() for r in a], str(large): [r.as_dict() for r in b]},
                    "p50_factors": factors,
                    "cpu_us_per_request": {str(small): cpu_a, str(large): cpu_b},
                    "peak_rss_mb": {str(k): v for k, v in rss.items()},
                },
            )
        )
