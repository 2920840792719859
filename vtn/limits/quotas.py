"""Per-VEN quotas, answered 403 "Quota Exceeded" with what to do: stored reports (count and bytes),
and the vens, resources and subscriptions a VEN client owns (count).

Why a tracker and not a query per write: summing the lengths of a VEN's stored reports costs a scan
of them, too much for every POST at thousands of reports a second. The tracker reads a client's usage
from the store at most every `refresh_s` and adds what this process accepted since, so a quota can be
overshot by what other processes accepted within that window (a soft bound, see docs/security.md).
BL clients have no quota.

Vens, resources and subscriptions are written rarely, so their quota is an exact count from the store
before each create (by the indexed client_id). Each object's size is already bounded by the request
body limit, so the count bounds their bytes too. Concurrent creates of one client can overshoot by
the number in flight, as with reports.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shared.enums import ObjectType
from shared.errors import Forbidden
from vtn.core.state import state
from vtn.principal import Principal
from vtn.storage.usage import Usage


class QuotaExceeded(Forbidden):
    title = "Quota Exceeded"


@dataclass
class _Seen:
    usage: Usage
    until: float


class ReportQuotas:
    def __init__(
        self,
        max_reports: int,
        max_bytes: int,
        *,
        refresh_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self.max_reports = max_reports
        self.max_bytes = max_bytes
        self._refresh_s = refresh_s
        self._clock = clock
        self._max_clients = max_clients
        self._seen: dict[str, _Seen] = {}

    @property
    def enabled(self) -> bool:
        return self.max_reports > 0 or self.max_bytes > 0

    async def admit(self, who: Principal, size: int, load: Callable[[], Awaitable[Usage]]) -> None:
        """Raise QuotaExceeded if storing `size` more bytes of one report would break a quota."""
        if who.is_bl or not self.enabled:
            return
        now = self._clock()
        seen = self._seen.get(who.client_id)
        if seen is None or seen.until <= now:
            if len(self._seen) >= self._max_clients:
                self._seen.clear()
            seen = _Seen(await load(), now + self._refresh_s)
            self._seen[who.client_id] = seen
        used = seen.usage
        if self.max_reports and used.objects + 1 > self.max_reports:
            raise QuotaExceeded(
                f"report quota reached: {used.objects} of {self.max_reports} reports stored for this "
                "client; delete reports you no longer need (DELETE /reports/{reportID})"
            )
        if self.max_bytes and used.bytes + size > self.max_bytes:
            raise QuotaExceeded(
                f"report storage quota reached: {used.bytes} of {self.max_bytes} bytes stored for this "
                "client; delete reports you no longer need (DELETE /reports/{reportID})"
            )
        seen.usage = Usage(used.objects + 1, used.bytes + size)

    def forget(self, client_id: str) -> None:
        """After a delete: read the usage afresh next time."""
        self._seen.pop(client_id, None)


@dataclass(frozen=True)
class ObjectQuotas:
    """Most vens, resources and subscriptions one VEN client may own (0: no limit)."""

    max_vens: int
    max_resources: int
    max_subscriptions: int

    def limit(self, kind: ObjectType) -> int:
        return {
            ObjectType.VEN: self.max_vens,
            ObjectType.RESOURCE: self.max_resources,
            ObjectType.SUBSCRIPTION: self.max_subscriptions,
        }.get(kind, 0)


_DELETE_HINT = {
    ObjectType.VEN: "DELETE /vens/{venID}",
    ObjectType.RESOURCE: "DELETE /resources/{resourceID}",
    ObjectType.SUBSCRIPTION: "DELETE /subscriptions/{subscriptionID}",
}

QUOTAS = web.AppKey("vtn_report_quotas", ReportQuotas)
OBJECT_QUOTAS = web.AppKey("vtn_object_quotas", ObjectQuotas)


async def admit_report(request: web.Request, who: Principal) -> None:
    """The quota check of a report write, with its body (already read) as the size."""
    quotas = request.app.get(QUOTAS)
    if quotas is None or who.is_bl:
        return
    core = state(request).core

    async def load() -> Usage:
        async with core.read() as tx:
            return await tx.report_usage(who.client_id)

    await quotas.admit(who, len(await request.read()), load)


def report_deleted(request: web.Request, who: Principal) -> None:
    quotas = request.app.get(QUOTAS)
    if quotas is not None:
        quotas.forget(who.client_id)


async def admit_objects(request: web.Request, who: Principal, kind: ObjectType, adding: int = 1) -> None:
    """The quota check of a create of `adding` vens, resources or subscriptions by `who`."""
    quotas = request.app.get(OBJECT_QUOTAS)
    if quotas is None or who.is_bl or adding <= 0:
        return
    limit = quotas.limit(kind)
    if not limit:
        return
    async with state(request).core.read() as tx:
        owned = await tx.owned_count(kind, who.client_id)
    if owned + adding > limit:
        noun = kind.value.lower()
        raise QuotaExceeded(
            f"{noun} quota reached: {owned} of {limit} {noun}s stored for this client"
            + (f" (this request adds {adding})" if adding > 1 else "")
            + f"; delete {noun}s you no longer need ({_DELETE_HINT[kind]})"
        )
