"""`events.targeted` (migration 0014) says whether an event has target rows, and every write keeps it
so: a VEN's list and look-ups keep untargeted events by it (vtn/storage/_rows.is_untargeted)."""

# ruff: noqa: F811  (the shared 3.0.1 fixtures are imported from support.oadr301 and used as arguments)

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import text
from support.api_data import bl_ven, create, event, ok_json, problem, program
from support.harness import Api, Vtn
from support.oadr301 import Api301, bl301, create301, event_301, ven301, vtn  # noqa: F401

from shared.models import Event, EventRequest
from vtn.storage import Store
from vtn.storage.migrate import upgrade

_FLAGS = text(
    "SELECT e.id, e.targeted, EXISTS (SELECT 1 FROM object_targets t"
    " WHERE t.kind = 'EVENT' AND t.object_id = e.id) FROM events e"
)


async def _flags(store: Store) -> dict[str, bool]:
    """eventID -> its `targeted` column, after checking it against the event's target rows."""
    async with store.read() as tx:
        rows = (await tx.conn.execute(_FLAGS)).all()
    assert [r[0] for r in rows if bool(r[1]) != bool(r[2])] == []
    return {str(r[0]): bool(r[1]) for r in rows}


async def _seen(api: Api | Api301) -> set[str]:
    return {e["id"] for e in await ok_json(await api.get("/events"))}


async def test_31_writes_keep_the_flag_and_the_rule_follows_it(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    await create(bl, "/vens", bl_ven("ven-a", ven_a.client_id, ["g1"]))
    host = await create(bl, "/programs", program("host"))
    open_ev = await create(bl, "/events", event(host["id"]))
    empty = await create(bl, "/events", event(host["id"], targets=[]))
    other = await create(bl, "/events", event(host["id"], targets=["g2"]))
    mine = await create(bl, "/events", event(host["id"], targets=["g2", "g1"]))
    assert await _flags(vtn.store) == {
        open_ev["id"]: False,
        empty["id"]: False,
        other["id"]: True,
        mine["id"]: True,
    }
    assert await _seen(ven_a) == {open_ev["id"], empty["id"], mine["id"]}
    # Targets removed: visible to every VEN; targets added: hidden from those without the grant.
    await ok_json(await bl.put(f"/events/{other['id']}", json=event(host["id"])))
    await ok_json(await bl.put(f"/events/{open_ev['id']}", json=event(host["id"], targets=["g3"])))
    assert await _flags(vtn.store) == {
        open_ev["id"]: True,
        empty["id"]: False,
        other["id"]: False,
        mine["id"]: True,
    }
    assert await _seen(ven_a) == {other["id"], empty["id"], mine["id"]}
    await problem(await ven_a.get(f"/events/{open_ev['id']}"), 404)
    assert (await ok_json(await ven_a.get(f"/events/{other['id']}")))["id"] == other["id"]
    await ok_json(await bl.delete(f"/events/{mine['id']}"))
    assert set(await _flags(vtn.store)) == {open_ev["id"], empty["id"], other["id"]}


async def test_301_writes_keep_the_flag(vtn: Vtn, bl: Api, bl301: Api301, ven_a: Api, ven301: Api301) -> None:
    await create(bl, "/vens", bl_ven("ven-a", ven_a.client_id, ["g1"]))
    prog = await create301(bl301, "/programs", {"programName": "p"})
    hidden = await create301(
        bl301, "/events", event_301(prog["id"], targets=[{"type": "GROUP", "values": ["g2"]}])
    )
    shown = await create301(bl301, "/events", event_301(prog["id"]))
    assert await _flags(vtn.store) == {hidden["id"]: True, shown["id"]: False}
    assert await _seen(ven301) == {shown["id"]}
    await ok_json(await bl301.put(f"/events/{hidden['id']}", json=event_301(prog["id"])))
    put = event_301(prog["id"], targets=[{"type": "GROUP", "values": ["g3"]}])
    await ok_json(await bl301.put(f"/events/{shown['id']}", json=put))
    assert await _flags(vtn.store) == {hidden["id"]: False, shown["id"]: True}
    assert await _seen(ven301) == {hidden["id"]}


async def test_repository_writes_keep_the_flag(vtn: Vtn, bl: Api) -> None:
    # The path of program automation's publish and of sandbox events (tx.events.insert/replace).
    host = await create(bl, "/programs", program("host"))
    req = EventRequest.model_validate({"programID": host["id"], "targets": ["g1"]})
    async with vtn.store.transaction() as tx:
        made = await tx.events.insert(tx.events.new(req))
    assert await _flags(vtn.store) == {made.id: True}
    plain = EventRequest.model_validate({"programID": host["id"]})
    async with vtn.store.transaction() as tx:
        await tx.events.replace(Event.stamped(plain, made.id, made.created_date_time, tx.events.clock()))
    assert await _flags(vtn.store) == {made.id: False}
    async with vtn.store.transaction() as tx:
        await tx.events.replace(Event.stamped(req, made.id, made.created_date_time, tx.events.clock()))
    assert await _flags(vtn.store) == {made.id: True}


def test_0014_marks_the_events_with_target_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0013")
    conn = sqlite3.connect(tmp_path / "old.db")
    rows = "(id, created_us, modified_us, doc"
    conn.execute(f"INSERT INTO programs {rows}, program_name) VALUES ('p1', 1, 1, '{{}}', 'p')")
    values: list[Any] = [(f"e{i}", i, i, "{}", "p1") for i in range(3)]
    conn.executemany(f"INSERT INTO events {rows}, program_id) VALUES (?, ?, ?, ?, ?)", values)
    targets = [("EVENT", "e1", "g1"), ("EVENT", "e1", "g2"), ("PROGRAM", "e2", "g1"), ("EVENT", "e9", "g1")]
    conn.executemany("INSERT INTO object_targets (kind, object_id, target) VALUES (?, ?, ?)", targets)
    conn.commit()
    upgrade(url)
    marked = dict(conn.execute("SELECT id, targeted FROM events").fetchall())
    conn.close()
    assert marked == {"e0": 0, "e1": 1, "e2": 0}


async def test_with_the_caches_off_a_list_proves_its_grants_in_its_own_statement(db_url: str) -> None:
    """Grant cache off: a VEN's list is read under the grants kept as of the grants stamp, unread,
    and the page statement reads the stamp (Core.permitted): a grant, and its change, show in the
    next list of either API, whether the page under the old grants was empty or not."""
    from aiohttp.test_utils import TestClient, TestServer

    from shared.enums import Role
    from vtn.app import build_app
    from vtn.config import VtnConfig
    from vtn.oadr301.routes import add_routes
    from vtn.storage import open_store

    overrides = {"db_url": db_url, "read_cache_seconds": 0, "grant_cache_seconds": 0}
    store = open_store(db_url)
    app = await build_app(VtnConfig.load(env={}, overrides=overrides), store)
    try:
        if not any(r.resource is not None and "3.0.1" in r.resource.canonical for r in app.router.routes()):
            add_routes(app)
        async with TestClient(TestServer(app)) as client:
            vtn = Vtn(client, store)
            bl, ven = await vtn.login("bl", Role.BL), await vtn.login("ven", Role.VEN)
            ven301 = Api301(ven)
            host = await create(bl, "/programs", program("host"))
            g1 = await create(bl, "/events", event(host["id"], targets=["g1"]))
            for api in (ven, ven301):
                assert await _seen(api) == set()  # an empty page: the stamp read after it
            open_ev = await create(bl, "/events", event(host["id"]))
            for api in (ven, ven301):
                assert await _seen(api) == {open_ev["id"]}
            made = await create(bl, "/vens", bl_ven("v", ven.client_id, ["g1"]))
            for api in (ven, ven301):
                assert await _seen(api) == {open_ev["id"], g1["id"]}
            await ok_json(await bl.put(f"/vens/{made['id']}", json=bl_ven("v", ven.client_id, ["g2"])))
            for api in (ven, ven301):
                assert await _seen(api) == {open_ev["id"]}
            await ok_json(await bl.put(f"/vens/{made['id']}", json=bl_ven("v", ven.client_id, ["g1", "g2"])))
            assert [e.get("targets") for e in await ok_json(await ven.get("/events"))] == [["g1"], None]
    finally:
        await store.close()
