"""In-process CPU per read of the API's hot reads (`vtn/storage/reads.py`), under concurrency.

`python bench/reads_cpu.py [--db sqlite|postgresql] [-c 32] [-n 6000]` runs `Reads.one` (a VEN by
id, as BL's `GET /vens/{id}`) and `Reads.page` (the first 50 VENs, as BL's `GET /vens`) with `-c`
reads at once on the 1,000-VEN bench database, and prints reads/s and CPU µs per read (process
time): the read path alone, apart from HTTP, so that a change to it can be measured in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_PG_URL  # noqa: E402
from bench.scenarios_read import vens_spec  # noqa: E402
from bench.seed import ensure  # noqa: E402
from shared.enums import ObjectType  # noqa: E402
from vtn.storage import open_store  # noqa: E402
from vtn.storage.filters import Page, VenFilter  # noqa: E402


async def _timed(label: str, c: int, n: int, read: Callable[[int], Awaitable[object]]) -> None:
    async def worker(w: int, count: int) -> None:
        for j in range(count):
            await read(w * count + j)

    await asyncio.gather(*(worker(w, 20) for w in range(c)))  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w, n // c) for w in range(c)))
    done = (n // c) * c
    cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label}: {done / wall_s:,.0f} reads/s, {cpu_s / done * 1e6:,.1f} µs CPU/read", flush=True)


async def run(url: str, ven_ids: list[str], c: int, n: int, rounds: int) -> None:
    store = open_store(url)
    reads = store.reads

    async def by_id(i: int) -> object:
        found = await reads.one(ObjectType.VEN, ven_ids[i % len(ven_ids)])
        assert found is not None
        return found

    async def first_page(_: int) -> object:
        found = await reads.page(ObjectType.VEN, VenFilter(page=Page(limit=50, max_bytes=4 << 20)))
        assert len(found) == 50
        return found

    try:
        for _ in range(rounds):
            await _timed(f"{store.engine.dialect.name} VEN by id, {c} at once", c, n, by_id)
            await _timed(f"{store.engine.dialect.name} first 50 VENs, {c} at once", c, n // 4, first_page)
    finally:
        await store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    p.add_argument("-c", type=int, default=32, help="reads at once")
    p.add_argument("-n", type=int, default=6000, help="reads by id (a quarter as many pages)")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)  # as `vtn serve` runs
    m = ensure(vens_spec(1000), args.db, args.pg_url)
    asyncio.run(run(m.url, m.ven_ids, args.c, args.n, args.rounds))


if __name__ == "__main__":
    main()
