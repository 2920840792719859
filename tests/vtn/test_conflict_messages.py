"""A 409 says what clashed: an id taken (BL's verbatim, or a VEN's repeated key), or a name taken
within its scope."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.api_data import bl_ven, create, lab_vtn, problem, ven_resource, ven_ven
from support.harness import Api, Vtn


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    async with lab_vtn(db_url) as running:
        yield running


async def test_resource_key_repeated_by_its_ven_says_id(vtn: Vtn, ven_a: Api, ven_b: Api) -> None:
    gw = await create(ven_a, "/vens", ven_ven("gateway-7", "gateway-7"))
    first = await create(ven_a, "/resources", ven_resource("ev-charger-1", gw["id"], "ev-charger-1"))
    again = ven_resource("ev-charger-2", gw["id"], "ev-charger-1")
    doc = await problem(await ven_a.post("/resources", json=again), 409)
    assert f"id {first['id']!r} already exists" in doc["detail"], doc
    assert "resourceName" not in doc["detail"]
    # Another client's same key is its own (docs/security.md, "Client-chosen ids"): no clash.
    other = await create(ven_b, "/vens", ven_ven("ev-charger-gateway", "ev-charger-gateway"))
    await create(ven_b, "/resources", ven_resource("ev-charger-1", other["id"], "ev-charger-1"))


async def test_resource_name_taken_in_the_same_ven_says_name(vtn: Vtn, ven_a: Api) -> None:
    gw1 = (await create(ven_a, "/vens", ven_ven("gw-1", "gw-1")))["id"]
    await create(ven_a, "/resources", ven_resource("charger", gw1, "r-1"))
    doc = await problem(await ven_a.post("/resources", json=ven_resource("charger", gw1, "r-2")), 409)
    assert "resourceName" in doc["detail"] and "id" not in doc["detail"].split("resourceName")[0], doc


async def test_ven_id_taken_says_id(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    await create(bl, "/vens", bl_ven("gw-a", ven_a.client_id, id="gw-1"))
    doc = await problem(await bl.post("/vens", json=bl_ven("gw-b", ven_a.client_id, id="gw-1")), 409)
    assert "a ven with id 'gw-1' already exists" in doc["detail"], doc
