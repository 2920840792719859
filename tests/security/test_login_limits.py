"""Token endpoint: per-address rate limit, exponential lockout per client id, same work for unknown ids."""

from __future__ import annotations

from typing import Any

import pytest
from support.configured import configured
from support.harness import BASE, Vtn

from shared.enums import Role
from vtn.auth import login as login_module
from vtn.storage.audit import AuditRepo
from vtn.storage.logins import LockoutPolicy

TOKEN = BASE + "/auth/token"


async def _login(vtn: Vtn, client_id: str, secret: str, base: str = BASE) -> Any:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return await vtn.client.post(base + "/auth/token", data=form)


async def test_token_endpoint_rate_limit_per_address(db_url: str) -> None:
    async with configured(db_url, token_rate_per_address=0.01, token_burst_per_address=3) as vtn:
        statuses = [(await _login(vtn, f"nobody-{n}", "wrong")).status for n in range(4)]
        assert statuses == [401, 401, 401, 429]
        resp = await _login(vtn, "nobody-9", "wrong", "/openadr3/3.0.1")
        assert resp.status == 429
        assert int(resp.headers["Retry-After"]) >= 1
        assert (await resp.json())["error"] == "invalid_request"


@pytest.mark.parametrize("known", [True, False])
async def test_repeated_refusals_lock_the_client_id_out(db_url: str, known: bool) -> None:
    settings = {"lockout_after_failures": 3, "lockout_base_seconds": 60.0, "token_rate_per_address": 0}
    async with configured(db_url, **settings) as vtn:
        ven = await vtn.login("ven", Role.VEN)
        client_id = ven.client_id if known else "no-such-client"
        for _ in range(3):
            assert (await _login(vtn, client_id, "wrong")).status == 401
        # Locked: even the right secret is refused, with Retry-After; unknown ids behave the same.
        locked = await _login(vtn, client_id, ven.secret if known else "wrong")
        assert locked.status == 429
        assert 55 <= int(locked.headers["Retry-After"]) <= 60
        # Other clients are not affected.
        other = await vtn.login("other", Role.VEN)
        assert (await _login(vtn, other.client_id, other.secret)).status == 200


def test_lockout_doubles_up_to_the_maximum() -> None:
    policy = LockoutPolicy(after_failures=5, base_s=1.0, max_s=900.0)
    assert [policy.lock_seconds(n) for n in (1, 4, 5, 6, 7, 10)] == [0, 0, 1, 2, 4, 32]
    assert policy.lock_seconds(100) == 900.0


async def test_unknown_client_id_costs_one_secret_check_like_a_known_one(
    vtn: Vtn, monkeypatch: pytest.MonkeyPatch
) -> None:
    ven = await vtn.login("ven", Role.VEN)
    checked: list[str] = []
    real = login_module.verify_secret

    def spy(secret: str, stored: str) -> bool:
        checked.append(stored.split("$")[1])  # the iteration count: the work done
        return real(secret, stored)

    monkeypatch.setattr(login_module, "verify_secret", spy)
    assert (await _login(vtn, ven.client_id, "wrong")).status == 401
    assert (await _login(vtn, "no-such-client", "wrong")).status == 401
    assert len(checked) == 2 and checked[0] == checked[1]


async def test_refused_logins_are_audited(vtn: Vtn) -> None:
    assert (await _login(vtn, "no-such-client", "wrong")).status == 401
    async with vtn.store.read() as tx:
        rows = await AuditRepo(tx.conn, vtn.store.clock).page(skip=0, limit=10, action="login_refused")
    assert [(r.entry.actor, r.entry.address) for r in rows] == [("no-such-client", "127.0.0.1")]
