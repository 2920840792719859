"""client_contacts: first and last contact of each client, recorded in batches (vtn/storage/contacts.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from vtn.storage import contacts, open_store
from vtn.storage.tables import client_contacts as cc


async def _rows(store: Any) -> dict[str, tuple[str, int, int]]:
    async with store.transaction() as tx:
        found = await tx.conn.execute(
            select(cc.c.client_id, cc.c.role, cc.c.first_seen_us, cc.c.last_seen_us)
        )
        return {str(r[0]): (str(r[1]), int(r[2]), int(r[3])) for r in found}


async def test_new_clients_once_known_ones_updated(db_url: str) -> None:
    store = open_store(db_url)
    try:
        async with store.transaction() as tx:
            new = await contacts.record(tx.conn, {"ven-b": "ven", "ven-a": "ven", "bl-1": "bl"}, 1_000)
        assert new == ["bl-1", "ven-a", "ven-b"]  # sorted, whatever the role (the caller filters)
        async with store.transaction() as tx:
            new = await contacts.record(tx.conn, {"ven-a": "ven", "ven-c": "ven"}, 2_000)
        assert new == ["ven-c"]
        assert await _rows(store) == {
            "bl-1": ("bl", 1_000, 1_000),
            "ven-a": ("ven", 1_000, 2_000),
            "ven-b": ("ven", 1_000, 1_000),
            "ven-c": ("ven", 2_000, 2_000),
        }
    finally:
        await store.close()


async def test_many_clients_across_chunks(db_url: str) -> None:
    store = open_store(db_url)
    ids = [f"ven-{i:05d}" for i in range(1_203)]  # more than two chunks of 500
    try:
        async with store.transaction() as tx:
            assert await contacts.record(tx.conn, {c: "ven" for c in ids[::2]}, 1_000) == ids[::2]
        async with store.transaction() as tx:
            assert await contacts.record(tx.conn, {c: "ven" for c in ids}, 2_000) == ids[1::2]
        rows = await _rows(store)
        assert len(rows) == len(ids)
        assert {rows[c][1] for c in ids[::2]} == {1_000} and {rows[c][1] for c in ids[1::2]} == {2_000}
        assert {r[2] for r in rows.values()} == {2_000}
    finally:
        await store.close()


async def test_client_recorded_meanwhile_by_another_process(db_url: str) -> None:
    """A client another process records between our look-up and our insert is not new here, and its
    last contact is still ours."""
    store = open_store(db_url)
    raced = False

    def other_process(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal raced
        if not raced and statement.lstrip().upper().startswith("INSERT INTO CLIENT_CONTACTS"):
            raced = True
            marks = "?, ?, ?, ?" if conn.dialect.name == "sqlite" else "$1, $2, $3, $4"
            columns = "client_id, role, first_seen_us, last_seen_us"
            cursor.execute(
                f"INSERT INTO client_contacts ({columns}) VALUES ({marks})",
                ("ven-x", "ven", 500, 500),
            )

    try:
        async with store.transaction() as tx:
            event.listen(tx.conn.sync_connection, "before_cursor_execute", other_process)
            try:
                new = await contacts.record(tx.conn, {"ven-x": "ven", "ven-y": "ven"}, 1_000)
            finally:
                event.remove(tx.conn.sync_connection, "before_cursor_execute", other_process)
        assert raced
        assert new == ["ven-y"]
        assert await _rows(store) == {"ven-x": ("ven", 500, 1_000), "ven-y": ("ven", 1_000, 1_000)}
    finally:
        await store.close()
