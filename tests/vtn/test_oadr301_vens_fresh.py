"""3.0.1 vens embed their resources and are answered from what they were converted to while their
resources are unchanged (vens.resources_stamp, vtn/oadr301/converted.py): after every kind of write
of a ven or its resources, through either API, the 3.0.1 answers (as BL and as the VEN) are what a
conversion of the 3.1 objects read then gives, byte for byte."""

# ruff: noqa: F811  (the shared 3.0.1 fixtures are imported from support.oadr301 and used as arguments)

from __future__ import annotations

from collections.abc import Awaitable, Callable

from support.api_data import bl_resource, bl_ven, create, ok_json
from support.harness import Api
from support.oadr301 import Api301, create301, vtn  # noqa: F401

from shared.durations import utcnow
from shared.models import Resource, Ven
from shared.wire.oadr3_json import encode_doc
from vtn.oadr301 import outbound
from vtn.storage import Tx, open_store
from vtn.storage.filters import VenFilter


async def _expected(api: Api) -> list[bytes]:
    """The 3.0.1 /vens list and each /vens/{id}, converted from the 3.1 objects `api` sees."""
    vens = [Ven.model_validate(v) for v in await ok_json(await api.get("/vens"))]
    docs = []
    for ven in vens:
        found = await ok_json(await api.get("/resources", params={"venID": ven.id}))
        docs.append(outbound.ven(ven, [Resource.model_validate(r) for r in found]))
    return [encode_doc(docs), *(encode_doc(d) for d in docs)]


async def _check(*apis: Api) -> None:
    for api in apis:
        as301 = Api301(api)
        for _ in range(2):  # converted, then remembered
            listed = await as301.get("/vens")
            assert listed.status == 200
            sent = [await listed.read()]
            for ven in await listed.json():
                one = await as301.get(f"/vens/{ven['id']}")
                assert one.status == 200
                sent.append(await one.read())
            assert sent == await _expected(api)


async def test_vens_are_answered_as_their_resources_are_now(bl: Api, ven_a: Api, ven_b: Api) -> None:
    bl301, a301 = Api301(bl), Api301(ven_a)
    v1 = await create(bl, "/vens", bl_ven("v1", ven_a.client_id, targets=["g1"]))
    v2 = await create301(a301, "/vens", {"venName": "v2", "resources": [{"resourceName": "embedded"}]})
    await _check(bl, ven_a, ven_b)
    r1 = await create(bl, "/resources", bl_resource("r1", v1["id"], ven_a.client_id, ["t1"]))
    await _check(bl, ven_a)
    r2 = await create301(a301, f"/vens/{v1['id']}/resources", {"resourceName": "r2"})
    await _check(bl, ven_a)
    # renamed through 3.0.1, retargeted through 3.1
    await ok_json(await a301.put(f"/vens/{v1['id']}/resources/{r2['id']}", json={"resourceName": "r2b"}))
    await _check(bl, ven_a)
    moved = bl_resource("r1", v1["id"], ven_a.client_id, ["t2"], id=r1["id"])
    await ok_json(await bl.put(f"/resources/{r1['id']}", json=moved))
    await _check(bl, ven_a)
    # moved to another ven: both vens change
    moved = bl_resource("r1", v2["id"], ven_a.client_id, ["t2"], id=r1["id"])
    await ok_json(await bl.put(f"/resources/{r1['id']}", json=moved))
    await _check(bl, ven_a)
    # the ven itself renamed, then given to another client (its resources move with it)
    await ok_json(await bl.put(f"/vens/{v1['id']}", json=bl_ven("v1b", ven_a.client_id, targets=["g1"])))
    await _check(bl, ven_a)
    await ok_json(await bl.put(f"/vens/{v2['id']}", json=bl_ven("v2", ven_b.client_id)))
    await _check(bl, ven_a, ven_b)
    await ok_json(await bl301.delete(f"/vens/{v1['id']}/resources/{r2['id']}"))
    await _check(bl, ven_a, ven_b)
    await ok_json(await bl.delete(f"/resources/{r1['id']}"))
    await _check(bl, ven_a, ven_b)
    # deleted and created again with the same id, name and resources' names: another ven
    await ok_json(await bl.delete(f"/vens/{v1['id']}"))
    await _check(bl, ven_a)
    again = await create(bl, "/vens", bl_ven("v1b", ven_a.client_id, targets=["g1"], id=v1["id"]))
    assert again["id"] == v1["id"]
    await _check(bl, ven_a)
    await create(bl, "/resources", bl_resource("fresh", v1["id"], ven_a.client_id))
    await _check(bl, ven_a, ven_b)


async def test_a_ven_has_a_new_resources_stamp_at_each_write_of_its_resources(db_url: str) -> None:
    """Even where nothing else tells two states apart (a clock that stands still, the same ids)."""
    now = utcnow()
    store = open_store(db_url, clock=lambda: now)
    try:

        async def write(work: Callable[[Tx], Awaitable[object]]) -> dict[str, int]:
            async with store.transaction() as tx:
                await work(tx)
            rows = await store.reads.ven_rows(VenFilter())
            stamps = {str(r[2]): int(r[3]) for r in rows}
            resources = await store.reads.resources_of(frozenset(stamps), owner=None, limit=10)
            assert {v: r.stamp for v, r in resources.items()} == stamps  # read with them, the same
            return stamps

        def ven(ven_id: str) -> Ven:
            return Ven.model_validate({**store_stamp(ven_id), "clientID": "c", "venName": ven_id})

        def resource(resource_id: str, ven_id: str, name: str = "r") -> Resource:
            body = {**store_stamp(resource_id), "clientID": "c", "resourceName": name, "venID": ven_id}
            return Resource.model_validate(body)

        def store_stamp(object_id: str) -> dict[str, object]:
            return {"id": object_id, "createdDateTime": now, "modificationDateTime": now}

        seen = [await write(lambda tx: tx.vens.insert(ven("a")))]
        seen.append(await write(lambda tx: tx.vens.insert(ven("b"))))
        seen.append(await write(lambda tx: tx.resources.insert(resource("r", "a"))))
        seen.append(await write(lambda tx: tx.resources.replace(resource("r", "a", "renamed"))))
        seen.append(await write(lambda tx: tx.resources.replace(resource("r", "b", "renamed"))))
        seen.append(await write(lambda tx: tx.resources.delete("r")))
        seen.append(await write(lambda tx: tx.vens.delete("a")))
        seen.append(await write(lambda tx: tx.vens.insert(ven("a"))))  # the same text as before
        changed = [
            {v for v in after if before.get(v) != after[v]}
            for before, after in zip(seen, seen[1:], strict=False)
        ]
        assert changed == [{"b"}, {"a"}, {"a"}, {"a", "b"}, {"b"}, set(), {"a"}]
        assert seen[-1]["a"] not in {s.get("a") for s in seen[:-1]}
    finally:
        await store.close()
