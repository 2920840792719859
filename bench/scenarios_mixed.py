"""Mixed load: 70% event polls, 20% report writes, 10% BL reads, at the most the VTN sustains and
at half that rate, where p99 must stay ≤ 20 ms (issue 16).

The maximum is closed-loop (wrk, or pyload without wrk: each connection sends its next request
when the last is answered). The half-rate run is open-loop (bench/pyload.py --rate): requests are
due at a fixed rate and latency counts from when each was due, so a server stall shows in p99 even
though fewer requests are then sent (wrk 4 has no fixed-rate mode, wrk2 is not installed).
The half-rate p99 includes the Python load generator's own time per request (aiohttp client); on a
machine shared with other work it is a wall-clock figure, read it with the load average beside it.
"""

from __future__ import annotations

from bench.common import BASE_PATH
from bench.context import Ctx, events_path, vtn
from bench.load import Request
from bench.report import Row
from bench.scenarios_read import preflight_poll, vens_spec
from bench.scenarios_write import report_body
from bench.seed import ensure, group_of, mint_tokens, working_copy
from shared.enums import Role

MIXED_VENS = 1000
P99_TARGET_MS = 20.0
# One cycle of ten requests: 7 polls, 2 report writes, 1 BL read.
CYCLE = ("poll",) * 7 + ("report",) * 2 + ("bl",)


def mixed_requests(
    m_vens: int, ven_ids: list[str], names: list[str], events: list[str], tokens: list[str], bl: str
) -> list[Request]:
    """Ten cycles per VEN, each request from a different VEN (VEN k of slot j is (i + j) mod n)."""
    reqs: list[Request] = []
    bl_reads = (
        lambda i: f"{BASE_PATH}/vens/{ven_ids[i]}",
        lambda i: f"{BASE_PATH}/resources?venID={ven_ids[i]}",
        lambda i: f"{BASE_PATH}/reports?limit=20",
        lambda i: f"{BASE_PATH}/vens?limit=50",
    )
    for i in range(m_vens):
        for j, kind in enumerate(CYCLE):
            v = (i * len(CYCLE) + j) % m_vens
            if kind == "poll":
                reqs.append(("GET", events_path(group_of(v)), tokens[v], ""))
            elif kind == "report":
                body = report_body(events[v % len(events)], names[v], v)
                reqs.append(("POST", f"{BASE_PATH}/reports", tokens[v], body))
            else:
                reqs.append(("GET", bl_reads[i % len(bl_reads)](v), bl, ""))
    return reqs


def mixed(ctx: Ctx, backend: str) -> None:
    m = ensure(vens_spec(MIXED_VENS), backend, ctx.pg_url, log=ctx.log)
    url = working_copy(m, backend, ctx.pg_url, "mixed")
    tokens = mint_tokens(url, m.client_ids)
    bl = mint_tokens(url, [m.bl_client_id], Role.BL)[0]
    reqs = mixed_requests(MIXED_VENS, m.ven_ids, m.ven_names, m.untargeted_event_ids, tokens, bl)
    reqfile = ctx.requests_file(f"mixed-{backend}", reqs)
    with vtn(ctx, url, f"vtn-mixed-{backend}") as proc:
        preflight_poll(proc, m, tokens[0])
        top = ctx.measure(proc, reqfile)
        rate = top.rps / 2
        half = ctx.measure(proc, reqfile, rate=rate, warmup=2.0)
        rss = proc.peak_rss_mb()
    mix = "70% polls, 20% report writes, 10% BL reads"
    ctx.add(
        Row(
            "mixed",
            f"{mix}: maximum (closed loop, {ctx.connections} connections)",
            backend,
            f"{MIXED_VENS:,} VENs",
            top.rps,
            "req/s",
            top.p50_ms,
            top.p99_ms,
            rss,
            errors=top.errors,
            extra={"load": top.as_dict()},
        )
    )
    ok = half.p99_ms <= P99_TARGET_MS and half.errors == 0
    ctx.add(
        Row(
            "mixed",
            f"{mix}: half the maximum, {rate:,.0f} req/s (open loop)",
            backend,
            f"{MIXED_VENS:,} VENs",
            half.rps,
            "req/s",
            half.p50_ms,
            half.p99_ms,
            rss,
            errors=half.errors,
            target=f"p99 ≤ {P99_TARGET_MS:.0f} ms",
            met=ok,
            note=f"load generator {half.generator}",
            extra={"load": half.as_dict(), "rate": round(rate, 1), "own_load": True},
        )
    )
