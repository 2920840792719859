"""The report quota tracker: usage read once per client and again in the background, in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.enums import ROLE_SCOPES, Role
from shared.models.common import ClientId
from vtn.limits.quotas import QuotaExceeded, ReportQuotas
from vtn.principal import Principal
from vtn.storage.usage import Usage


def ven(name: str) -> Principal:
    return Principal(ClientId(name), Role.VEN, ROLE_SCOPES[Role.VEN])


class Store:
    """Usage as a store would answer it, with every read recorded; `gate` holds reads back."""

    def __init__(self, usage: dict[str, Usage]) -> None:
        self.usage = usage
        self.reads: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    async def load(self, clients: Sequence[str]) -> dict[str, Usage]:
        self.reads.append(sorted(clients))
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {c: self.usage[c] for c in clients if c in self.usage}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_first_reports_of_many_clients_are_read_together() -> None:
    store = Store({"a": Usage(1, 10)})
    quotas = ReportQuotas(3, 0)
    await asyncio.gather(*(quotas.admit(ven(c), 5, store.load) for c in ("a", "b", "c", "a")))
    assert store.reads == [["a", "b", "c"]]
    # a: 1 stored + 2 accepted here; b and c had nothing stored.
    with pytest.raises(QuotaExceeded, match="3 of 3 reports"):
        await quotas.admit(ven("a"), 5, store.load)
    await quotas.admit(ven("b"), 5, store.load)
    assert store.reads == [["a", "b", "c"]]


async def test_due_usage_is_read_in_the_background_and_keeps_what_came_meanwhile() -> None:
    store, clock = Store({"a": Usage(0, 0)}), Clock()
    quotas = ReportQuotas(10, 0, refresh_s=300, clock=clock)
    await quotas.admit(ven("a"), 1, store.load)
    clock.now = 301
    store.gate.clear()
    store.usage["a"] = Usage(5, 50)  # another process stored 4 more, besides this one's
    # Due again: the request is answered at once, from the figure it has (1 accepted).
    await asyncio.wait_for(quotas.admit(ven("a"), 1, store.load), 1)
    await asyncio.sleep(0.01)
    assert store.reads == [["a"], ["a"]]
    await quotas.admit(ven("a"), 1, store.load)  # accepted while the read is on its way
    store.gate.set()
    await asyncio.sleep(0.01)
    # 5 stored + the one accepted after the read began; the limit is 10.
    for _ in range(4):
        await quotas.admit(ven("a"), 1, store.load)
    with pytest.raises(QuotaExceeded, match="10 of 10 reports"):
        await quotas.admit(ven("a"), 1, store.load)
    assert store.reads == [["a"], ["a"]]


async def test_a_deleted_report_makes_the_next_write_read_afresh() -> None:
    store = Store({"a": Usage(2, 0)})
    quotas = ReportQuotas(2, 0)
    with pytest.raises(QuotaExceeded):
        await quotas.admit(ven("a"), 1, store.load)
    store.usage["a"] = Usage(1, 0)
    quotas.forget("a")
    await quotas.admit(ven("a"), 1, store.load)
    assert store.reads == [["a"], ["a"]]


async def test_a_failed_first_read_fails_the_request_and_the_next_one_reads_again() -> None:
    store = Store({})
    store.fail = RuntimeError("database away")
    quotas = ReportQuotas(2, 0)
    with pytest.raises(RuntimeError, match="database away"):
        await quotas.admit(ven("a"), 1, store.load)
    store.fail = None
    await quotas.admit(ven("a"), 1, store.load)
    assert store.reads == [["a"], ["a"]]
    await quotas.close()


async def test_byte_quota_and_bl() -> None:
    store = Store({"a": Usage(1, 90)})
    quotas = ReportQuotas(0, 100)
    with pytest.raises(QuotaExceeded, match="90 of 100 bytes"):
        await quotas.admit(ven("a"), 11, store.load)
    await quotas.admit(ven("a"), 10, store.load)
    await quotas.admit(Principal(ClientId("bl"), Role.BL, ROLE_SCOPES[Role.BL]), 10**9, store.load)
    assert store.reads == [["a"]]
