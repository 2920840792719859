"""A 409 says what clashed: an id taken on the whole VTN, or a name taken within its scope."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.api_data import create, lab_vtn, problem, ven_resource, ven_ven
from support.harness import Api, Vtn


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    async with lab_vtn(db_url) as running:
        yield running


async def test_resource_id_taken_by_another_ven_says_id(vtn: Vtn, ven_a: Api, ven_b: Api) -> None:
    await create(ven_a, "/vens", ven_ven("gateway-7", "gateway-7"))
    await create(ven_b, "/vens", ven_ven("ev-charger-gateway", "ev-charger-gateway"))
    await create(ven_a, "/resources", ven_resource("ev-charger-1", "gateway-7", "ev-charger-1"))
    clash = ven_resource("ev-charger-1", "ev-charger-gateway", "ev-charger-1")
    doc = await problem(await ven_b.post("/resources", json=clash), 409)
    assert "id 'ev-charger-1' already exists" in doc["detail"], doc
    assert "resourceName" not in doc["detail"]


async def test_resource_name_taken_in_the_same_ven_says_name(vtn: Vtn, ven_a: Api) -> None:
    await create(ven_a, "/vens", ven_ven("gw-1", "gw-1"))
    await create(ven_a, "/resources", ven_resource("charger", "gw-1", "r-1"))
    doc = await problem(await ven_a.post("/resources", json=ven_resource("charger", "gw-1", "r-2")), 409)
    assert "resourceName" in doc["detail"] and "id" not in doc["detail"].split("resourceName")[0], doc


async def test_ven_id_taken_says_id(vtn: Vtn, ven_a: Api, ven_b: Api) -> None:
    await create(ven_a, "/vens", ven_ven("gw-a", "gw-1"))
    doc = await problem(await ven_b.post("/vens", json=ven_ven("gw-b", "gw-1")), 409)
    assert "a ven with id 'gw-1' already exists" in doc["detail"], doc
