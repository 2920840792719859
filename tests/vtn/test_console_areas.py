"""Console grid areas: operators add an area and add/remove a member VEN through the programs core
(membership is the VEN's target grant); viewers see the list but cannot change it; CSRF is required."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from support.api_data import bl_ven, create, lab_vtn
from support.console import add_operator, login, session_csrf
from support.harness import Vtn

from shared.enums import OperatorRole, Role


@pytest.fixture
async def lab(db_url: str) -> AsyncIterator[Vtn]:
    async with lab_vtn(db_url) as vtn:
        yield vtn


async def _as(vtn: Vtn, role: OperatorRole) -> str:
    await add_operator(vtn.store, role.value, role)
    assert (await login(vtn.client, role.value)).status == 302
    return await session_csrf(vtn.client)


async def test_operator_adds_an_area_and_a_member_ven(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    ven = await create(bl, "/vens", bl_ven("site-1", "client-1"))
    csrf = await _as(lab, OperatorRole.OPERATOR)
    area = {"csrf": csrf, "name": "feeder-7", "kind": "feeder", "import_kw": "500", "export_kw": "120.5"}
    added = await lab.client.post("/console/areas", data=area)
    assert added.status == 200 and "area feeder-7 added" in await added.text()
    again = await lab.client.post("/console/areas", data=area)
    assert again.status == 422 and "already exists" in await again.text()
    bad = await lab.client.post("/console/areas", data={**area, "name": "x", "import_kw": "lots"})
    assert bad.status == 422 and "must be a number of kW" in await bad.text()

    member = {"csrf": csrf, "area": "feeder-7", "ven_name": "site-1", "action": "add"}
    joined = await lab.client.post("/console/areas/members", data=member)
    assert joined.status == 200
    page = await joined.text()
    assert re.search(
        r"<td>feeder-7</td><td>feeder</td><td>500.0</td><td>120.5</td>\s*<td class=\"members\">1<", page
    )
    assert (await bl.get(f"/vens/{ven['id']}")).status == 200
    granted = await (await bl.get(f"/vens/{ven['id']}")).json()
    assert granted["targets"] == ["feeder-7"]  # the grant the core wrote, seen by the API

    missing = await lab.client.post("/console/areas/members", data={**member, "ven_name": "nope"})
    assert missing.status == 422 and "no ven named" in await missing.text()
    left = await lab.client.post("/console/areas/members", data={**member, "action": "remove"})
    assert left.status == 200 and 'class="members">0<' in await left.text()
    assert not (await (await bl.get(f"/vens/{ven['id']}")).json()).get("targets")


async def test_viewer_sees_areas_but_cannot_change_them_and_csrf_is_required(lab: Vtn) -> None:
    csrf = await _as(lab, OperatorRole.VIEWER)
    page = await lab.client.get("/console/areas")
    assert page.status == 200 and 'id="add-area"' not in await page.text()
    form = {"csrf": csrf, "name": "never-made-area", "kind": "feeder", "import_kw": "1", "export_kw": "1"}
    assert (await lab.client.post("/console/areas", data=form)).status == 403
    await _as(lab, OperatorRole.OPERATOR)
    forged = await lab.client.post("/console/areas", data={**form, "csrf": "wrong"})
    assert forged.status in (400, 403)
    assert "never-made-area" not in await (await lab.client.get("/console/areas")).text()
