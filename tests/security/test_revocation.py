"""Removing a client revokes its live tokens at once; tokens must name an existing client."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import jwt
from support.harness import BASE, Vtn

from shared.enums import Role
from vtn.auth.tokens import ISSUER


async def _programs(vtn: Vtn, token: str) -> int:
    resp = await vtn.client.get(BASE + "/programs", headers={"Authorization": f"Bearer {token}"})
    return resp.status


async def test_removed_client_token_is_refused_within_the_poll_delay(vtn: Vtn) -> None:
    ven = await vtn.login("ven", Role.VEN)
    assert await _programs(vtn, ven.token) == 200  # the token is now in the verified-token cache
    async with vtn.store.transaction() as tx:
        assert await tx.clients.remove("ven")
    removed = time.monotonic()
    # The app's stamp poller (cache_poll_seconds, 0.5 s) sees the clients stamp move and reloads.
    while await _programs(vtn, ven.token) == 200:
        assert time.monotonic() - removed < 5, "the removed client's token still works after 5 s"
        await asyncio.sleep(0.05)
    assert await _programs(vtn, ven.token) == 401
    # 3.0.1 too.
    resp = await vtn.client.get("/openadr3/3.0.1/programs", headers={"Authorization": f"Bearer {ven.token}"})
    assert resp.status == 401


async def test_signed_token_of_no_client_is_refused(vtn: Vtn) -> None:
    await vtn.login("bl", Role.BL)
    async with vtn.store.read() as tx:
        key = await tx.clients.signing_key()
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "nobody", "role": "bl", "scope": "read_all", "iat": now, "exp": now + 60}
    forged = jwt.encode(claims, key, algorithm="HS256")
    assert await _programs(vtn, forged) == 401


async def test_rotated_secret_keeps_the_old_one_for_the_grace_period(vtn: Vtn) -> None:
    ven = await vtn.login("ven", Role.VEN)
    async with vtn.store.transaction() as tx:
        rotated = await tx.clients.rotate("ven", vtn.store.clock() + timedelta(hours=1))
    assert rotated is not None and rotated.secret != ven.secret

    async def login(secret: str) -> int:
        form = {"grant_type": "client_credentials", "client_id": ven.client_id, "client_secret": secret}
        return (await vtn.client.post(BASE + "/auth/token", data=form)).status

    assert await login(rotated.secret) == 200
    assert await login(ven.secret) == 200  # within the grace period
    async with vtn.store.transaction() as tx:
        await tx.clients.rotate("ven", vtn.store.clock() - timedelta(seconds=1))
    assert await login(ven.secret) == 401
    assert await login(rotated.secret) == 401  # replaced by the second rotation
