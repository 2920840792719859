"""The migrations build exactly the schema that vtn/storage/tables.py describes, on both stores, and
keep what is stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from vtn.storage import open_store
from vtn.storage.migrate import upgrade
from vtn.storage.tables import metadata


def _differences(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_migrated_database_matches_the_table_definitions(db_url: str) -> None:
    store = open_store(db_url)
    try:
        async with store.read() as tx:
            diffs = await tx.conn.run_sync(_differences)
    finally:
        await store.close()
    assert diffs == []


async def test_listed_tables_have_the_list_order_index(db_url: str) -> None:
    def index_names(conn: Connection) -> set[str]:
        from sqlalchemy import inspect

        found: set[str] = set()
        for table in ("programs", "events", "vens", "resources", "reports", "subscriptions"):
            found.update(str(ix["name"]) for ix in inspect(conn).get_indexes(table))
        return found

    store = open_store(db_url)
    try:
        async with store.read() as tx:
            names = await tx.conn.run_sync(index_names)
    finally:
        await store.close()
    for table in ("programs", "events", "vens", "resources", "reports", "subscriptions"):
        assert f"ix_{table}_created_us_id" in names


def test_0012_keeps_every_row_and_marks_the_canonical_documents(tmp_path: Path) -> None:
    # Adding `canonical` must not copy tables (on SQLite, dropping `programs` deletes its events).
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0011")
    conn = sqlite3.connect(tmp_path / "old.db")
    rows = "(id, created_us, modified_us, doc"
    conn.execute(f"INSERT INTO programs {rows}, program_name) VALUES ('p1', 1, 1, ?, 'p')", ('{"id":"p1"}',))
    conn.execute(
        f"INSERT INTO events {rows}, program_id) VALUES ('e1', 1, 1, ?, 'p1'), ('e2', 2, 2, ?, 'p1')",
        ('{"id":"e1","eventName":"caf\u00e9"}', '{"id":"e2","v":[1e-05]}'),
    )
    conn.execute(
        f"INSERT INTO vens {rows}, client_id, ven_name) VALUES ('v1', 1, 1, ?, 'c', 'v')", ('{"id":"v1"}',)
    )
    conn.execute(
        f"INSERT INTO resources {rows}, client_id, ven_id, resource_name)"
        " VALUES ('r1', 1, 1, ?, 'c', 'v1', 'r')",
        ('{"id":"r1"}',),
    )
    conn.commit()
    upgrade(url)
    marked = {
        row[0]: row[1]
        for table in ("programs", "events", "vens", "resources")
        for row in conn.execute(f"SELECT id, canonical FROM {table}")
    }
    conn.close()
    assert marked == {"p1": 1, "e1": 0, "e2": 0, "v1": 1, "r1": 1}
