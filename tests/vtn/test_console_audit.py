"""Console changes in the audit log: one row per change naming the operator (event create, area add,
client add), shown newest first on the console's audit page to viewers too, filtered by actor prefix
and keyset-paged."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from support.api_data import create, lab_vtn, program
from support.console import add_operator, login, session_csrf
from support.harness import Vtn

from shared.enums import OperatorRole, Role
from vtn.storage.audit import AuditEntry, AuditRecord


@pytest.fixture
async def lab(db_url: str) -> AsyncIterator[Vtn]:
    async with lab_vtn(db_url) as vtn:
        yield vtn


async def _as(vtn: Vtn, name: str, role: OperatorRole) -> str:
    await add_operator(vtn.store, name, role)
    assert (await login(vtn.client, name)).status == 302
    return await session_csrf(vtn.client)


async def _rows(vtn: Vtn) -> list[AuditRecord]:
    async with vtn.store.transaction() as tx:
        return await tx.audit().newest(before_id=None, limit=1000)


async def _one_more(vtn: Vtn, before: list[AuditRecord]) -> AuditEntry:
    after = await _rows(vtn)
    assert len(after) == len(before) + 1, [r.entry for r in after[: len(after) - len(before)]]
    return after[0].entry


async def test_each_console_change_leaves_one_row_naming_the_operator(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    prog = await create(bl, "/programs", program("tariff"))
    csrf = await _as(lab, "olga", OperatorRole.OPERATOR)

    before = await _rows(lab)
    form = {
        "csrf": csrf,
        "program_id": prog["id"],
        "event_name": "evening-peak",
        "signal": "PRICE",
        "units": "",
        "start": "2030-01-01T17:00",
        "minutes": "30",
        "values": "0.2",
        "targets": "",
    }
    made = await lab.client.post("/console/events/new", data=form, allow_redirects=False)
    assert made.status == 302, await made.text()
    event_id = made.headers["Location"].rsplit("/", 1)[1]
    entry = await _one_more(lab, before)  # not also a row for the BL client console:olga
    assert (entry.actor, entry.role, entry.action, entry.object_id) == (
        "operator:olga",
        "operator",
        "event.create",
        event_id,
    )
    assert entry.address == "127.0.0.1" and entry.detail == "console, role operator"

    before = await _rows(lab)
    area = {"csrf": csrf, "name": "feeder-7", "kind": "feeder", "import_kw": "500", "export_kw": "120"}
    assert (await lab.client.post("/console/areas", data=area)).status == 200
    entry = await _one_more(lab, before)
    assert (entry.actor, entry.action, entry.object_id) == ("operator:olga", "area.add", "feeder-7 (feeder)")

    # A refused change leaves no row: the row is in the change's transaction.
    before = await _rows(lab)
    assert (await lab.client.post("/console/areas", data=area)).status == 422
    assert len(await _rows(lab)) == len(before)

    csrf = await _as(lab, "ada", OperatorRole.ADMIN)
    before = await _rows(lab)
    added = await lab.client.post("/console/clients", data={"csrf": csrf, "name": "ven-9", "role": "ven"})
    assert added.status == 200
    client_id = re.search(r"client_id <code>([^<]+)</code>", await added.text())
    assert client_id is not None
    entry = await _one_more(lab, before)
    assert (entry.actor, entry.role, entry.action, entry.object_id) == (
        "operator:ada",
        "operator",
        "client_add",
        client_id.group(1),
    )
    assert entry.address == "127.0.0.1"


async def test_viewer_reads_the_audit_page_newest_first_filtered_and_paged(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    await create(bl, "/programs", program("tariff"))  # a BL row, actor = the BL client id
    csrf = await _as(lab, "olga", OperatorRole.OPERATOR)
    area = {"csrf": csrf, "name": "feeder-7", "kind": "feeder", "import_kw": "500", "export_kw": "120"}
    assert (await lab.client.post("/console/areas", data=area)).status == 200
    area2 = {**area, "name": "feeder-8"}
    assert (await lab.client.post("/console/areas", data=area2)).status == 200

    await _as(lab, "vera", OperatorRole.VIEWER)
    page = await lab.client.get("/console/")
    assert 'href="/console/audit"' in await page.text()
    shown = await lab.client.get("/console/audit")
    assert shown.status == 200
    html = await shown.text()
    assert html.index("feeder-8 (feeder)") < html.index("feeder-7 (feeder)") < html.index("create")
    assert "operator:olga" in html and "127.0.0.1" in html and bl.client_id in html
    only_operators = await (await lab.client.get("/console/audit", params={"actor": "operator:"})).text()
    assert "feeder-7" in only_operators and bl.client_id not in only_operators
    assert "next-page" not in only_operators
    assert (await lab.client.get("/console/audit", params={"before": "x"})).status == 400

    # Keyset paging: past 100 rows an "Older entries" link continues below the last row shown.
    async with lab.store.transaction() as tx:
        for i in range(120):
            await tx.audit().add(AuditEntry(actor=f"operator:bulk-{i:03d}", role="operator", action="x"))
    first = await (await lab.client.get("/console/audit", params={"actor": "operator:bulk-"})).text()
    assert "bulk-119" in first and "bulk-020" in first and "bulk-019" not in first
    link = re.search(r'id="next-page" href="\?before=(\d+)&amp;actor=([^"]*)"', first)
    assert link is not None and link.group(2) == "operator%3Abulk-"
    older = await lab.client.get(f"/console/audit?before={link.group(1)}&actor={link.group(2)}")
    text = await older.text()
    assert "bulk-019" in text and "bulk-000" in text and "bulk-020" not in text and "next-page" not in text
