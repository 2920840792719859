"""Where the benchmarks' seeded data lives: cached SQLite files in bench/.data/ and vtnbench_*
PostgreSQL databases (named per checkout with VTNBENCH_PG_TAG), made, copied from templates and
dropped here. What goes into them is bench/seed.py's business."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from bench.common import DATA

if TYPE_CHECKING:
    from bench.seed import Manifest


def _pg_admin(url: str) -> str:
    return str(make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False))


def pg_name(name: str) -> str:
    """Our PostgreSQL database names: vtnbench_<name> with only [a-z0-9_]; with VTNBENCH_PG_TAG=x,
    vtnbench_x_<name> (benches of several checkouts sharing one server keep apart)."""
    tag = "".join(c if c.isalnum() else "_" for c in os.environ.get("VTNBENCH_PG_TAG", "").lower())
    return "vtnbench_" + (f"{tag}_" if tag else "") + "".join(c if c.isalnum() else "_" for c in name.lower())


def pg_db_url(base: str, name: str) -> str:
    return str(make_url(base).set(database=name).render_as_string(hide_password=False))


async def _pg_exec(base: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin(base))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def recreate_pg(base: str, name: str, template: str | None = None) -> None:
    # Other sessions of ours on `name` (a stopped VTN) are gone; force just in case (PG 13+).
    tpl = f" TEMPLATE {template}" if template else ""
    asyncio.run(
        _pg_exec(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}{tpl}")
    )


def clean(pg_base: str, *, log: Any = print) -> None:
    """Remove every seeded SQLite file and drop every vtnbench_* PostgreSQL database."""
    if DATA.exists():
        shutil.rmtree(DATA)
        log(f"  removed {DATA}")

    async def drop() -> None:
        import asyncpg

        conn = await asyncpg.connect(_pg_admin(pg_base), timeout=3)
        try:
            names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'vtnbench%'")
            for row in names:
                await conn.execute(f"DROP DATABASE IF EXISTS {row['datname']} WITH (FORCE)")
                log(f"  dropped database {row['datname']}")
        finally:
            await conn.close()

    try:
        asyncio.run(drop())
    except (TimeoutError, OSError) as exc:
        log(f"  PostgreSQL not reachable ({exc}); nothing dropped there")


def working_copy(manifest: Manifest, backend: str, pg_base: str, name: str) -> str:
    """A throw-away copy of a seeded database (for scenarios that write): file copy or PG template."""
    if backend == "sqlite":
        src = Path(make_url(manifest.url).database or "")
        dst = DATA / f"work-{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dst}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(src, dst)
        return f"sqlite:///{dst}"
    db = pg_name(f"work_{name}")
    recreate_pg(pg_base, db, template=str(make_url(manifest.url).database))
    return pg_db_url(pg_base, db)
