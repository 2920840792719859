"""Per-VEN quotas, answered 403 "Quota Exceeded" with what to do: stored reports (count and bytes),
and the vens, resources and subscriptions a VEN client owns (count).

Why a tracker and not a query per write: summing the lengths of a VEN's stored reports costs a scan
of them, too much for every POST at thousands of reports a second. The tracker reads a client's usage
from the store once, at its first report in this process, and counts up what this process accepts.
It reads it again every `refresh_s`, in the background: a request never waits for that (it is checked
against the figure it has), and the clients due are read together, one statement for up to
`batch` of them; clients seen for the first time at about the same moment are read together too.
So a quota can be overshot by what other processes accepted within that window (a soft bound, see
docs/security.md). BL clients have no quota.

Vens, resources and subscriptions are written rarely, so their quota is an exact count from the store
before each create (by the indexed client_id). Each object's size is already bounded by the request
body limit, so the count bounds their bytes too. Concurrent creates of one client can overshoot by
the number in flight, as with reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from shared.enums import ObjectType
from shared.errors import Forbidden
from vtn.core.state import state
from vtn.principal import Principal
from vtn.storage.usage import NOTHING, Usage

log = logging.getLogger(__name__)

# Reads the usage of several clients at once (clients without reports may be left out).
LoadUsage = Callable[[Sequence[str]], Awaitable[dict[str, Usage]]]


class QuotaExceeded(Forbidden):
    title = "Quota Exceeded"


@dataclass
class _Seen:
    stored: Usage  # as read from the store
    added: Usage  # accepted by this process since that read began
    until: float  # read again after this
    refreshing: bool = False

    @property
    def usage(self) -> Usage:
        return Usage(self.stored.objects + self.added.objects, self.stored.bytes + self.added.bytes)


class ReportQuotas:
    def __init__(
        self,
        max_reports: int,
        max_bytes: int,
        *,
        refresh_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
        batch: int = 500,
    ) -> None:
        self.max_reports = max_reports
        self.max_bytes = max_bytes
        self._refresh_s = refresh_s
        self._clock = clock
        self._max_clients = max_clients
        self._batch = batch
        self._seen: dict[str, _Seen] = {}
        # Clients to read: first sight (a future the requests await) or due again (None: nobody waits).
        self._due: dict[str, asyncio.Future[_Seen] | None] = {}
        self._reader: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.max_reports > 0 or self.max_bytes > 0

    async def admit(self, who: Principal, size: int, load: LoadUsage) -> None:
        """Raise QuotaExceeded if storing `size` more bytes of one report would break a quota."""
        if who.is_bl or not self.enabled:
            return
        client = who.client_id
        seen = self._seen.get(client)
        if seen is None:
            seen = await self._first_sight(client, load)
        elif seen.until <= self._clock() and not seen.refreshing:
            seen.refreshing = True
            self._due.setdefault(client, None)
            self._start_reader(load)
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
        seen.added = Usage(seen.added.objects + 1, seen.added.bytes + size)

    def forget(self, client_id: str) -> None:
        """After a delete: read the usage afresh next time."""
        self._seen.pop(client_id, None)

    async def close(self) -> None:
        """Stop reading (application cleanup); requests still waiting get an error."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _first_sight(self, client: str, load: LoadUsage) -> _Seen:
        waiting = self._due.get(client)
        if waiting is None:
            waiting = self._due[client] = asyncio.get_running_loop().create_future()
            # Retrieved even if every request waiting for it went away (no "never retrieved" noise).
            waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._start_reader(load)
        # shield: one request going away must not cancel the read the others wait for.
        return await asyncio.shield(waiting)

    def _start_reader(self, load: LoadUsage) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_due(load), name="report-quota-usage")

    async def _read_due(self, load: LoadUsage) -> None:
        await asyncio.sleep(0)  # let the requests of this loop iteration queue their clients too
        while self._due:
            clients = list(self._due)[: self._batch]
            waiting = {c: self._due.pop(c) for c in clients}
            # The entries due again, with what had been added when the read began: added later, it
            # may be missing from what the store answers, so it is kept on top of that.
            due = {c: (s, s.added) for c in clients if (s := self._seen.get(c)) is not None and s.refreshing}
            try:
                found = await load(clients)
            except Exception as exc:  # noqa: BLE001 - the waiting requests get it; due ones retry later
                log.warning("reading report usage of %d clients failed: %s", len(clients), exc)
                for seen, _ in due.values():
                    seen.refreshing = False
                for future in waiting.values():
                    if future is not None and not future.done():
                        future.set_exception(exc)
                continue
            until = self._clock() + self._refresh_s
            for client, future in waiting.items():
                stored = found.get(client, NOTHING)
                if future is None:
                    entry = due.get(client)
                    if entry is not None and self._seen.get(client) is entry[0]:
                        seen, before = entry
                        seen.stored, seen.until, seen.refreshing = stored, until, False
                        seen.added = Usage(
                            seen.added.objects - before.objects, seen.added.bytes - before.bytes
                        )
                    continue
                seen = _Seen(stored, NOTHING, until)
                if len(self._seen) >= self._max_clients:
                    self._seen.clear()
                self._seen[client] = seen
                if not future.done():
                    future.set_result(seen)


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

    async def load(client_ids: Sequence[str]) -> dict[str, Usage]:
        async with core.read() as tx:
            return await tx.report_usage(client_ids)

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
