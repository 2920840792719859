"""In-process CPU per report of the whole write path, under concurrency, without HTTP.

`python bench/ingest_cpu.py [--db sqlite|postgresql] [-c 32] [-n 3000]` decodes report bodies as
`POST /reports` does (schema validation + model) and writes them the way the handler does
(`store.write` of the service plus `Notifier.changed`, i.e. group commit, answered after the
commit), with `-c` writers at once. It prints reports/s and CPU µs per report (process time, all
threads: aiosqlite's thread and the fsync included), so that a change to the write path can be
measured in seconds, apart from aiohttp and the load generator. `--aiosqlite` runs the same on
aiosqlite instead of our SQLite driver (vtn/storage/sqlite_driver.py), to measure what that earns.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_PG_URL  # noqa: E402
from bench.scenarios_read import vens_spec  # noqa: E402
from bench.scenarios_write import INGEST_VENS, report_body  # noqa: E402
from bench.seed import ensure, working_copy  # noqa: E402
from shared.enums import ROLE_SCOPES, Operation, Role  # noqa: E402
from shared.models import ReportRequest  # noqa: E402
from shared.validation import SchemaRegistry  # noqa: E402
from shared.wire import oadr3_json  # noqa: E402
from vtn.core.visibility import targeting  # noqa: E402
from vtn.principal import Principal  # noqa: E402
from vtn.services import reports as report_svc  # noqa: E402
from vtn.services.notifier import Notifier  # noqa: E402
from vtn.storage import Store, Tx  # noqa: E402
from vtn.storage.engine import create_engine  # noqa: E402


async def run(
    url: str,
    events: list[str],
    clients: list[str],
    names: list[str],
    c: int,
    n: int,
    notify: bool,
    own_sqlite_driver: bool = True,
) -> None:
    store = Store(create_engine(url, own_sqlite_driver=own_sqlite_driver))
    registry = SchemaRegistry()
    notifier = Notifier(store.clock)
    bodies = [report_body(events[i % len(events)], names[i], i).encode() for i in range(len(clients))]
    grants: dict[str, frozenset[str]] = {}
    async with store.read() as tx:
        for cid in clients:
            grants[cid] = await tx.vens.granted_targets(cid)

    async def one(i: int) -> None:
        k = i % len(clients)
        who = Principal(clients[k], Role.VEN, ROLE_SCOPES[Role.VEN])
        req = oadr3_json.decode(registry, "reportRequest", ReportRequest, bodies[k])

        async def unit(tx: Tx) -> object:
            obj = await report_svc.create_report(tx, who, req, targeting(grants[clients[k]]))
            if notify:
                await notifier.changed(tx, Operation.CREATE, obj)
            return obj

        obj = await store.write(unit)
        oadr3_json.encode(obj)  # type: ignore[arg-type]

    async def worker(w: int, count: int) -> None:
        for j in range(count):
            await one(w * count + j)

    await asyncio.gather(*(worker(w, 20) for w in range(c)))  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w, n // c) for w in range(c)))
    done = (n // c) * c
    cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{done} reports, {c} writers: {done / wall_s:,.0f} reports/s, "
        f"{cpu_s / done * 1e6:,.0f} µs CPU/report ({cpu_s / wall_s:.2f} cores)"
    )
    await store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    p.add_argument("-c", type=int, default=32, help="concurrent writers")
    p.add_argument("-n", type=int, default=3000, help="reports")
    p.add_argument("--uvloop", action="store_true")
    p.add_argument("--no-notify", action="store_true", help="leave Notifier.changed out (its share)")
    p.add_argument("--aiosqlite", action="store_true", help="aiosqlite instead of our SQLite driver")
    p.add_argument("--default-gc", action="store_true", help="Python's collector settings, not the server's")
    args = p.parse_args()
    if not args.default_gc:
        # As `vtn serve` runs (vtn/cli/serve.py): without it a third of the CPU here was the
        # collector rescanning long-lived objects, which the server does not pay.
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
    m = ensure(vens_spec(INGEST_VENS), args.db, args.pg_url)
    url = working_copy(m, args.db, args.pg_url, "ingest-cpu")
    coro = run(
        url,
        m.untargeted_event_ids,
        m.client_ids,
        m.ven_names,
        args.c,
        args.n,
        not args.no_notify,
        own_sqlite_driver=not args.aiosqlite,
    )
    if args.uvloop:
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


if __name__ == "__main__":
    main()
