"""Sandbox test helpers: a logged-in sandbox client and simulated events (docs/sandbox.md)."""

from __future__ import annotations

from typing import Any

from shared.enums import Role
from support.harness import BASE, Api, Vtn


async def sandbox_login(vtn: Vtn, name: str) -> Api:
    """A VEN client marked as a sandbox client, logged in on the 3.1 API."""
    async with vtn.store.transaction() as tx:
        new = await tx.clients.add(name, Role.VEN, sandbox=True)
    form = {
        "grant_type": "client_credentials",
        "client_id": new.record.client_id,
        "client_secret": new.secret,
    }
    resp = await vtn.client.post(BASE + "/auth/token", data=form)
    assert resp.status == 200, await resp.text()
    return Api(vtn.client, new.record.client_id, new.secret, (await resp.json())["access_token"])


async def trigger(api: Api, status: int = 201, **body: Any) -> dict[str, Any]:
    """POST /sandbox/events with `body`; the answer (an event, or a problem) after checking its status."""
    resp = await api.post("/sandbox/events", json=body)
    assert resp.status == status, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc
