"""The scale scenario's five lookups in-process, at several VEN counts: CPU and wall µs per
statement, and the bytes SQLite read from the file per statement (its page cache misses).

    python bench/scale_lookups.py --sizes 1000,1000000 [--rounds 3] [--n 4000]

Each lookup runs the very statement `vtn serve` runs for it (vtn.storage.reads.Reads, on the loop,
as in production) over the same ids bench/run.py's scale scenario rotates through, on the seeded
SQLite databases of bench/.data (made by bench/run.py --scenario scale --sizes ...). Sizes alternate
within each round, so both see the same machine; the figures are medians of the rounds. `read kB`
is /proc/self/io's rchar per statement: what the reads connection fetched from the OS (pread) because
its page cache did not hold the page: 4 kB per page missed. No HTTP, no auth: what the database
part of a lookup costs and how it grows with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench.common import DEFAULT_PG_URL  # noqa: E402
from bench.scenarios_read import LOOKUPS, _scale_picks, vens_spec  # noqa: E402
from bench.seed import Manifest, ensure  # noqa: E402
from shared.enums import ObjectType  # noqa: E402
from shared.models.common import VenId  # noqa: E402
from vtn.storage.filters import Page, ResourceFilter, VenFilter  # noqa: E402
from vtn.storage.reads import Reads  # noqa: E402

BUDGET = 4 * 1024 * 1024  # list_max_bytes' default
Lookup = Callable[[Reads, int], Awaitable[Any]]


def _io() -> tuple[int, int]:
    """(bytes read through read/pread, bytes the disk delivered) by this process so far."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["read_bytes"])


def lookups(m: Manifest) -> dict[str, Lookup]:
    picks = _scale_picks(len(m.ven_ids))
    res = m.resource_ids_sample[:LOOKUPS]
    page = Page(max_bytes=BUDGET)

    async def ven(r: Reads, i: int) -> Any:
        return await r.one(ObjectType.VEN, m.ven_ids[picks[i % len(picks)]])

    async def resource(r: Reads, i: int) -> Any:
        return await r.one(ObjectType.RESOURCE, res[i % len(res)])

    async def vens_page(r: Reads, _i: int) -> Any:
        return await r.page(ObjectType.VEN, VenFilter(page=page))

    async def by_ven(r: Reads, i: int) -> Any:
        return await r.page(
            ObjectType.RESOURCE, ResourceFilter(ven_id=VenId(m.ven_ids[picks[i % len(picks)]]), page=page)
        )

    async def own(r: Reads, i: int) -> Any:
        owner = m.client_ids[picks[i % len(picks)]]
        return await r.page(ObjectType.RESOURCE, ResourceFilter(owner=owner, page=page))  # type: ignore[arg-type]

    return {
        "BL GET /vens/{id}": ven,
        "BL GET /resources/{id}": resource,
        "BL GET /vens (first 50)": vens_page,
        "BL GET /resources?venID=": by_ven,
        "VEN GET /resources (own 10)": own,
    }


async def run_one(r: Reads, fn: Lookup, n: int) -> tuple[float, float, float, float]:
    """(CPU µs, wall µs, kB read from the file, kB of it from the disk) per statement over n."""
    cpu, wall, (read, disk) = time.process_time(), time.perf_counter(), _io()
    for i in range(n):
        found = await fn(r, i)
        assert found, "a lookup found nothing"
    read2, disk2 = _io()
    return (
        (time.process_time() - cpu) / n * 1e6,
        (time.perf_counter() - wall) / n * 1e6,
        (read2 - read) / n / 1024,
        (disk2 - disk) / n / 1024,
    )


async def main_async(sizes: list[int], rounds: int, n: int, pragmas: list[str]) -> None:
    manifests = {s: ensure(vens_spec(s), "sqlite", DEFAULT_PG_URL) for s in sizes}
    readers = {
        s: Reads(create_async_engine(f"sqlite+aiosqlite:///{m.url.split(':///', 1)[1]}"))
        for s, m in manifests.items()
    }
    calls = {s: lookups(m) for s, m in manifests.items()}
    for r in readers.values():
        conn = r._open()  # the reads connection, as Reads opens it; then the pragmas tried
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}").close()
    results: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
    for rnd in range(rounds + 1):  # round 0 warms each reader's connection and the OS page cache
        for name in calls[sizes[0]]:
            for s in sizes:
                got = await run_one(readers[s], calls[s][name], n)
                if rnd:
                    results.setdefault((name, s), []).append(got)
                else:
                    cpu, wall, read, disk = got
                    print(
                        f"  warm-up {name:30s} {s:>9,}: {cpu:7.1f} µs CPU {wall:7.1f} µs wall "
                        f"{read:6.1f} kB read {disk:6.1f} from disk"
                    )
    heads = ("CPU µs", "wall µs", "read kB", "disk kB")
    print(f"\n{'lookup':30s} {'VENs':>9s} " + " ".join(f"{h:>8s}" for h in heads), end="")
    print(f"  (median of {rounds} rounds of {n})")
    for name in calls[sizes[0]]:
        for s in sizes:
            rounds_got = results[(name, s)]
            cpu, wall, read, disk = (statistics.median(g[k] for g in rounds_got) for k in range(4))
            print(f"{name:30s} {s:>9,} {cpu:8.1f} {wall:8.1f} {read:8.1f} {disk:8.1f}")
    for r in readers.values():
        r.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,1000000")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n", type=int, default=LOOKUPS)
    p.add_argument("--pragma", action="append", default=[], help="e.g. cache_size=-65536 (repeatable)")
    args = p.parse_args()
    asyncio.run(main_async([int(s) for s in args.sizes.split(",")], args.rounds, args.n, args.pragma))


if __name__ == "__main__":
    main()
