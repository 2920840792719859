"""Client-secret logins at the token endpoints (3.1.0 and 3.0.1): one check for both.

Order: the per-address rate limit (memory), then the lockout of the client id (database, shared by
every VTN process), then the secret. An unknown client id costs the same PBKDF2 work as a known one
(a dummy hash is checked), so the answer's timing does not reveal which ids exist; unknown ids are
counted and locked out like known ones for the same reason. During a rotation's grace period the
previous secret is accepted too. Every refusal is written to the audit log.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from vtn.limits.rate import RateLimiter
from vtn.storage import ClientRecord, Store
from vtn.storage import clients as client_store
from vtn.storage.audit import AuditEntry
from vtn.storage.clients import verify_secret
from vtn.storage.logins import LockoutPolicy


@dataclass(frozen=True, slots=True)
class LoginResult:
    record: ClientRecord | None  # None: refused
    retry_after: float = 0.0  # > 0: refused without checking, try again after this many seconds

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


class LoginGuard:
    def __init__(
        self, store: Store, policy: LockoutPolicy, per_address: RateLimiter, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._policy = policy
        self._per_address = per_address
        self._clock = clock
        # Checked instead of a real hash when the client id is unknown: made by the function that
        # hashes real secrets (looked up now, not at import), so the same iterations, the same cost.
        self._dummy_hash = client_store.hash_secret(secrets.token_urlsafe(32))

    async def login(self, request: web.Request, client_id: str, secret: str) -> LoginResult:
        address = request.remote or "unknown"
        wait = self._per_address.take(address)
        if wait > 0:
            return LoginResult(None, wait)
        async with self._store.read() as tx:
            record = await tx.clients.get(client_id)
            failures, locked = await tx.logins().state(client_id)
        if locked > 0:
            await self._refused(client_id, record, address, "locked out after repeated refusals", count=False)
            return LoginResult(None, locked)
        stored = record.secret_hash if record is not None else self._dummy_hash
        # PBKDF2 is CPU work: keep it off the event loop.
        ok = await asyncio.to_thread(verify_secret, secret, stored) and record is not None
        if not ok and record is not None and self._in_grace(record):
            assert record.previous_secret_hash is not None
            ok = await asyncio.to_thread(verify_secret, secret, record.previous_secret_hash)
        if not ok:
            await self._refused(client_id, record, address, "unknown client or wrong secret")
            return LoginResult(None)
        if failures:
            async with self._store.transaction() as tx:
                await tx.logins().succeeded(client_id)
        return LoginResult(record)

    def _in_grace(self, record: ClientRecord) -> bool:
        return (
            record.previous_secret_hash is not None
            and record.previous_until is not None
            and self._clock() < record.previous_until
        )

    async def _refused(
        self, client_id: str, record: ClientRecord | None, address: str, why: str, *, count: bool = True
    ) -> None:
        async with self._store.transaction() as tx:
            if count:
                await tx.logins().refused(client_id, self._policy)
            entry = AuditEntry(
                actor=client_id,
                role=record.role.value if record is not None else "unknown",
                action="login_refused",
                address=address,
                detail=why,
            )
            await tx.audit().add(entry)


LOGINS = web.AppKey("vtn_login_guard", LoginGuard)
