"""In-process cost of each step of the poll and report-ingest paths (µs of CPU per call).

`python bench/micro.py [--vens 10000] [--db sqlite|postgresql]` times the VTN's own functions one
by one on a seeded database (no HTTP, no concurrency), next to the alternatives the profile
suggests (stored documents spliced as they are, orjson, a per-client grant cache), so that each
proposal's saving can be read off before and after a change. CPU time is process time (all
threads), so SQLite's work in aiosqlite's thread is included; numbers are per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.common import DEFAULT_PG_URL  # noqa: E402
from bench.scenarios_read import vens_spec  # noqa: E402
from bench.scenarios_write import report_body  # noqa: E402
from bench.seed import ensure, group_of, mint_tokens, working_copy  # noqa: E402
from shared.durations import utcnow  # noqa: E402
from shared.enums import ROLE_SCOPES, Role  # noqa: E402
from shared.models import Event, ReportRequest  # noqa: E402
from shared.validation import SchemaRegistry  # noqa: E402
from shared.wire import oadr3_json  # noqa: E402
from vtn.auth.tokens import TokenService  # noqa: E402
from vtn.core.visibility import targeting  # noqa: E402
from vtn.principal import Principal  # noqa: E402
from vtn.services import programs as program_svc  # noqa: E402
from vtn.services import reports as report_svc  # noqa: E402
from vtn.storage import open_store  # noqa: E402
from vtn.storage.filters import EventFilter  # noqa: E402
from vtn.storage.tables import events  # noqa: E402

Step = Callable[[], Awaitable[Any]]


async def timed(name: str, fn: Step, n: int, out: dict[str, float]) -> None:
    for _ in range(max(3, n // 20)):
        await fn()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await fn()
    cpu_us = (time.process_time() - cpu) / n * 1e6
    wall_us = (time.perf_counter() - wall) / n * 1e6
    out[name] = cpu_us
    print(f"  {name:58s} {cpu_us:8.0f} µs CPU {wall_us:8.0f} µs wall", flush=True)


async def poll_steps(url: str, client_id: str, token: str, key: bytes, n: int) -> dict[str, float]:
    store = open_store(url)
    out: dict[str, float] = {}
    tokens = TokenService(key, ttl_seconds=3600, clock=utcnow)
    group = frozenset({group_of(0)})
    async with store.read() as tx:
        access = await tx.vens.granted_targets(client_id) & group
        flt = EventFilter(permission=targeting(access))
        found = await program_svc.list_events(tx, flt)
        docs = [str(r[0]) for r in (await tx.conn.execute(select(events.c.doc))).all()]
    wire = [e.to_wire() for e in found]
    print(f"poll path ({len(found)} events in the answer, {len(oadr3_json.encode_list(found))} bytes):")

    async def verify() -> Any:
        return tokens.verify(token)

    async def empty_tx() -> None:
        async with store.read():
            pass

    async def grants() -> Any:
        async with store.read() as tx:
            return await tx.vens.granted_targets(client_id)

    async def events_list() -> Any:
        async with store.read() as tx:
            return await tx.events.list(flt)

    async def service() -> Any:
        async with store.read() as tx:
            return oadr3_json.encode_list(await program_svc.list_events(tx, flt))

    async def parse() -> Any:
        return [Event.model_validate_json(d) for d in docs[: len(found)]]

    async def encode() -> Any:
        return oadr3_json.encode_list(found)

    async def encode_orjson() -> Any:
        import orjson

        return orjson.dumps([e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in found])

    async def json_only() -> Any:
        return json.dumps(wire, separators=(",", ":")).encode()

    async def splice() -> Any:
        # Serving stored documents: targeted ones get their targets filtered, the rest go as stored.
        parts = []
        for d in docs[: len(found)]:
            if '"targets"' in d:
                doc = json.loads(d)
                doc["targets"] = [t for t in doc["targets"] if t in access]
                d = json.dumps(doc, separators=(",", ":"))
            parts.append(d)
        return ("[" + ",".join(parts) + "]").encode()

    async def cached() -> Any:
        return cache.get((client_id, group))

    cache = {(client_id, group): oadr3_json.encode_list(found)}
    await timed("TokenService.verify (JWT HS256)", verify, n, out)
    await timed("store.read() with no query (checkout + rollback)", empty_tx, n, out)
    await timed("VenRepo.granted_targets (own tx)", grants, n, out)
    await timed("EventRepo.list (query + pydantic parse, own tx)", events_list, n, out)
    await timed("Event.model_validate_json x answer", parse, n, out)
    await timed("encode_list (to_wire + json.dumps)", encode, n, out)
    await timed("  json.dumps of ready dicts only", json_only, n, out)
    await timed("  orjson.dumps(model_dump) instead", encode_orjson, n, out)
    await timed("services.list_events + encode_list (the handler's work)", service, n, out)
    await timed("ALT: splice stored docs (json only for targeted ones)", splice, n, out)
    await timed("ALT: cached encoded answer per (client, targets)", cached, n, out)
    await store.close()
    return out


async def ingest_steps(url: str, manifest_events: list[str], client_id: str, name: str, n: int) -> None:
    store = open_store(url)
    registry = SchemaRegistry()
    who = Principal(client_id, Role.VEN, ROLE_SCOPES[Role.VEN])
    body = report_body(manifest_events[0], name, 0).encode()
    req = oadr3_json.decode(registry, "reportRequest", ReportRequest, body)
    print(f"ingest path (report of {len(body)} bytes):")
    out: dict[str, float] = {}

    async def loads_only() -> Any:
        return json.loads(body)

    async def parse_only() -> Any:
        return oadr3_json.parse_json(body)

    async def decode() -> Any:
        return oadr3_json.decode(registry, "reportRequest", ReportRequest, body)

    async def model_only() -> Any:
        return ReportRequest.model_validate_json(body)

    async def create() -> Any:
        async with store.transaction() as tx:
            granted = await tx.vens.granted_targets(client_id)
            return await report_svc.create_report(tx, who, req, targeting(granted))

    async def visible_event() -> Any:
        async with store.read() as tx:
            return await tx.events.visible(
                manifest_events[0], targeting(await tx.vens.granted_targets(client_id))
            )

    await timed("json.loads of the body", loads_only, n, out)
    await timed("oadr3_json.parse_json (json.loads + checks)", parse_only, n, out)
    await timed("oadr3_json.decode (schema validation + pydantic)", decode, n, out)
    await timed("  ReportRequest.model_validate_json alone", model_only, n, out)
    await timed("grants + EventRepo.visible (own tx)", visible_event, n, out)
    await timed("services.create_report in its own transaction (+commit)", create, max(20, n // 5), out)
    await store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vens", type=int, default=10_000)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    p.add_argument("-n", type=int, default=300, help="calls per step")
    args = p.parse_args()
    m = ensure(vens_spec(args.vens), args.db, args.pg_url)
    token = mint_tokens(m.url, [m.client_ids[0]])[0]

    async def key() -> bytes:
        store = open_store(m.url)
        async with store.read() as tx:
            k = await tx.clients.signing_key()
        await store.close()
        return k

    signing_key = asyncio.run(key())
    asyncio.run(poll_steps(m.url, m.client_ids[0], token, signing_key, args.n))
    url = working_copy(m, args.db, args.pg_url, "micro")
    asyncio.run(ingest_steps(url, m.untargeted_event_ids, m.client_ids[0], m.ven_names[0], args.n))


if __name__ == "__main__":
    main()
