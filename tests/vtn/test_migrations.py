"""The migrations build exactly the schema that vtn/storage/tables.py describes, on both stores."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from vtn.storage import open_store
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
