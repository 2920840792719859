"""Notifications survive a VTN killed with SIGKILL, and several VTN processes share one outbox."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.processes import VtnProcess, add_client, add_clients_here, lab_env
from support.receiver import Receiver

from shared.enums import Role
from shared.models import EventRequest, ObjectOperation, ProgramRequest, SubscriptionRequest
from ven.client import VtnClient

FAST_RETRY = {
    "VTN_RETRY_BASE_SECONDS": "0.2",
    "VTN_RETRY_MAX_SECONDS": "0.5",
    "VTN_OUTBOX_LEASE_SECONDS": "2",
    "VTN_DELIVERY_TIMEOUT_SECONDS": "1",  # the lease must outlast one attempt
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    yield rx
    await rx.stop()


async def _subscribe(base: str, creds: dict[str, str], url: str, name: str) -> None:
    async with VtnClient(base, client_id=creds["client_id"], client_secret=creds["client_secret"]) as ven:
        ops = [ObjectOperation(objects=["EVENT"], operations=["CREATE"], callback_url=url, bearer_token=name)]
        await ven.create_subscription(SubscriptionRequest(client_name=name, object_operations=ops))


async def _events(base: str, creds: dict[str, str], names: list[str]) -> None:
    async with VtnClient(base, client_id=creds["client_id"], client_secret=creds["client_secret"]) as bl:
        program = await bl.create_program(ProgramRequest(program_name="p"))
        for name in names:
            await bl.create_event(EventRequest(program_id=program.id, event_name=name))


async def test_pending_deliveries_survive_sigkill_and_arrive_in_order(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = f"sqlite:///{tmp_path / 'vtn.db'}"
    vtn = VtnProcess(db, tmp_path / "vtn.log", lab_env(**FAST_RETRY))
    url = await receiver.start()
    try:
        vtn.start()
        await vtn.ready()
        bl, ven = add_client(db, "bl", "bl"), add_client(db, "ven", "ven")
        await _subscribe(vtn.base, ven, url, "ven")
        receiver.fail_with = 503  # the subscriber is down: everything stays pending
        names = [f"e{i}" for i in range(6)]
        await _events(vtn.base, bl, names)
        await asyncio.sleep(0.5)
        vtn.kill()  # SIGKILL: no shutdown, rows mid-retry or leased
        assert receiver.got == []
        receiver.fail_with = None
        vtn.start()  # same database
        got = await receiver.wait_for(len(names), timeout=20)
        assert [g.json()["object"]["eventName"] for g in got] == names
        assert len({g.headers["X-Notification-ID"] for g in got}) == len(names)
    finally:
        vtn.kill()


async def test_two_processes_share_the_outbox_and_lose_nothing_when_one_dies(
    tmp_path: Path, receiver: Receiver, pg_url: str
) -> None:
    db = pg_url
    env = lab_env(**FAST_RETRY)
    one = VtnProcess(db, tmp_path / "one.log", env)
    two = VtnProcess(db, tmp_path / "two.log", env)
    url = await receiver.start()
    try:
        one.start()
        two.start()
        await asyncio.gather(one.ready(), two.ready())
        bl = add_client(db, "bl", "bl")
        subscribers = await add_clients_here(db, Role.VEN, [f"ven{i}" for i in range(20)])
        for i, creds in enumerate(subscribers):
            await _subscribe(one.base if i % 2 else two.base, creds, url, f"ven{i}")
        names = [f"e{i}" for i in range(10)]
        await _events(one.base, bl, names)
        await asyncio.sleep(0.3)
        two.kill()  # dies while both are delivering
        expected = len(names) * len(subscribers)
        got = await receiver.wait_for(expected, timeout=30)
        ids = [g.headers["X-Notification-ID"] for g in got]
        assert len(set(ids)) == expected  # every notification arrived
        # At least once: only rows the dead process had leased can come twice.
        assert len(ids) - len(set(ids)) <= 20 * 2
        per_sub: dict[str, list[str]] = {}
        for g in got:
            per_sub.setdefault(g.headers["Authorization"], []).append(g.json()["object"]["eventName"])
        for events in per_sub.values():
            deduped = list(dict.fromkeys(events))
            assert deduped == names  # in order per subscription
    finally:
        one.kill()
        two.kill()


pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
