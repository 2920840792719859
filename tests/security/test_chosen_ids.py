"""A VEN's chosen `id` is a key scoped to its client (docs/security.md, "Client-chosen ids").

Issue 15, finding 7: with one namespace for every client's ids, a VEN posting another client's id
got 409 where GET answered 404, which told it the id exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.api_data import (
    bl_resource,
    bl_ven,
    create,
    event,
    lab_vtn,
    ok_json,
    problem,
    program,
    report,
    ven_resource,
    ven_ven,
)
from support.harness import Api, Vtn

from vtn.core.ids import MAX_ID, assigned_id


@pytest.fixture(params=[0, 1], ids=["in-process", "intake-worker"])
async def vtn(db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Vtn]:
    """Both report paths: decoded in the serving process, or by an intake worker (vtn/intake)."""
    async with lab_vtn(db_url, intake_workers=request.param) as running:
        yield running


async def _hidden(api: Api, path: str) -> None:
    await problem(await api.get(path), 404)


async def test_two_vens_choosing_the_same_ids_get_objects_of_their_own(
    vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api
) -> None:
    p = await create(bl, "/programs", program("p"))
    e = await create(bl, "/events", event(p["id"]))
    made: dict[str, dict[str, dict[str, str]]] = {}
    for name, api in (("a", ven_a), ("b", ven_b)):
        ven = await create(api, "/vens", ven_ven(f"gw-{name}", "gw-1"))
        res = await create(api, "/resources", ven_resource("meter", ven["id"], "meter-1"))
        rep = await create(api, "/reports", report(e["id"], id="usage-0001"))
        made[name] = {"vens": ven, "resources": res, "reports": rep}
    for kind in ("vens", "resources", "reports"):
        a, b = made["a"][kind], made["b"][kind]
        assert a["id"] != b["id"], kind
        assert await ok_json(await ven_a.get(f"/{kind}/{a['id']}")) == a
        await _hidden(ven_a, f"/{kind}/{b['id']}")  # neither sees the other's
        await _hidden(ven_b, f"/{kind}/{a['id']}")
        await _hidden(ven_a, f"/{kind}/{'meter-1' if kind == 'resources' else 'gw-1'}")  # a key, not an id
        assert [o["id"] for o in await ok_json(await ven_b.get(f"/{kind}"))] == [b["id"]]
    assert made["a"]["vens"]["id"].startswith("gw-1-") and len(made["a"]["vens"]["id"]) <= MAX_ID

    # The same client retrying the same key meets its own object: 409, nothing stored twice.
    doc = await problem(await ven_a.post("/vens", json=ven_ven("gw-a2", "gw-1")), 409)
    assert made["a"]["vens"]["id"] in doc["detail"]
    ven_a_id = made["a"]["vens"]["id"]
    await problem(await ven_a.post("/resources", json=ven_resource("meter-2", ven_a_id, "meter-1")), 409)
    await problem(await ven_a.post("/reports", json=report(e["id"], id="usage-0001")), 409)
    assert (await vtn.count("vens"), await vtn.count("resources"), await vtn.count("reports")) == (2, 2, 2)

    # Another client's id, posted as a key, is no oracle: a new object of the poster's own, never 409.
    taken = made["a"]["reports"]["id"]
    again = await create(ven_b, "/reports", report(e["id"], id=taken))
    assert again["id"] not in (taken, made["b"]["reports"]["id"])
    other = await create(ven_b, "/vens", ven_ven("gw-b2", ven_a_id))
    assert other["id"] != ven_a_id
    ven_b_id = made["b"]["vens"]["id"]
    res_b = await create(ven_b, "/resources", ven_resource("m2", ven_b_id, made["a"]["resources"]["id"]))
    assert res_b["id"] != made["a"]["resources"]["id"]
    await _hidden(ven_b, f"/reports/{taken}")


async def test_bl_keeps_its_chosen_ids_and_ven_names_stay_unique(bl: Api, ven_a: Api, ven_b: Api) -> None:
    made = await create(bl, "/vens", bl_ven("site-1", ven_a.client_id, id="site-1"))
    assert made["id"] == "site-1"
    res = await create(bl, "/resources", bl_resource("meter", "site-1", ven_a.client_id, id="site-1-meter"))
    assert res["id"] == "site-1-meter"
    # venName is unique per VTN (the standard): a taken name is a 409 for anyone, the one oracle left.
    await create(ven_a, "/vens", ven_ven("gw-1"))
    await problem(await ven_b.post("/vens", json=ven_ven("gw-1")), 409)


def test_assigned_ids_fit_the_objectid_pattern() -> None:
    longest = assigned_id("client", "k" * 128)
    assert longest is not None and len(longest) == MAX_ID
    for chosen in ("a", "k" * 128, "A_b-9"):
        got = assigned_id("c", chosen)
        assert got is not None and got.replace("_", "").replace("-", "").isalnum() and got.isascii()
    assert assigned_id("c", "x") == assigned_id("c", "x") != assigned_id("d", "x")
    assert assigned_id(None, "x") == "x" and assigned_id("c", None) is None
