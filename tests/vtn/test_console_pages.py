"""Console pages on real data: the event form goes through the core (API readers and subscribers see
it), field errors come back at the field, VEN search and paging, reports series, clients, retry now."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from support.api_data import bl_ven, create, lab_vtn, program, report, subscription
from support.console import add_operator, login, session_csrf
from support.harness import Api, Vtn

from shared.durations import to_us
from shared.enums import OperatorRole, Role
from vtn.storage import contacts


@pytest.fixture
async def lab(db_url: str) -> AsyncIterator[Vtn]:
    async with lab_vtn(db_url) as vtn:
        yield vtn


async def _as(vtn: Vtn, role: OperatorRole) -> str:
    await add_operator(vtn.store, role.value, role)
    assert (await login(vtn.client, role.value)).status == 302
    return await session_csrf(vtn.client)


def _form(csrf: str, program_id: str, **extra: str) -> dict[str, str]:
    form = {
        "csrf": csrf,
        "program_id": program_id,
        "event_name": "evening-peak",
        "signal": "PRICE",
        "units": "",
        "start": "2030-01-01T17:00",
        "minutes": "30",
        "values": "0.2, 0.35, 0.5",
        "targets": "",
    }
    form.update(extra)
    return form


async def test_event_made_in_the_form_reaches_api_readers_and_subscribers(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    ven = await lab.login("ven-1", Role.VEN)
    prog = await create(bl, "/programs", program("tariff"))
    await create(ven, "/subscriptions", subscription(programID=prog["id"]))
    queued = await lab.count("outbox")
    csrf = await _as(lab, OperatorRole.OPERATOR)
    made = await lab.client.post("/console/events/new", data=_form(csrf, prog["id"]), allow_redirects=False)
    assert made.status == 302, await made.text()
    event_id = made.headers["Location"].rsplit("/", 1)[1]
    seen = await (await ven.get("/events")).json()
    assert [e["id"] for e in seen] == [event_id]
    assert [i["payloads"][0]["values"] for i in seen[0]["intervals"]] == [[0.2], [0.35], [0.5]]
    assert seen[0]["intervalPeriod"] == {"start": "2030-01-01T17:00:00Z", "duration": "PT30M"}
    assert await lab.count("outbox") == queued + 1  # the subscriber's notification, same transaction
    # Edit, then cancel: both through the write path, both notify.
    edited = await lab.client.post(
        f"/console/events/{event_id}/edit", data=_form(csrf, prog["id"], values="1, 2"), allow_redirects=False
    )
    assert edited.status == 302
    assert len((await (await ven.get(f"/events/{event_id}")).json())["intervals"]) == 2
    gone = await lab.client.post(
        f"/console/events/{event_id}/cancel", data={"csrf": csrf}, allow_redirects=False
    )
    assert gone.status == 302
    assert (await ven.get(f"/events/{event_id}")).status == 404


async def test_form_errors_are_shown_at_their_field(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    prog = await create(bl, "/programs", program("tariff"))
    csrf = await _as(lab, OperatorRole.OPERATOR)
    cases = {
        "values": {"values": "cheap, dear"},
        "minutes": {"minutes": "-5"},
        "start": {"start": "tomorrow"},
        "program_id": {"program_id": "no-such-program"},
    }
    for field, bad in cases.items():
        resp = await lab.client.post("/console/events/new", data={**_form(csrf, prog["id"]), **bad})
        assert resp.status == 422, field
        html = await resp.text()
        assert re.search(rf'class="field-error" data-field="{field}"', html), (field, html[-800:])
    # The API's schema itself (not the form's parsing) refuses: a target over 128 characters.
    resp = await lab.client.post("/console/events/new", data=_form(csrf, prog["id"], targets="x" * 200))
    assert resp.status == 422
    assert 'data-field="targets"' in await resp.text()
    assert await lab.count("events") == 0


async def test_ven_search_pages_by_name(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    for i in range(120):
        await create(bl, "/vens", bl_ven(f"site-{i:03d}", f"client-{i}"))
    await create(bl, "/vens", bl_ven("other", "client-x"))
    await _as(lab, OperatorRole.VIEWER)
    first = await (await lab.client.get("/console/vens?q=site-")).text()
    names = re.findall(r">(site-\d{3})</a>", first)
    assert names == [f"site-{i:03d}" for i in range(50)]
    after = re.search(r'id="next-page" href="\?q=site-&amp;after=([^"]+)"', first)
    assert after
    second = await (await lab.client.get(f"/console/vens?q=site-&after={after.group(1)}")).text()
    assert re.findall(r">(site-\d{3})</a>", second) == [f"site-{i:03d}" for i in range(50, 100)]
    third = await (await lab.client.get("/console/vens?q=site-&after=site-099")).text()
    assert len(re.findall(r">(site-\d{3})</a>", third)) == 20 and 'id="next-page"' not in third
    assert "other" not in first
    ven_id = re.search(r'href="/console/vens/([^"]+)">site-000<', first)
    assert ven_id
    page = await lab.client.get(f"/console/vens/{ven_id.group(1)}")
    assert page.status == 200 and "client-0" in await page.text()


async def test_reports_series_puts_each_resource_against_the_signal(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    ven: Api = await lab.login("ven-1", Role.VEN)
    prog = await create(bl, "/programs", program("tariff"))
    ev = await create(
        bl,
        "/events",
        {
            "programID": prog["id"],
            "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
            "intervals": [
                {"id": i, "payloads": [{"type": "PRICE", "values": [v]}]} for i, v in enumerate((1, 3))
            ],
        },
    )
    await create(ven, "/reports", report(ev["id"], value=7.5))
    await _as(lab, OperatorRole.VIEWER)
    data: dict[str, Any] = await (await lab.client.get(f"/console/events/{ev['id']}/data.json")).json()
    assert data["names"] == ["signal", "gateway-1/charger-1"]
    xs, signal, reported = data["columns"]
    start = 1893456000.0  # 2030-01-01T00:00:00Z
    assert xs == [start, start + 3600, start + 7200]
    assert signal == [1, 3, 3] and reported == [7.5, None, None]
    page = await (await lab.client.get(f"/console/events/{ev['id']}")).text()
    assert 'id="report-count">1<' in page


async def test_admin_adds_a_client_whose_secret_is_shown_once_and_removes_it(lab: Vtn) -> None:
    csrf = await _as(lab, OperatorRole.ADMIN)
    added = await lab.client.post("/console/clients", data={"csrf": csrf, "name": "partner", "role": "ven"})
    html = await added.text()
    secret = re.search(r"client_secret <code>([^<]+)</code>", html)
    client_id = re.search(r"client_id <code>([^<]+)</code>", html)
    assert secret and client_id
    token = await lab.client.post(
        "/openadr3/3.1.0/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id.group(1),
            "client_secret": secret.group(1),
        },
    )
    assert token.status == 200
    listing = await (await lab.client.get("/console/clients")).text()
    assert secret.group(1) not in listing and client_id.group(1) in listing
    gone = await lab.client.post(
        f"/console/clients/{client_id.group(1)}/remove", data={"csrf": csrf}, allow_redirects=False
    )
    assert gone.status == 302
    assert client_id.group(1) not in await (await lab.client.get("/console/clients")).text()


async def test_overview_and_subscription_pages_and_retry_now(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    ven = await lab.login("ven-1", Role.VEN)
    prog = await create(bl, "/programs", program("tariff"))
    sub = await create(ven, "/subscriptions", subscription(programID=prog["id"]))
    await create(
        bl,
        "/events",
        {"programID": prog["id"], "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [1]}]}]},
    )
    csrf = await _as(lab, OperatorRole.OPERATOR)
    overview = await (await lab.client.get("/console/")).text()
    assert 'id="ven-count">0<' in overview
    listing = await (await lab.client.get("/console/subscriptions")).text()
    assert sub["id"] in listing
    retried = await lab.client.post(f"/console/subscriptions/{sub['id']}/retry", data={"csrf": csrf})
    assert retried.status == 200
    assert "1 notification(s) made due now" in await retried.text()


async def test_vens_online_offline_by_last_contact(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    fresh = await create(bl, "/vens", bl_ven("fresh", "client-fresh"))
    await create(bl, "/vens", bl_ven("stale", "client-stale"))
    await create(bl, "/vens", bl_ven("silent", "client-silent"))
    now_us = to_us(datetime.now(UTC))
    async with lab.store.transaction() as tx:
        await contacts.record(tx.conn, {"client-fresh": "ven"}, now_us - 60_000_000)
        await contacts.record(tx.conn, {"client-stale": "ven"}, now_us - 6 * 60_000_000)
        await contacts.record(tx.conn, {"bl-client": "bl"}, now_us)  # not a VEN: not counted
    await _as(lab, OperatorRole.VIEWER)
    overview = await (await lab.client.get("/console/")).text()
    assert 'id="ven-count">3<' in overview
    assert 'id="ven-online">1<' in overview and 'id="ven-offline">2<' in overview
    listing = await (await lab.client.get("/console/vens")).text()
    found = re.finditer(r">(fresh|stale|silent)</a>(.*?)</tr>", listing, re.S)
    rows = {m.group(1): m.group(2) for m in found}
    assert "never" not in rows["fresh"] and "never" not in rows["stale"] and "never" in rows["silent"]
    page = await (await lab.client.get(f"/console/vens/{fresh['id']}")).text()
    shown = re.search(r'id="last-contact">([^<]+)<', page)
    assert shown and shown.group(1) != "never"
