"""Console test helpers: operators seeded through storage, a logged-in form session on a test client."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from shared.durations import to_us, utcnow
from shared.enums import OperatorRole
from vtn.auth.passwords import hash_password
from vtn.storage import Store

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def add_operator(store: Store, name: str, role: OperatorRole, password: str = PASSWORD) -> None:
    # A cheaper scrypt cost than production (the parameters travel with the hash): tests stay fast.
    async with store.transaction() as tx:
        await tx.operators().add(name, role, hash_password(password, n=2**12), to_us(utcnow()))


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def login(client: TestClient[Any, Any], name: str, password: str = PASSWORD) -> Any:
    """Log in through the form; returns the last response (302 on success, not followed)."""
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    return await client.post(
        "/console/login",
        data={"csrf": token, "name": name, "password": password, "next": "/console/"},
        allow_redirects=False,
    )


async def session_csrf(client: TestClient[Any, Any]) -> str:
    page = await client.get("/console/")
    assert page.status == 200, await page.text()
    return csrf_of(await page.text())


async def seed_vens(store: Store, count: int, *, prefix: str = "ven", chunk: int = 5000) -> None:
    """`count` VENs bulk-inserted as the repository writes them (rows built from the model), names
    `{prefix}-000000`... (the browser and timing tests need thousands; the API would take minutes)."""
    from sqlalchemy import insert

    from shared.models import Ven
    from shared.wire import oadr3_json
    from vtn.storage.tables import object_targets, vens

    for start in range(0, count, chunk):
        async with store.transaction() as tx:
            rows, targets = [], []
            for i in range(start, min(count, start + chunk)):
                group = f"group-{i % 100:02d}"
                ven = Ven.model_validate(
                    {
                        **tx.vens.stamp(None),
                        "client_id": f"{prefix}-client-{i:06d}",
                        "ven_name": f"{prefix}-{i:06d}",
                        "targets": [group],
                    }
                )
                rows.append(
                    {
                        "id": ven.id,
                        "created_us": to_us(ven.created_date_time),
                        "modified_us": to_us(ven.modification_date_time),
                        "doc": oadr3_json.wire_json(ven),
                        **tx.vens.columns(ven),
                    }
                )
                targets.append({"kind": "VEN", "object_id": ven.id, "target": group})
            await tx.conn.execute(insert(vens), rows)
            await tx.conn.execute(insert(object_targets), targets)
