"""Targeting as access control for programs and events (vtn/services/access.py, spec "Object Privacy")."""

from __future__ import annotations

from typing import Any

from support.api_data import (
    bl_resource,
    bl_ven,
    create,
    event,
    ids,
    lab_vtn,
    ok_json,
    problem,
    program,
    ven_ven,
)
from support.harness import Api

from shared.enums import Role


async def _grant(bl: Api, ven: Api, targets: list[str], name: str = "granted-ven") -> dict[str, Any]:
    """BL creates a ven object for `ven`'s clientID carrying `targets`."""
    return await create(bl, "/vens", bl_ven(name, ven.client_id, targets))


async def _setup(bl: Api) -> dict[str, dict[str, Any]]:
    """A program per target set and one event per target set, created in this order."""
    made: dict[str, dict[str, Any]] = {}
    host = await create(bl, "/programs", program("host"))
    for key, targets in (("none", None), ("g1", ["g1"]), ("g2", ["g2"]), ("g12", ["g1", "g2"])):
        extra = {} if targets is None else {"targets": targets}
        made[f"p_{key}"] = await create(bl, "/programs", program(f"prog-{key}", **extra))
        made[f"e_{key}"] = await create(bl, "/events", event(host["id"], eventName=key, **extra))
    made["host"] = host
    return made


def _names(objs: list[dict[str, Any]], field: str = "eventName") -> list[str]:
    return [o.get(field, "") for o in objs]


async def _events(api: Api, **params: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await ok_json(await api.get("/events", params=params))
    return result


async def test_untargeted_objects_are_visible_to_every_ven(bl: Api, ven_a: Api, ven_b: Api) -> None:
    m = await _setup(bl)
    for ven in (ven_a, ven_b):  # neither has a ven object, so neither holds a grant
        assert _names(await _events(ven)) == ["none"]
        assert await ids(await ven.get("/programs")) == [m["host"]["id"], m["p_none"]["id"]]
        assert (await ok_json(await ven.get(f"/events/{m['e_none']['id']}")))["id"] == m["e_none"]["id"]


async def test_targeted_event_needs_a_grant(bl: Api, ven_a: Api, ven_b: Api) -> None:
    m = await _setup(bl)
    await _grant(bl, ven_a, ["g1"])
    got = await _events(ven_a)
    assert _names(got) == ["none", "g1", "g12"]
    assert [e.get("targets") for e in got] == [None, ["g1"], ["g1"]]
    assert await ids(await ven_a.get("/programs")) == [
        m["host"]["id"],
        m["p_none"]["id"],
        m["p_g1"]["id"],
        m["p_g12"]["id"],
    ]
    # ven_b holds no grant: ven_a's ven object does not help it.
    assert _names(await _events(ven_b)) == ["none"]
    await problem(await ven_b.get(f"/events/{m['e_g1']['id']}"), 404)
    await problem(await ven_b.get(f"/programs/{m['p_g1']['id']}"), 404)


async def test_get_by_id_of_a_hidden_object_is_404(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    await _grant(bl, ven_a, ["g1"])
    await problem(await ven_a.get(f"/events/{m['e_g2']['id']}"), 404)
    await problem(await ven_a.get(f"/programs/{m['p_g2']['id']}"), 404)
    visible = await ok_json(await ven_a.get(f"/events/{m['e_g1']['id']}"))
    assert visible["targets"] == ["g1"]
    # A targets query the grant does not cover hides it by id as well.
    await problem(await ven_a.get(f"/events/{m['e_g1']['id']}", params={"targets": "g2"}), 404)


async def test_grant_through_bl_put_on_a_ven_created_ven(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    mine = await create(ven_a, "/vens", ven_ven("gw-a", "gw-a"))
    assert "targets" not in mine
    assert _names(await _events(ven_a)) == ["none"]
    resp = await bl.put(f"/vens/{mine['id']}", json=bl_ven("gw-a", ven_a.client_id, ["g2"]))
    assert (await ok_json(resp))["targets"] == ["g2"]
    assert _names(await _events(ven_a)) == ["none", "g2", "g12"]
    assert (await ok_json(await ven_a.get(f"/events/{m['e_g12']['id']}")))["targets"] == ["g2"]


async def test_grant_through_a_bl_created_resource(bl: Api, ven_a: Api) -> None:
    await _setup(bl)
    gwa = (await create(ven_a, "/vens", ven_ven("gw-a", "gw-a")))["id"]
    res = await create(bl, "/resources", bl_resource("meter", gwa, ven_a.client_id, ["g2"]))
    assert res["clientID"] == ven_a.client_id and res["targets"] == ["g2"]
    assert _names(await _events(ven_a)) == ["none", "g2", "g12"]
    # The ven's own grant and its resources' grants add up.
    await bl.put(f"/vens/{gwa}", json=bl_ven("gw-a", ven_a.client_id, ["g1"]))
    assert _names(await _events(ven_a)) == ["none", "g1", "g2", "g12"]
    g12 = (await _events(ven_a))[-1]
    assert g12["targets"] == ["g1", "g2"]


async def test_targets_query_intersects_with_the_grant(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    await _grant(bl, ven_a, ["g1", "g2"])
    assert _names(await _events(ven_a)) == ["none", "g1", "g2", "g12"]
    asked = await _events(ven_a, targets="g1")
    assert _names(asked) == ["none", "g1", "g12"]
    assert asked[-1]["targets"] == ["g1"]  # hidden down to what was asked for
    # A target it was not granted shows nothing targeted.
    assert _names(await _events(ven_a, targets="g9")) == ["none"]
    programs = await ok_json(await ven_a.get("/programs", params={"targets": "g2"}))
    assert [p["id"] for p in programs] == [
        m["host"]["id"],
        m["p_none"]["id"],
        m["p_g2"]["id"],
        m["p_g12"]["id"],
    ]
    assert programs[-1]["targets"] == ["g2"]
    assert await ids(await ven_a.get("/programs", params={"targets": "g9"})) == [
        m["host"]["id"],
        m["p_none"]["id"],
    ]


async def test_target_hiding(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    await _grant(bl, ven_a, ["g1", "other"])
    e = await ok_json(await ven_a.get(f"/events/{m['e_g12']['id']}"))
    assert e["targets"] == ["g1"]
    p = await ok_json(await ven_a.get(f"/programs/{m['p_g12']['id']}"))
    assert p["targets"] == ["g1"]
    # BL still sees the whole list.
    assert (await ok_json(await bl.get(f"/events/{m['e_g12']['id']}")))["targets"] == ["g1", "g2"]
    assert (await ok_json(await bl.get(f"/programs/{m['p_g12']['id']}")))["targets"] == ["g1", "g2"]


async def test_bl_sees_everything_and_targets_is_a_plain_filter(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    await _grant(bl, ven_a, ["g1"])
    assert _names(await _events(bl)) == ["none", "g1", "g2", "g12"]
    assert _names(await _events(bl, targets="g1")) == ["g1", "g12"]
    assert _names(await _events(bl, targets="g9")) == []
    both = await ok_json(await bl.get("/events", params=[("targets", "g1"), ("targets", "g2")]))
    assert _names(both) == ["g1", "g2", "g12"]
    assert both[-1]["targets"] == ["g1", "g2"]  # no hiding for BL
    assert await ids(await bl.get("/programs", params={"targets": "g2"})) == [
        m["p_g2"]["id"],
        m["p_g12"]["id"],
    ]
    assert (await ok_json(await bl.get(f"/events/{m['e_g2']['id']}")))["targets"] == ["g2"]


async def test_event_filters_combine_with_targeting(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    other = await create(bl, "/programs", program("other"))
    await create(bl, "/events", event(other["id"], eventName="other-g1", targets=["g1"]))
    await _grant(bl, ven_a, ["g1"])
    assert _names(await _events(ven_a, programID=other["id"])) == ["other-g1"]
    assert _names(await _events(ven_a, programID=m["host"]["id"])) == ["none", "g1", "g12"]
    assert _names(await _events(ven_a, programID=m["host"]["id"], limit=2, skip=1)) == ["g1", "g12"]


async def test_ven_put_of_its_own_ven_keeps_bl_targets(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    gwa = (await create(ven_a, "/vens", ven_ven("gw-a", "gw-a")))["id"]
    await bl.put(f"/vens/{gwa}", json=bl_ven("gw-a", ven_a.client_id, ["g1"]))
    body = ven_ven("gw-a-renamed", attributes=[{"type": "COLOR", "values": ["x"]}])
    updated = await ok_json(await ven_a.put(f"/vens/{gwa}", json=body))
    assert updated["venName"] == "gw-a-renamed"
    assert updated["targets"] == ["g1"]
    assert updated["clientID"] == ven_a.client_id
    assert (await ok_json(await bl.get(f"/vens/{gwa}")))["targets"] == ["g1"]
    assert (await ok_json(await ven_a.get(f"/events/{m['e_g1']['id']}")))["id"] == m["e_g1"]["id"]


async def test_ven_cannot_grant_itself_targets(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    # The VEN variants carry no targets; a VEN sending them anyway gains nothing.
    made = await create(ven_a, "/vens", {**ven_ven("gw-a", "gw-a"), "targets": ["g1"]})
    assert "targets" not in made
    res = await create(
        ven_a,
        "/resources",
        {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "r", "venID": made["id"], "targets": ["g2"]},
    )
    assert "targets" not in res
    assert _names(await _events(ven_a)) == ["none"]
    await problem(await ven_a.get(f"/events/{m['e_g1']['id']}"), 404)


async def test_revoking_a_grant_hides_again(bl: Api, ven_a: Api) -> None:
    m = await _setup(bl)
    ven = await _grant(bl, ven_a, ["g1"])
    assert "g1" in _names(await _events(ven_a))
    await ok_json(await bl.put(f"/vens/{ven['id']}", json=bl_ven("granted-ven", ven_a.client_id, [])))
    assert _names(await _events(ven_a)) == ["none"]
    await ok_json(await bl.put(f"/vens/{ven['id']}", json=bl_ven("granted-ven", ven_a.client_id, ["g2"])))
    assert _names(await _events(ven_a)) == ["none", "g2", "g12"]
    assert (await bl.delete(f"/vens/{ven['id']}")).status == 200
    assert _names(await _events(ven_a)) == ["none"]
    await problem(await ven_a.get(f"/programs/{m['p_g2']['id']}"), 404)


async def test_moving_a_ven_to_another_client_moves_the_grant(bl: Api, ven_a: Api, ven_b: Api) -> None:
    await _setup(bl)
    ven = await _grant(bl, ven_a, ["g1"])
    await create(bl, "/resources", bl_resource("r", ven["id"], ven_a.client_id, ["g2"]))
    await ok_json(await bl.put(f"/vens/{ven['id']}", json=bl_ven("granted-ven", ven_b.client_id, ["g1"])))
    assert _names(await _events(ven_a)) == ["none"]
    assert _names(await _events(ven_b)) == ["none", "g1", "g2", "g12"]
    resources = await ok_json(await ven_b.get("/resources"))
    assert [r["clientID"] for r in resources] == [ven_b.client_id]
    assert await ok_json(await ven_a.get("/resources")) == []


async def test_a_subscription_names_only_a_program_its_ven_can_see(db_url: str) -> None:
    # The programID of a subscription is checked against what its writer sees (services/reports.py
    # _check_program): granted, untargeted and BL's are accepted; hidden and unknown ones are not.
    async with lab_vtn(db_url) as lab:  # callbacks to 127.0.0.1 allowed
        bl, ven_a, ven_b = (
            await lab.login("bl", Role.BL),
            await lab.login("a", Role.VEN),
            await lab.login("b", Role.VEN),
        )
        m = await _setup(bl)
        await _grant(bl, ven_a, ["g1"])

        def sub(program_id: str) -> dict[str, Any]:
            hook = {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": "http://127.0.0.1:9/hook"}
            return {"clientName": "sub", "programID": program_id, "objectOperations": [hook]}

        for writer, key in (
            (ven_a, "p_g1"),
            (ven_a, "p_g12"),
            (ven_a, "p_none"),
            (ven_b, "p_none"),
            (bl, "p_g2"),
        ):
            assert (await create(writer, "/subscriptions", sub(m[key]["id"])))["programID"] == m[key]["id"]
        for writer, program_id in (
            (ven_a, m["p_g2"]["id"]),
            (ven_b, m["p_g1"]["id"]),
            (ven_a, "no-such-program"),
        ):
            found = await problem(
                await writer.post("/subscriptions", json=sub(program_id)), 400, "/programID"
            )
            assert "names no program you can see" in found["detail"]
