"""The request stack's token checks, in `front` or (after a guard) in a middleware of their own, and
the visibility rule's remembered permissions (vtn/middleware.py, vtn/core/visibility.py)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support.harness import BASE, OADR20B_SCHEMA, REGISTRY, Vtn

from shared.enums import ROLE_SCOPES, Role
from shared.models.common import ClientId
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.core import visibility
from vtn.core.state import PRINCIPAL_KEY
from vtn.core.visibility import Visibility
from vtn.middleware import REQUEST_STACK
from vtn.principal import Principal
from vtn.services.read_cache import ReadCache
from vtn.storage import Store, open_store


async def test_a_guard_runs_between_the_request_checks_and_the_token_checks(db_url: str) -> None:
    store = open_store(db_url)
    app = await build_app(VtnConfig(db_url=db_url), store, REGISTRY, oadr20b_schema=OADR20B_SCHEMA)
    stack = app[REQUEST_STACK]
    assert list(app.middlewares) == [stack.front]  # token checks in `front` while no guard needs them apart
    seen: list[object] = []

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.get(PRINCIPAL_KEY))
        if request.headers.get("X-Refuse"):
            return web.Response(status=418)
        return cast(web.StreamResponse, await handler(request))

    stack.add_guard(guard)
    assert list(app.middlewares) == [stack.front, guard, stack.authenticate]
    try:
        async with TestClient(TestServer(app)) as client:
            ven = await Vtn(client, store).login("ven", Role.VEN)
            assert (await ven.get("/events")).status == 200
            assert (await client.get(BASE + "/events")).status == 401  # the token checks still run
            assert (await ven.get("/events", headers={"X-Refuse": "1"})).status == 418
            assert (await ven.post("/programs", json={"programName": "p"})).status == 403  # scopes too
    finally:
        await store.close()
    assert seen and all(who is None for who in seen)  # before the caller was known


def _ven(client_id: str, sandbox: bool = False) -> Principal:
    return Principal(ClientId(client_id), Role.VEN, frozenset(ROLE_SCOPES[Role.VEN]), sandbox=sandbox)


async def test_a_vens_permission_is_remembered_by_what_it_is_made_of(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ReadCache()
    cache.keep_snapshot({"v1": frozenset({"g1", "g2"}), "v2": frozenset({"g1", "g2"})})
    rule = Visibility(cast(Store, None), cache)  # every grant is in the snapshot: no store read
    g1 = frozenset({"g1"})
    first = await rule.permission(_ven("v1"), g1)
    assert first.access == g1 and first.sandbox is None
    assert await rule.permission(_ven("v1"), g1) is first
    assert await rule.permission(_ven("v2"), g1) is first  # the same grants: the same permission
    assert (await rule.permission(_ven("v1"))).access == {"g1", "g2"}
    sandboxed = await rule.permission(_ven("v1", sandbox=True), g1)
    assert (sandboxed.access, sandboxed.sandbox) == (g1, "v1")

    cache.grants_changed()  # BL moved v1's grants
    cache.keep_snapshot({"v1": frozenset({"g3"})})
    assert (await rule.permission(_ven("v1"), g1)).access == frozenset()
    assert (await rule.permission(_ven("v1"))).access == {"g3"}
    assert (await rule.permission(_ven("v2"), g1)).access == frozenset()  # not in the snapshot: none

    monkeypatch.setattr(visibility, "MAX_PERMISSIONS", 2)
    for k in range(5):
        await rule.permission(_ven("v1"), frozenset({f"t{k}"}))
        assert len(rule._permissions) <= 2
