"""client_contacts: one flush records every client seen; only first contacts are reported as new."""

from __future__ import annotations

from sqlalchemy import select

from vtn.storage import contacts, open_store
from vtn.storage.tables import client_contacts as cc


async def test_known_clients_move_and_new_ones_are_reported(db_url: str) -> None:
    store = open_store(db_url)
    try:
        first = {f"ven-{i:04d}": "ven" for i in range(1200)}  # more than one statement's worth before
        async with store.transaction() as tx:
            assert await contacts.record(tx.conn, first, 1_000) == sorted(first)
            assert await contacts.record(tx.conn, {}, 1_500) == []
        again = {"ven-0007": "ven", "ven-1199": "ven", "bl-1": "bl"}
        async with store.transaction() as tx:
            assert await contacts.record(tx.conn, again, 2_000) == ["bl-1"]
        async with store.read() as tx:
            rows = {r[0]: (r[1], r[2], r[3]) for r in await tx.conn.execute(select(cc))}
        assert len(rows) == 1201
        assert rows["ven-0007"] == ("ven", 1_000, 2_000)
        assert rows["ven-1199"] == ("ven", 1_000, 2_000)
        assert rows["ven-0008"] == ("ven", 1_000, 1_000)
        assert rows["bl-1"] == ("bl", 2_000, 2_000)
    finally:
        await store.close()
