"""Refused logins in a row per client id, and the lockout they earn (shared by all VTN processes).

The lockout lives in the database, not in memory, because an attacker spreading guesses over several
VTN processes behind one port must meet the same lockout in each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import _rows
from vtn.storage.tables import login_failures


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    after_failures: int
    base_s: float
    max_s: float

    def lock_seconds(self, failures: int) -> float:
        """0 below the threshold, then base, 2 x base, 4 x base ... up to max."""
        if self.after_failures <= 0 or failures < self.after_failures:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(failures - self.after_failures, 40))


class LoginRepo:
    def __init__(self, conn: AsyncConnection, clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.clock = clock

    async def state(self, client_id: str) -> tuple[int, float]:
        """Refused logins in a row of `client_id`, and the seconds until it may try again (0: now)."""
        t = login_failures
        row = (
            await self.conn.execute(
                select(t.c.failures, t.c.locked_until_us).where(t.c.client_id == client_id[:128])
            )
        ).first()
        if row is None:
            return 0, 0.0
        return int(row[0]), max(0.0, (int(row[1]) - _rows.to_us(self.clock())) / 1e6)

    async def refused(self, client_id: str, policy: LockoutPolicy) -> float:
        """Count one more refused login; the lockout (seconds) it starts, 0 if none."""
        now = _rows.to_us(self.clock())
        table = login_failures
        row = (
            await self.conn.execute(select(table.c.failures).where(table.c.client_id == client_id[:128]))
        ).first()
        failures = 1 if row is None else int(row[0]) + 1
        lock = policy.lock_seconds(failures)
        values = {"failures": failures, "last_us": now, "locked_until_us": now + int(lock * 1e6)}
        if row is None:
            try:
                async with self.conn.begin_nested():
                    await self.conn.execute(insert(table).values(client_id=client_id[:128], **values))
                return lock
            except IntegrityError:  # a concurrent refusal made the row: count on it
                pass
        await self.conn.execute(update(table).where(table.c.client_id == client_id[:128]).values(**values))
        return lock

    async def succeeded(self, client_id: str) -> None:
        await self.conn.execute(delete(login_failures).where(login_failures.c.client_id == client_id))

    async def purge(self, before: datetime) -> None:
        """Forget refusals last seen before `before` (their lockouts are long over)."""
        await self.conn.execute(delete(login_failures).where(login_failures.c.last_us < _rows.to_us(before)))
