"""In-process CPU per report of the whole write path, under concurrency, without HTTP.

`python bench/ingest_cpu.py [--db sqlite|postgresql] [-c 32] [-n 3000]` prepares report bodies as
a VEN's `POST /reports` does (`services.reports.prepare_report_body`: schema validation, stored
document) and writes them the way `Core.write_prepared_report` does (group commit with the
notification fan-out, answered after the commit), with `-c` writers at once. It prints reports/s
and CPU µs per report (process time, all threads: aiosqlite's thread and the fsync included), so
that a change to the write path can be measured in seconds, apart from aiohttp and the load
generator. `--aiosqlite` runs the same on aiosqlite instead of our SQLite driver
(vtn/storage/sqlite_driver.py), to measure what that earns. `--intake-workers N` prepares the
bodies in N intake worker processes (vtn/intake, as `vtn serve --intake-workers`) and prints the
CPU per report of this process and of the workers apart; `--no-write` leaves the writes out (the
intake hand-off alone).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_PG_URL  # noqa: E402
from bench.scenarios_read import vens_spec  # noqa: E402
from bench.scenarios_write import INGEST_VENS, report_body  # noqa: E402
from bench.seed import ensure, working_copy  # noqa: E402
from shared.enums import ROLE_SCOPES, ObjectType, Operation, Role  # noqa: E402
from shared.validation import SchemaRegistry  # noqa: E402
from shared.wire import oadr3_json  # noqa: E402
from vtn.core.ids import key_scope  # noqa: E402
from vtn.core.visibility import targeting  # noqa: E402
from vtn.intake.pool import IntakePool  # noqa: E402
from vtn.principal import Principal  # noqa: E402
from vtn.services import reports as report_svc  # noqa: E402
from vtn.services.notifier import Notifier  # noqa: E402
from vtn.storage import Store, Tx  # noqa: E402
from vtn.storage.engine import create_engine  # noqa: E402
from vtn.storage.reports import ReportInsert  # noqa: E402


async def run(
    url: str,
    events: list[str],
    clients: list[str],
    names: list[str],
    c: int,
    n: int,
    notify: bool,
    own_sqlite_driver: bool = True,
    intake_workers: int = 0,
    write: bool = True,
) -> None:
    store = Store(create_engine(url, own_sqlite_driver=own_sqlite_driver))
    registry = SchemaRegistry()
    pool = IntakePool(intake_workers, registry, store.new_id, store.clock) if intake_workers else None
    if pool is not None:
        await pool.start()
    notifier = Notifier(store.clock)
    bodies = [report_body(events[i % len(events)], names[i], i).encode() for i in range(len(clients))]
    grants: dict[str, frozenset[str]] = {}
    async with store.read() as tx:
        for cid in clients:
            grants[cid] = await tx.vens.granted_targets(cid)

    async def one(i: int) -> None:
        k = i % len(clients)
        who = Principal(clients[k], Role.VEN, ROLE_SCOPES[Role.VEN])
        if pool is not None:
            prepared = await pool.prepare(bodies[k], who)
        else:
            prepared = report_svc.prepare_report_body(
                registry, bodies[k], store.new_id(), store.clock(), who.client_id, key_scope(who)
            )
        if not write:
            return

        async def unit(tx: Tx) -> None:
            await report_svc.create_prepared_report(tx, who, prepared, targeting(grants[clients[k]]))
            if notify:
                program_id = tx.reports.written_program(prepared.id)
                await notifier.changed_if_heard(
                    tx, Operation.CREATE, ObjectType.REPORT, program_id, prepared.model
                )

        await store.write(unit, ReportInsert(prepared, targeting(grants[clients[k]])))
        oadr3_json.encode_stored(prepared.doc, prepared.model)

    async def worker(w: int, count: int) -> None:
        for j in range(count):
            await one(w * count + j)

    await asyncio.gather(*(worker(w, 20) for w in range(c)))  # warm-up
    cpu, wall, cpu_workers = time.process_time(), time.perf_counter(), _children_cpu()
    await asyncio.gather(*(worker(w, n // c) for w in range(c)))
    done = (n // c) * c
    cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
    workers_s = _children_cpu() - cpu_workers
    print(
        f"{done} reports, {c} writers: {done / wall_s:,.0f} reports/s, "
        f"{cpu_s / done * 1e6:,.0f} µs CPU/report ({cpu_s / wall_s:.2f} cores)"
        + (f", intake workers {workers_s / done * 1e6:,.0f} µs CPU/report" if pool is not None else "")
    )
    if pool is not None:
        await pool.close()
    await store.close()


def _children_cpu() -> float:
    """CPU seconds used so far by this process's children (the intake workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as fh:
            for pid in fh.read().split():
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    p.add_argument("-c", type=int, default=32, help="concurrent writers")
    p.add_argument("-n", type=int, default=3000, help="reports")
    p.add_argument("--uvloop", action="store_true")
    p.add_argument("--no-notify", action="store_true", help="leave Notifier.changed out (its share)")
    p.add_argument("--aiosqlite", action="store_true", help="aiosqlite instead of our SQLite driver")
    p.add_argument("--intake-workers", type=int, default=0, help="prepare in this many worker processes")
    p.add_argument(
        "--no-write", action="store_true", help="prepare only (with --intake-workers: the hand-off)"
    )
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
        intake_workers=args.intake_workers,
        write=not args.no_write,
    )
    if args.uvloop:
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


if __name__ == "__main__":
    main()
