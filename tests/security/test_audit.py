"""The audit log: BL and operator changes and refused logins, read by BL at GET /audit, purged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from support.api_data import create, event, ok_json, problem, program, ven_ven
from support.harness import BASE, Api, Vtn

from vtn.audit.retention import purge_once
from vtn.storage.audit import AuditEntry, AuditRepo


async def _audit(bl: Api, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await ok_json(await bl.get("/audit", params=params))
    return found


async def test_bl_changes_are_audited_with_who_what_when_where(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    prog = await create(bl, "/programs", program("p"))
    await create(bl, "/events", event(prog["id"]))
    await ok_json(await bl.delete(f"/programs/{prog['id']}"))
    # A VEN's own writes are not operator actions.
    await create(ven_a, "/vens", ven_ven("mine"))
    changes = [e for e in await _audit(bl) if e["actor"] == bl.client_id]
    assert [(e["action"], e["objectType"]) for e in changes] == [
        ("delete", "PROGRAM"),
        ("create", "EVENT"),
        ("create", "PROGRAM"),
    ]
    newest = changes[0]
    assert newest["objectID"] == prog["id"] and newest["address"] == "127.0.0.1" and newest["role"] == "bl"
    assert newest["at"].endswith("Z") and "1 dependents deleted" in newest["detail"]
    assert not [e for e in await _audit(bl) if e["actor"] == ven_a.client_id]


async def test_operator_changes_and_refused_logins_are_audited(vtn: Vtn, bl: Api) -> None:
    form = {"grant_type": "client_credentials", "client_id": bl.client_id, "client_secret": "wrong"}
    assert (await vtn.client.post(BASE + "/auth/token", data=form)).status == 401
    refused = await _audit(bl, action="login_refused")
    assert [(e["actor"], e["role"], e["address"]) for e in refused] == [(bl.client_id, "bl", "127.0.0.1")]
    added = await _audit(bl, actor="operator", action="client_add")
    assert bl.client_id in {e["objectID"] for e in added}


async def test_audit_is_for_bl_only(vtn: Vtn, ven_a: Api) -> None:
    await problem(await ven_a.get("/audit"), 403)


async def test_old_audit_rows_are_purged(vtn: Vtn, bl: Api) -> None:
    async with vtn.store.transaction() as tx:
        old_clock = lambda: vtn.store.clock() - timedelta(days=400)  # noqa: E731
        await AuditRepo(tx.conn, old_clock).add(AuditEntry(actor="x", role="bl", action="create"))
    assert any(e["actor"] == "x" for e in await _audit(bl))
    app = vtn.client.server.app
    assert app is not None
    assert await purge_once(app) == 1
    assert not any(e["actor"] == "x" for e in await _audit(bl))


async def test_bl_writes_through_301_are_audited(vtn: Vtn, bl: Api) -> None:
    resp = await vtn.client.post(
        "/openadr3/3.0.1/programs",
        json={"programName": "old-api"},
        headers={"Authorization": f"Bearer {bl.token}"},
    )
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    changes = await _audit(bl, actor=bl.client_id, action="create")
    assert [(e["objectType"], e["objectID"]) for e in changes] == [("PROGRAM", made["id"])]
    assert "/openadr3/3.0.1/programs" in changes[0]["detail"]


async def test_bl_reports_are_audited_once_through_both_apis(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    """BL reports take the prepared write path (no typed report); its audit row is the write's."""
    prog = await create(bl, "/programs", program("p"))
    ev = await create(bl, "/events", event(prog["id"]))
    body = {"eventID": ev["id"], "clientName": "bl-side", "resources": []}
    made31 = await create(bl, "/reports", {**body, "id": "bl-chosen"})
    assert made31["id"] == "bl-chosen"  # BL's chosen id is kept
    resp = await vtn.client.post(
        "/openadr3/3.0.1/reports",
        json={**body, "programID": prog["id"]},
        headers={"Authorization": f"Bearer {bl.token}"},
    )
    assert resp.status == 201, await resp.text()
    made301 = await resp.json()
    await create(ven_a, "/reports", body)  # a VEN's report is not an operator action
    changes = await _audit(bl, action="create")
    reports = [(e["actor"], e["objectID"], e["detail"]) for e in changes if e["objectType"] == "REPORT"]
    assert reports == [
        (bl.client_id, made301["id"], "POST /openadr3/3.0.1/reports"),
        (bl.client_id, "bl-chosen", f"POST {BASE}/reports"),
    ]
