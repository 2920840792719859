"""The read cache never serves a stale or foreign answer after a local write, and is shared safely."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from support.harness import Api

from shared.models.ven import BL_VEN_REQUEST


@contextlib.asynccontextmanager
async def _two_apps(db_url: str, **overrides: object) -> AsyncIterator[tuple[Api, Api]]:
    """Two VTN apps on one database (as two processes would be): a BL logged in on A, a VEN on B."""
    from aiohttp.test_utils import TestClient, TestServer
    from support.harness import Vtn

    from shared.enums import Role
    from vtn.app import build_app
    from vtn.config import VtnConfig
    from vtn.storage import open_store

    config = VtnConfig.load(env={}, overrides={"db_url": db_url, **overrides})
    store_a, store_b = open_store(db_url), open_store(db_url)
    app_a, app_b = await build_app(config, store_a), await build_app(config, store_b)
    try:
        async with TestClient(TestServer(app_a)) as ca, TestClient(TestServer(app_b)) as cb:
            a, b = Vtn(ca, store_a), Vtn(cb, store_b)
            yield await a.login("bl", Role.BL), await b.login("ven", Role.VEN)
    finally:
        await store_a.close()
        await store_b.close()


async def test_new_event_shows_at_once_despite_the_cache(bl: Api, ven_a: Api) -> None:
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    assert await (await ven_a.get("/events")).json() == []  # cached empty answer
    event = await (await bl.post("/events", json={"programID": program["id"]})).json()
    assert [e["id"] for e in await (await ven_a.get("/events")).json()] == [event["id"]]
    assert (await bl.delete(f"/events/{event['id']}")).status == 200
    assert await (await ven_a.get("/events")).json() == []


async def test_a_grant_takes_effect_at_once_and_answers_never_cross_vens(
    bl: Api, ven_a: Api, ven_b: Api
) -> None:
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    event = await (await bl.post("/events", json={"programID": program["id"], "targets": ["g1"]})).json()
    assert await (await ven_a.get("/events")).json() == []  # nothing granted yet: cached
    ven = {"objectType": BL_VEN_REQUEST, "venName": "a", "clientID": ven_a.client_id, "targets": ["g1"]}
    assert (await bl.post("/vens", json=ven)).status == 201
    assert [e["id"] for e in await (await ven_a.get("/events")).json()] == [event["id"]]
    # VEN B asks the same question and must not get VEN A's (cached) answer.
    assert await (await ven_b.get("/events")).json() == []
    assert await (await ven_b.get("/events", params={"targets": "g1"})).json() == []


async def test_another_process_write_invalidates_within_the_poll_delay(db_url: str) -> None:
    """Two VTN apps on one database (as two processes would be): B's cache follows A's writes."""
    import asyncio

    # Long TTLs, so only the change stamps can explain an update.
    overrides = {"read_cache_seconds": 600, "grant_cache_seconds": 600, "cache_poll_seconds": 0.1}
    async with _two_apps(db_url, **overrides) as (bl, ven):
        program = await (await bl.post("/programs", json={"programName": "p"})).json()
        event = await (await bl.post("/events", json={"programID": program["id"], "targets": ["g1"]})).json()
        assert await (await ven.get("/events")).json() == []  # B caches: no grant yet
        grant = {"objectType": "BL_VEN_REQUEST", "venName": "v", "clientID": ven.client_id, "targets": ["g1"]}
        assert (await bl.post("/vens", json=grant)).status == 201  # written through A
        for _ in range(50):
            seen = [e["id"] for e in await (await ven.get("/events")).json()]
            if seen:
                break
            await asyncio.sleep(0.05)
        assert seen == [event["id"]]


async def test_with_the_caches_off_another_process_grant_shows_at_once(db_url: str) -> None:
    """Read and grant caches off: B answers a VEN from its grants as of the grants stamp it reads with
    every request, so a grant A wrote (and changed back) shows in B's very next answer, no poll."""
    # B never polls the stamps (an hour): only what each request reads can explain an update.
    overrides = {"read_cache_seconds": 0, "grant_cache_seconds": 0, "cache_poll_seconds": 3600}
    async with _two_apps(db_url, **overrides) as (bl, ven):
        program = await (await bl.post("/programs", json={"programName": "p"})).json()
        body = {"programID": program["id"], "targets": ["g1", "g2"]}
        event = await (await bl.post("/events", json=body)).json()
        assert await (await ven.get("/events")).json() == []  # no grant yet
        grant = {"objectType": "BL_VEN_REQUEST", "venName": "v", "clientID": ven.client_id, "targets": ["g1"]}
        made = await (await bl.post("/vens", json=grant)).json()  # written through A
        seen = await (await ven.get("/events")).json()
        assert [(e["id"], e["targets"]) for e in seen] == [(event["id"], ["g1"])]
        assert (await ven.get(f"/events/{event['id']}")).status == 200
        moved = {**grant, "targets": ["g2"]}
        assert (await bl.put(f"/vens/{made['id']}", json=moved)).status == 200
        seen = await (await ven.get("/events")).json()
        assert [(e["id"], e["targets"]) for e in seen] == [(event["id"], ["g2"])]
        assert (await bl.delete(f"/vens/{made['id']}")).status == 200
        assert await (await ven.get("/events")).json() == []
        assert (await ven.get(f"/events/{event['id']}")).status == 404


def test_answers_only_a_write_can_change_outlive_the_clock_ttl() -> None:
    from vtn.services.read_cache import ReadCache

    now = [0.0]
    cache = ReadCache(answer_ttl_s=1.0, stable_ttl_s=60.0, clock=lambda: now[0])
    cache.keep_answer("active", b"a", clocked=True)
    cache.keep_answer("all", b"b", clocked=False)
    now[0] = 2.0
    assert cache.answer("active") is None  # `active` must follow the clock
    assert cache.answer("all") == b"b"
    cache.objects_changed()  # a write drops both kinds at once
    assert cache.answer("all") is None
    now[0] = 70.0
    cache.keep_answer("all", b"c", clocked=False)
    now[0] = 131.0
    assert cache.answer("all") is None  # bounded even if no change stamp ever moves


def test_an_answer_built_across_a_write_is_not_kept() -> None:
    from vtn.services.read_cache import ReadCache

    cache = ReadCache()
    since = cache.generation  # a poll starts building its answer ...
    cache.objects_changed()  # ... a write commits meanwhile ...
    cache.keep_answer("k", b"old", clocked=False, since=since)  # ... its (maybe stale) answer
    assert cache.answer("k") is None
    cache.keep_answer("k", b"new", clocked=False, since=cache.generation)
    assert cache.answer("k") == b"new"


def test_a_refused_grant_snapshot_is_not_retried_at_every_grant_change() -> None:
    """Finding the grants too many to snapshot costs a query over all of them: after a refusal,
    grant changes do not bring the snapshot back for SNAPSHOT_RETRY_S (per-client entries serve)."""
    from vtn.services.read_cache import SNAPSHOT_RETRY_S, ReadCache

    now = [0.0]
    cache = ReadCache(grant_ttl_s=5.0, clock=lambda: now[0])
    assert cache.needs_snapshot()
    cache.keep_snapshot(None)  # too many grants
    cache.grants_changed()
    assert not cache.needs_snapshot()
    cache.keep_grants("c1", frozenset({"t"}))
    assert cache.grants("c1") == frozenset({"t"})
    now[0] = SNAPSHOT_RETRY_S + 1
    assert cache.needs_snapshot()
    cache.keep_snapshot({"c1": frozenset({"u"})})
    assert cache.grants("c1") == frozenset({"u"}) and cache.grants("c2") == frozenset()
    assert not cache.needs_snapshot()


async def test_with_the_caches_off_reports_follow_another_process_grant_at_once(db_url: str) -> None:
    """Caches off: B reads a VEN's grants for its report writes in each write's transaction (the
    grants stamp once per batch); a grant A wrote, moved or deleted decides B's very next report,
    through 3.1 and 3.0.1 alike."""
    from support.api_data import report

    from vtn.oadr301.routes import BASE_301

    overrides = {"read_cache_seconds": 0, "grant_cache_seconds": 0, "cache_poll_seconds": 3600}
    async with _two_apps(db_url, **overrides) as (bl, ven):
        program = await (await bl.post("/programs", json={"programName": "p"})).json()
        event = await (await bl.post("/events", json={"programID": program["id"], "targets": ["g1"]})).json()
        body = report(event["id"])
        body301 = {**body, "programID": program["id"]}
        headers = {"Authorization": f"Bearer {ven.token}"}

        async def statuses() -> tuple[int, int]:
            at31 = await ven.post("/reports", json=body)
            at301 = await ven.client.post(f"{BASE_301}/reports", json=body301, headers=headers)
            return at31.status, at301.status

        assert await statuses() == (400, 400)  # no grant yet: the event is not the VEN's to see
        grant = {"objectType": "BL_VEN_REQUEST", "venName": "v", "clientID": ven.client_id, "targets": ["g1"]}
        made = await (await bl.post("/vens", json=grant)).json()  # written through A
        assert await statuses() == (201, 201)
        assert (await bl.put(f"/vens/{made['id']}", json={**grant, "targets": ["g2"]})).status == 200
        assert await statuses() == (400, 400)
        assert (await bl.put(f"/vens/{made['id']}", json=grant)).status == 200
        assert await statuses() == (201, 201)
        assert (await bl.delete(f"/vens/{made['id']}")).status == 200
        assert await statuses() == (400, 400)


async def test_a_batch_sees_the_grant_a_write_before_it_made(bl: Api, ven_a: Api) -> None:
    """A ven write and VEN reports queued together share one group-commit transaction: each report
    after the grant in it is checked against the grants as that transaction holds them."""
    import asyncio

    from support.api_data import report

    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    event = await (await bl.post("/events", json={"programID": program["id"], "targets": ["g1"]})).json()
    grant = {"objectType": BL_VEN_REQUEST, "venName": "v", "clientID": ven_a.client_id, "targets": ["g1"]}
    made, *answers = await asyncio.gather(
        bl.post("/vens", json=grant), *(ven_a.post("/reports", json=report(event["id"])) for _ in range(8))
    )
    assert made.status == 201
    assert {a.status for a in answers} <= {201, 400}
    # Whatever batch each landed in, a report the VTN kept was the VEN's to write, and after the
    # grant's commit every report is.
    assert (await ven_a.post("/reports", json=report(event["id"]))).status == 201
    listed = await (await ven_a.get("/reports")).json()
    assert len(listed) == 1 + sum(a.status == 201 for a in answers)
