"""Per-VEN quotas on the objects a VEN can create besides reports: vens, resources, subscriptions."""

from __future__ import annotations

from support.api_data import (
    bl_resource,
    bl_ven,
    create,
    lab_vtn,
    ok_json,
    problem,
    subscription,
    ven_resource,
    ven_ven,
)
from support.oadr301 import Api301, create301

from shared.enums import Role


async def test_resource_quota_per_ven_client(db_url: str) -> None:
    async with lab_vtn(db_url, ven_max_resources=2) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven = await vtn.login("ven", Role.VEN)
        other = await vtn.login("ven-2", Role.VEN)
        gw = await create(ven, "/vens", ven_ven("gw"))
        kept = [await create(ven, "/resources", ven_resource(f"r{i}", gw["id"])) for i in range(2)]
        doc = await problem(await ven.post("/resources", json=ven_resource("r2", gw["id"])), 403)
        assert doc["title"] == "Quota Exceeded" and "2 of 2 resources" in doc["detail"]
        assert await vtn.count("resources") == 2
        # Another VEN client has its own quota.
        gw2 = await create(other, "/vens", ven_ven("gw-2"))
        await create(other, "/resources", ven_resource("r0", gw2["id"]))
        # Deleting one frees room for one.
        await ok_json(await ven.delete(f"/resources/{kept[0]['id']}"))
        await create(ven, "/resources", ven_resource("r2", gw["id"]))
        await problem(await ven.post("/resources", json=ven_resource("r3", gw["id"])), 403)
        # BL is not limited, not even on that VEN client's ven.
        for i in range(3):
            await create(bl, "/resources", bl_resource(f"bl-{i}", gw["id"], ven.client_id))
        # 3.0.1: a nested create and a ven's embedded resources count against the same quota.
        ven301 = Api301(other)
        await create301(ven301, f"/vens/{gw2['id']}/resources", {"resourceName": "r1"})
        await problem(await ven301.post(f"/vens/{gw2['id']}/resources", json={"resourceName": "r2"}), 403)
        three = {"venName": "gw-3", "resources": [{"resourceName": f"e{i}"} for i in range(3)]}
        fresh = Api301(await vtn.login("ven-3", Role.VEN))
        doc = await problem(await fresh.post("/vens", json=three), 403)
        assert "this request adds 3" in doc["detail"]
        assert await ok_json(await fresh.get("/vens")) == []  # nothing of it was stored


async def test_ven_quota_per_ven_client(db_url: str) -> None:
    async with lab_vtn(db_url, ven_max_vens=1) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven = await vtn.login("ven", Role.VEN)
        first = await create(ven, "/vens", ven_ven("gw-1"))
        doc = await problem(await ven.post("/vens", json=ven_ven("gw-2")), 403)
        assert doc["title"] == "Quota Exceeded" and "1 of 1 vens" in doc["detail"]
        await problem(await Api301(ven).post("/vens", json={"venName": "gw-3"}), 403)
        for i in range(2):  # BL is not limited
            await create(bl, "/vens", bl_ven(f"bl-{i}", ven.client_id))
        await ok_json(await bl.delete(f"/vens/{first['id']}"))
        for made in await ok_json(await bl.get("/vens", params={"venName": "bl-0"})):
            await ok_json(await bl.delete(f"/vens/{made['id']}"))
        for made in await ok_json(await bl.get("/vens", params={"venName": "bl-1"})):
            await ok_json(await bl.delete(f"/vens/{made['id']}"))
        await create(ven, "/vens", ven_ven("gw-2"))


async def test_subscription_quota_per_ven_client(db_url: str) -> None:
    async with lab_vtn(db_url, ven_max_subscriptions=2) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven = await vtn.login("ven", Role.VEN)
        kept = [await create(ven, "/subscriptions", subscription(f"s{i}")) for i in range(2)]
        doc = await problem(await ven.post("/subscriptions", json=subscription("s2")), 403)
        assert doc["title"] == "Quota Exceeded" and "2 of 2 subscriptions" in doc["detail"]
        old = {"clientName": "s3", "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"],
               "callbackUrl": "https://ven.example.com/cb", "bearerToken": "t"}]}  # fmt: skip
        await problem(await Api301(ven).post("/subscriptions", json=old), 403)
        for i in range(3):  # BL is not limited
            await create(bl, "/subscriptions", subscription(f"bl-{i}"))
        await ok_json(await ven.delete(f"/subscriptions/{kept[0]['id']}"))
        await create(ven, "/subscriptions", subscription("s2"))


async def test_zero_turns_the_object_quotas_off(db_url: str) -> None:
    async with lab_vtn(db_url, ven_max_vens=0, ven_max_resources=0, ven_max_subscriptions=0) as vtn:
        ven = await vtn.login("ven", Role.VEN)
        for i in range(3):
            gw = await create(ven, "/vens", ven_ven(f"gw-{i}"))
            await create(ven, "/resources", ven_resource("r", gw["id"]))
            await create(ven, "/subscriptions", subscription(f"s{i}"))
