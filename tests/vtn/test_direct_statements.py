"""direct.first_row against the library path (SQLAlchemy executing, `direct_statements=False`).

The same statements run in write transactions through an engine with the shortcut and one
without, on SQLite (our driver) and PostgreSQL (asyncpg): the same rows back, the same misses, and
a unique violation raised as one of direct.UNIQUE_VIOLATIONS either way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from vtn.storage import direct
from vtn.storage.engine import SQLITE_BEGIN, create_engine

probe_meta = MetaData()
probe = Table(
    "direct_probe",
    probe_meta,
    Column("id", String, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("kind", String, nullable=False),
)
ADD = insert(probe).returning(probe.c.id, probe.c.n)
# Fixed binds (the literals) between the parameters, as reports.py's statements have.
COPY = (
    insert(probe)
    .from_select(
        ["id", "n", "kind"],
        select(literal("copy-") + probe.c.id, probe.c.n + literal(10), literal("copy")).where(
            probe.c.kind == "seed"
        ),
    )
    .returning(probe.c.id, probe.c.n)
)
STEPS: list[tuple[Any, dict[str, Any]]] = [
    (ADD, {"id": "a", "n": 1, "kind": "seed"}),
    (ADD, {"id": "b", "n": 2, "kind": "other"}),
    (ADD, {"id": "a", "n": 3, "kind": "dup"}),  # the primary key again
    (select(probe.c.n, probe.c.kind).where(probe.c.id == "a"), {}),
    (select(probe.c.n).where(probe.c.id == "nothing"), {}),
    (COPY, {}),
    (select(probe.c.id, probe.c.n).where(probe.c.kind == "copy"), {}),
]


async def outcomes(engine: AsyncEngine) -> tuple[list[Any], bool]:
    """Each step in its own write transaction; whether the compiled-statement cache was used."""
    out: list[Any] = []
    async with engine.begin() as conn:
        await conn.run_sync(probe_meta.drop_all)
        await conn.run_sync(probe_meta.create_all)
    cached = False
    for statement, params in STEPS:
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn = await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            try:
                async with conn.begin():
                    # asyncpg's adapter sends BEGIN with the first statement; the shortcut needs it sent.
                    await conn.execute(select(literal(1)))
                    out.append(await direct.first_row(conn, statement, params))
            except direct.UNIQUE_VIOLATIONS:
                out.append("unique violation")
            raw = await conn.get_raw_connection()
            cached = cached or bool(raw.info.get("vtn.direct_compiled"))
    async with engine.begin() as conn:
        await conn.run_sync(probe_meta.drop_all)
    return out, cached


async def test_direct_and_library_paths_agree(db_url: str) -> None:
    results = {}
    for shortcut in (True, False):
        engine = create_engine(db_url, direct_statements=shortcut)
        try:
            results[shortcut] = await outcomes(engine)
        finally:
            await engine.dispose()
    (fast, fast_cached), (library, library_cached) = results[True], results[False]
    assert fast == library
    assert library == [
        ("a", 1),
        ("b", 2),
        "unique violation",
        (1, "seed"),
        None,
        ("copy-a", 11),
        ("copy-a", 11),
    ]
    assert fast_cached and not library_cached  # the shortcut was taken, and only where switched on


async def _all_rows(engine: AsyncEngine) -> list[Any]:
    """direct.rows of a bound LIKE pattern, in a write transaction: several rows, then none."""
    pattern = bindparam("pattern", type_=String())
    many = select(probe.c.id, probe.c.n).where(probe.c.kind.like(pattern)).order_by(probe.c.n)
    async with engine.begin() as conn:
        await conn.run_sync(probe_meta.drop_all)
        await conn.run_sync(probe_meta.create_all)
    out: list[Any] = []
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            await conn.execute(select(literal(1)))
            for i, kind in enumerate(("a,x,", "b,x,", "c,y,")):
                await direct.first_row(conn, ADD, {"id": f"r{i}", "n": i, "kind": kind})
            out.append(await direct.rows(conn, many, {"pattern": "%,x,%"}))
            out.append(await direct.rows(conn, many, {"pattern": "%,z,%"}))
    async with engine.begin() as conn:
        await conn.run_sync(probe_meta.drop_all)
    return out


async def test_rows_direct_and_library_paths_agree(db_url: str) -> None:
    results = {}
    for shortcut in (True, False):
        engine = create_engine(db_url, direct_statements=shortcut)
        try:
            results[shortcut] = await _all_rows(engine)
        finally:
            await engine.dispose()
    assert results[True] == results[False] == [[("r0", 0), ("r1", 1)], []]
