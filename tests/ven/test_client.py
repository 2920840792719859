"""VtnClient against the real VTN app: auth and refresh, CRUD as BL and VEN, paging, helpers, errors."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.serialization import Encoding
from support.harness import BASE, Vtn
from support.receiver import Receiver

from shared.enums import ObjectType, Operation, Role
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    SchemaViolation,
    ServerError,
    Unauthorized,
)
from shared.models import (
    EventRequest,
    Interval,
    IntervalPeriod,
    ObjectOperation,
    ProgramRequest,
    ReportRequest,
    ReportResource,
    ResourceRequest,
    SubscriptionRequest,
    ValuesMap,
    Ven,
    VenRequest,
)
from shared.models.ven import BL_RESOURCE_REQUEST, BL_VEN_REQUEST, VEN_RESOURCE_REQUEST, VEN_VEN_REQUEST
from shared.tls import client_ssl_context, load_certificate, server_ssl_context
from ven.client import MAX_PAGE_SIZE, VtnClient, VtnUnavailable, error_from_response
from vtn.app import build_app
from vtn.auth.tokens import TokenService
from vtn.config import VtnConfig
from vtn.pki import CertificateAuthority
from vtn.storage import open_store

TTL = 3600  # VtnConfig.token_ttl_seconds default


def base_url(vtn: Vtn) -> str:
    return str(vtn.client.make_url(BASE))


async def credentials(vtn: Vtn, name: str, role: Role) -> tuple[str, str]:
    async with vtn.store.transaction() as tx:
        new = await tx.clients.add(name, role)
    return new.record.client_id, new.secret


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Traced:
    """A session that counts requests by (method, last path segment)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._start)
        self.session = aiohttp.ClientSession(trace_configs=[trace])

    async def _start(self, _s: aiohttp.ClientSession, _c: SimpleNamespace, p: Any) -> None:
        self.calls[(p.method, p.url.path.rsplit("/", 1)[-1])] += 1


async def connect(vtn: Vtn, name: str, role: Role, **kw: Any) -> VtnClient:
    client_id, secret = await credentials(vtn, name, role)
    return VtnClient(base_url(vtn), client_id=client_id, client_secret=secret, **kw)


@pytest.fixture
async def bl_c(vtn: Vtn) -> AsyncIterator[VtnClient]:
    async with await connect(vtn, "bl", Role.BL) as c:
        yield c


@pytest.fixture
async def ven_c(vtn: Vtn) -> AsyncIterator[VtnClient]:
    async with await connect(vtn, "ven-a", Role.VEN) as c:
        yield c


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    t = Traced()
    yield t
    await t.session.close()


def prices(program_id: str, name: str | None = None, start: str = "2030-01-01T00:00:00Z") -> EventRequest:
    return EventRequest(
        program_id=program_id,
        event_name=name,
        interval_period=IntervalPeriod(start=datetime.fromisoformat(start), duration="PT1H"),
        intervals=[Interval(id=0, payloads=[ValuesMap(type="PRICE", values=[0.25])])],
    )


def usage(event_id: str, value: float = 1.5) -> ReportRequest:
    interval = Interval(id=0, payloads=[ValuesMap(type="USAGE", values=[value])])
    return ReportRequest(
        event_id=event_id,
        client_name="gateway-1",
        resources=[ReportResource(resource_name="charger-1", intervals=[interval])],
    )


# -- auth ------------------------------------------------------------------------------------------


async def test_token_is_discovered_fetched_once_and_cached(vtn: Vtn, traced: Traced) -> None:
    async with await connect(vtn, "bl", Role.BL, session=traced.session) as c:
        assert await c.auth_server() == base_url(vtn) + "/auth/token"
        assert await c.list_programs() == []
        assert await c.list_events() == []
    assert traced.calls[("GET", "server")] == 2  # discovery, then auth_server()
    assert traced.calls[("POST", "token")] == 1
    assert not traced.session.closed  # an injected session is left open


async def test_token_refreshed_at_80_percent_of_expires_in(vtn: Vtn, traced: Traced) -> None:
    clock = Clock()
    async with await connect(vtn, "bl", Role.BL, session=traced.session, clock=clock) as c:
        await c.list_programs()
        clock.now += 0.79 * TTL
        await c.list_programs()
        assert traced.calls[("POST", "token")] == 1
        clock.now += 0.02 * TTL
        await c.list_programs()
        assert traced.calls[("POST", "token")] == 2
    assert traced.calls[("GET", "programs")] == 3


async def test_concurrent_requests_share_one_token_fetch(vtn: Vtn, traced: Traced) -> None:
    async with await connect(vtn, "bl", Role.BL, session=traced.session) as c:
        await asyncio.gather(*(c.list_programs() for _ in range(5)))
    assert traced.calls[("POST", "token")] == 1


async def test_401_is_retried_once_with_a_fresh_token(vtn: Vtn, traced: Traced) -> None:
    client_id, secret = await credentials(vtn, "bl", Role.BL)
    async with vtn.store.read() as tx:
        key = await tx.clients.signing_key()
    expired = TokenService(key, ttl_seconds=-10, clock=vtn.store.clock).issue(client_id, Role.BL).access_token
    c = VtnClient(
        base_url(vtn), client_id=client_id, client_secret=secret, token=expired, session=traced.session
    )
    async with c:
        assert await c.list_programs() == []
        assert await c.list_programs() == []
    assert traced.calls[("GET", "programs")] == 3  # 401, retry, then the cached fresh token
    assert traced.calls[("POST", "token")] == 1


async def test_fixed_token_is_used_as_is_and_never_refreshed(vtn: Vtn, traced: Traced) -> None:
    api = await vtn.login("bl", Role.BL)
    clock = Clock()
    async with VtnClient(base_url(vtn), token=api.token, session=traced.session, clock=clock) as c:
        clock.now += 10 * TTL
        assert await c.list_programs() == []
    async with VtnClient(base_url(vtn), token="not-a-jwt", session=traced.session) as c:
        with pytest.raises(Unauthorized):
            await c.list_programs()
    assert traced.calls[("GET", "programs")] == 2  # no retry without credentials
    assert traced.calls[("POST", "token")] == 0


async def test_wrong_secret_is_unauthorized(vtn: Vtn) -> None:
    client_id, _ = await credentials(vtn, "bl", Role.BL)
    async with VtnClient(base_url(vtn), client_id=client_id, client_secret="wrong") as c:
        with pytest.raises(Unauthorized, match="unknown client or wrong secret"):
            await c.list_programs()


async def test_explicit_token_url_skips_discovery(vtn: Vtn, traced: Traced) -> None:
    token_url = base_url(vtn) + "/auth/token"
    async with await connect(vtn, "bl", Role.BL, session=traced.session, token_url=token_url) as c:
        await c.get_notifiers()
    assert traced.calls[("GET", "server")] == 0 and traced.calls[("POST", "token")] == 1


@pytest.fixture
async def bare_server() -> AsyncIterator[tuple[str, list[str]]]:
    """Not our VTN: no /auth/server, a token without expires_in, and a malformed program list."""
    seen: list[str] = []

    async def token(request: web.Request) -> web.Response:
        seen.append(f"token {(await request.post())['grant_type']}")
        return web.json_response({"access_token": "tok", "token_type": "Bearer"})

    async def programs(request: web.Request) -> web.Response:
        seen.append(f"programs {request.headers['Authorization']}")
        return web.json_response([{"programName": "no metadata"}])

    app = web.Application()
    app.router.add_post("/api/auth/token", token)
    app.router.add_get("/api/programs", programs)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/api")), seen
    await server.close()


async def test_token_url_falls_back_and_bad_documents_are_server_errors(
    bare_server: tuple[str, list[str]],
) -> None:
    url, seen = bare_server
    async with VtnClient(url, client_id="a", client_secret="b") as c:
        with pytest.raises(ServerError, match="invalid Program"):
            await c.list_programs()
        with pytest.raises(ServerError, match="invalid Program"):
            await c.list_programs()
    assert seen == ["token client_credentials", "programs Bearer tok", "programs Bearer tok"]


def test_constructor_needs_credentials_or_token() -> None:
    with pytest.raises(ValueError):
        VtnClient("http://127.0.0.1:1/x")
    with pytest.raises(ValueError):
        VtnClient("http://127.0.0.1:1/x", client_id="only-id")


# -- resources -------------------------------------------------------------------------------------


async def test_programs_crud_as_bl_and_read_as_ven(bl_c: VtnClient, ven_c: VtnClient) -> None:
    created = await bl_c.create_program(ProgramRequest(program_name="tariff-1"))
    assert created.program_name == "tariff-1" and created.id
    assert await bl_c.get_program(created.id) == created
    updated = await bl_c.update_program(created.id, ProgramRequest(program_name="tariff-2", targets=["g1"]))
    assert updated.id == created.id and updated.program_name == "tariff-2" and updated.targets == ["g1"]
    assert [p.id for p in await ven_c.list_programs(targets=["g1"])] == []  # targets not granted
    other = await bl_c.create_program(ProgramRequest(program_name="open"))
    assert [p.id for p in await ven_c.list_programs()] == [other.id]
    assert (await ven_c.get_program(other.id)).program_name == "open"
    with pytest.raises(Forbidden):
        await ven_c.create_program(ProgramRequest(program_name="mine"))
    assert (await bl_c.delete_program(created.id)).id == created.id
    assert [p.id for p in await bl_c.list_programs()] == [other.id]


async def test_events_crud_as_bl_and_read_as_ven(vtn: Vtn, bl_c: VtnClient, ven_c: VtnClient) -> None:
    p1 = await bl_c.create_program(ProgramRequest(program_name="p1"))
    p2 = await bl_c.create_program(ProgramRequest(program_name="p2"))
    future = await bl_c.create_event(prices(p1.id, "future"))
    past = await bl_c.create_event(prices(p1.id, "past", start="2001-01-01T00:00:00Z"))
    in_p2 = await bl_c.create_event(prices(p2.id, "other"))
    assert future.interval_period is not None
    assert future.interval_period.start == datetime(2030, 1, 1, tzinfo=UTC)
    assert [e.id for e in await bl_c.list_events(p1.id)] == [future.id, past.id]
    assert [e.id for e in await ven_c.list_events(p1.id, active=True)] == [future.id]
    assert [e.id for e in await ven_c.list_events(active=False)] == [future.id, past.id, in_p2.id]
    assert (await ven_c.get_event(past.id)).event_name == "past"
    changed = await bl_c.update_event(future.id, prices(p1.id, "renamed").model_copy(update={"priority": 1}))
    assert changed.event_name == "renamed" and changed.priority == 1
    with pytest.raises(Forbidden):
        await ven_c.delete_event(past.id)
    assert (await bl_c.delete_event(past.id)).id == past.id
    with pytest.raises(NotFound):
        await bl_c.get_event(past.id)


async def test_reports_crud_as_ven_and_read_as_bl(vtn: Vtn, bl_c: VtnClient, ven_c: VtnClient) -> None:
    program = await bl_c.create_program(ProgramRequest(program_name="p"))
    event = await bl_c.create_event(prices(program.id))
    report = await ven_c.create_report(usage(event.id))
    assert report.event_id == event.id and report.client_id
    assert (await ven_c.get_report(report.id)).resources[0].resource_name == "charger-1"
    updated = await ven_c.update_report(report.id, usage(event.id, value=2.5))
    assert updated.resources[0].intervals[0].payloads[0].values == [2.5]
    assert [r.id for r in await bl_c.list_reports(event_id=event.id)] == [report.id]
    assert [r.id for r in await bl_c.list_reports(program.id, client_name="gateway-1")] == [report.id]
    assert await bl_c.list_reports(client_name="someone-else") == []
    other_ven = await connect(vtn, "ven-b", Role.VEN)
    async with other_ven:
        assert await other_ven.list_reports() == []
        with pytest.raises(NotFound):
            await other_ven.get_report(report.id)
    assert (await ven_c.delete_report(report.id)).id == report.id
    assert await bl_c.list_reports() == []


async def test_vens_crud_as_ven_and_bl(vtn: Vtn, bl_c: VtnClient, ven_c: VtnClient) -> None:
    mine = await ven_c.create_ven(VenRequest(object_type=VEN_VEN_REQUEST, ven_name="gw-1", id="gw-1"))
    gw1 = mine.id  # assigned by the VTN from our key (docs/security.md)
    assert gw1.startswith("gw-1-") and mine.targets is None
    ven_b_id, _ = await credentials(vtn, "ven-b", Role.VEN)
    theirs = await bl_c.create_ven(
        VenRequest(object_type=BL_VEN_REQUEST, ven_name="gw-2", client_id=ven_b_id, targets=["g1"])
    )
    assert theirs.client_id == ven_b_id and theirs.targets == ["g1"]
    assert [v.id for v in await ven_c.list_vens()] == [gw1]
    assert [v.id for v in await bl_c.list_vens(targets=["g1"])] == [theirs.id]
    assert [v.id for v in await bl_c.list_vens("gw-1")] == [gw1]
    attrs = [ValuesMap(type="X_SITE", values=["north"])]
    renamed = await ven_c.update_ven(
        gw1, VenRequest(object_type=VEN_VEN_REQUEST, ven_name="gw-1b", attributes=attrs)
    )
    assert renamed.ven_name == "gw-1b" and renamed.attributes == attrs
    assert (await ven_c.get_ven(gw1)).ven_name == "gw-1b"
    with pytest.raises(NotFound):
        await ven_c.get_ven(theirs.id)
    with pytest.raises(Forbidden):
        await ven_c.create_ven(VenRequest(object_type=BL_VEN_REQUEST, ven_name="x", client_id="y"))
    assert (await ven_c.delete_ven(gw1)).id == gw1
    assert (await bl_c.delete_ven(theirs.id)).id == theirs.id
    assert await bl_c.list_vens() == []


async def test_resources_crud_as_ven_and_bl(vtn: Vtn, bl_c: VtnClient, ven_c: VtnClient) -> None:
    gw1 = (await ven_c.create_ven(VenRequest(object_type=VEN_VEN_REQUEST, ven_name="gw-1", id="gw-1"))).id
    res = await ven_c.create_resource(
        ResourceRequest(object_type=VEN_RESOURCE_REQUEST, resource_name="charger-1", ven_id=gw1, id="ch-1")
    )
    ch1 = res.id
    assert ch1.startswith("ch-1-") and res.ven_id == gw1
    assert (await ven_c.get_resource(ch1)).resource_name == "charger-1"
    granted = await bl_c.update_resource(
        ch1,
        ResourceRequest(
            object_type=BL_RESOURCE_REQUEST,
            resource_name="charger-1",
            ven_id=gw1,
            client_id=res.client_id,
            targets=["g7"],
        ),
    )
    assert granted.targets == ["g7"]
    assert [r.id for r in await bl_c.list_resources(ven_id=gw1, targets=["g7"])] == [ch1]
    assert [r.id for r in await ven_c.list_resources("charger-1")] == [ch1]
    assert await ven_c.list_resources("other") == []
    assert (await ven_c.delete_resource(ch1)).id == ch1
    with pytest.raises(NotFound):
        await bl_c.get_resource(ch1)


@pytest.fixture
async def lab_vtn(db_url: str) -> AsyncIterator[Vtn]:
    """A VTN that accepts plain-HTTP loopback callbacks (the echo challenge stays on)."""
    store = open_store(db_url)
    overrides = {"db_url": db_url, "webhook_require_https": False, "webhook_allow_private": True}
    app = await build_app(VtnConfig.load(env={}, overrides=overrides), store)
    async with TestClient(TestServer(app)) as client:
        yield Vtn(client, store)
    await store.close()


async def test_subscriptions_crud_and_deliveries(lab_vtn: Vtn) -> None:
    receiver = Receiver()
    hook = await receiver.start()
    try:
        async with (
            await connect(lab_vtn, "bl", Role.BL) as bl_c,
            await connect(lab_vtn, "ven-a", Role.VEN) as ven_c,
        ):
            program = await bl_c.create_program(ProgramRequest(program_name="p"))
            op = ObjectOperation(objects=[ObjectType.EVENT], operations=[Operation.CREATE], callback_url=hook)
            req = SubscriptionRequest(
                client_name="ven", program_id=program.id, object_operations=[op], secret="s3cret"
            )
            sub = await ven_c.create_subscription(req)
            assert sub.client_id and sub.program_id == program.id and sub.secret is None
            async with lab_vtn.store.read() as tx:
                assert await tx.subscriptions.secret_of(sub.id) == "s3cret"  # the write-only field was sent
            assert (await ven_c.get_subscription(sub.id)).object_operations[0].callback_url == hook
            assert [s.id for s in await ven_c.list_subscriptions(objects=[ObjectType.EVENT])] == [sub.id]
            assert await ven_c.list_subscriptions(objects=[ObjectType.REPORT]) == []
            assert [s.id for s in await bl_c.list_subscriptions(program.id, "ven")] == [sub.id]
            op2 = op.model_copy(update={"operations": [Operation.CREATE, Operation.UPDATE]})
            changed = await ven_c.update_subscription(
                sub.id, req.model_copy(update={"object_operations": [op2]})
            )
            assert changed.object_operations[0].operations == [Operation.CREATE, Operation.UPDATE]
            log = await ven_c.deliveries(sub.id, limit=10)
            assert log["subscriptionID"] == sub.id and set(log) >= {"health", "attempts"}
            assert (await ven_c.delete_subscription(sub.id)).id == sub.id
            with pytest.raises(NotFound):
                await ven_c.deliveries(sub.id)
    finally:
        await receiver.stop()


async def test_notifiers(ven_c: VtnClient) -> None:
    assert (await ven_c.get_notifiers())["WEBHOOK"] is True


# -- paging ----------------------------------------------------------------------------------------


async def test_iter_pages_through_more_than_one_page(bl_c: VtnClient) -> None:
    names = [f"p{i:03d}" for i in range(2 * MAX_PAGE_SIZE + 7)]
    for name in names:
        await bl_c.create_program(ProgramRequest(program_name=name))
    assert len(await bl_c.list_programs()) == MAX_PAGE_SIZE
    assert [p.program_name for p in await bl_c.list_programs(skip=100, limit=5)] == names[100:105]
    assert [p.program_name async for p in bl_c.iter_programs()] == names
    assert [p.program_name async for p in bl_c.iter_programs(page_size=9)] == names
    with pytest.raises(BadRequest, match="limit"):
        await bl_c.list_programs(limit=MAX_PAGE_SIZE + 1)
    with pytest.raises(ValueError):
        [p async for p in bl_c.iter_programs(page_size=MAX_PAGE_SIZE + 1)]


async def test_iter_events_and_vens_end_on_an_exact_page(bl_c: VtnClient, ven_c: VtnClient) -> None:
    program = await bl_c.create_program(ProgramRequest(program_name="p"))
    for i in range(MAX_PAGE_SIZE):
        await bl_c.create_event(prices(program.id, f"e{i}"))
    assert len([e async for e in ven_c.iter_events(program.id)]) == MAX_PAGE_SIZE
    assert [e async for e in ven_c.iter_events("no-such-program")] == []
    assert [v async for v in ven_c.iter_vens()] == []


# -- idempotent helpers ----------------------------------------------------------------------------


async def test_ensure_ven_twice_gives_one_ven(vtn: Vtn, ven_c: VtnClient) -> None:
    first = await ven_c.ensure_ven("gw-1")
    again = await ven_c.ensure_ven("gw-1")
    assert again.id == first.id and again.modification_date_time == first.modification_date_time
    assert await vtn.count("vens") == 1
    # The id is the VTN's, assigned from our key: found again by name, whatever key is sent.
    with_id = await ven_c.ensure_ven("gw-2", ven_id="gw-2-id")
    assert with_id.id.startswith("gw-2-id-")
    assert (await ven_c.ensure_ven("gw-2", ven_id="gw-2-id")).id == with_id.id
    assert (await ven_c.ensure_ven("gw-2", ven_id="other-id")).id == with_id.id
    assert await vtn.count("vens") == 2


async def test_ensure_ven_updates_changed_attributes(vtn: Vtn, ven_c: VtnClient) -> None:
    attrs = [ValuesMap(type="X_SITE", values=["north"])]
    first = await ven_c.ensure_ven("gw-1", attributes=attrs)
    assert first.attributes == attrs
    same = await ven_c.ensure_ven("gw-1", attributes=attrs)
    assert same.modification_date_time == first.modification_date_time
    moved = await ven_c.ensure_ven("gw-1", attributes=[ValuesMap(type="X_SITE", values=["south"])])
    assert moved.id == first.id and moved.attributes is not None and moved.attributes[0].values == ["south"]
    assert (await ven_c.ensure_ven("gw-1")).attributes == moved.attributes  # None leaves them alone
    assert await vtn.count("vens") == 1


async def test_ensure_ven_race_reads_back_after_409(vtn: Vtn, ven_c: VtnClient) -> None:
    results = await asyncio.gather(*(ven_c.ensure_ven("gw-1") for _ in range(4)))
    assert len({v.id for v in results}) == 1
    assert await vtn.count("vens") == 1


async def test_ensure_ven_409_on_create_reads_the_winner_back(
    vtn: Vtn, ven_c: VtnClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = await ven_c.create_ven(VenRequest(object_type=VEN_VEN_REQUEST, ven_name="gw-1"))
    real = ven_c.list_vens
    calls: list[str | None] = []

    async def first_miss(ven_name: str | None = None, **kw: Any) -> list[Ven]:
        calls.append(ven_name)  # the first look misses, as if the winner committed just after it
        return [] if len(calls) == 1 else await real(ven_name, **kw)

    monkeypatch.setattr(ven_c, "list_vens", first_miss)
    assert (await ven_c.ensure_ven("gw-1")).id == winner.id
    assert calls == ["gw-1", "gw-1"] and await vtn.count("vens") == 1


async def test_ensure_ven_name_taken_by_another_client_is_conflict(vtn: Vtn, ven_c: VtnClient) -> None:
    async with await connect(vtn, "ven-b", Role.VEN) as other:
        await other.ensure_ven("gw-1")
    with pytest.raises(Conflict):
        await ven_c.ensure_ven("gw-1")


async def test_ensure_resource_creates_then_updates_in_place(vtn: Vtn, ven_c: VtnClient) -> None:
    ven = await ven_c.ensure_ven("gw-1")
    first = await ven_c.ensure_resource(ven.id, "charger-1")
    assert (await ven_c.ensure_resource(ven.id, "charger-1")).id == first.id
    attrs = [ValuesMap(type="X_MAX_KW", values=[11.0])]
    updated = await ven_c.ensure_resource(ven.id, "charger-1", attributes=attrs)
    assert updated.id == first.id and updated.attributes == attrs
    unchanged = await ven_c.ensure_resource(ven.id, "charger-1", attributes=attrs)
    assert unchanged.modification_date_time == updated.modification_date_time
    named = await ven_c.ensure_resource(ven.id, "battery-1", resource_id="bat-1")
    assert named.id.startswith("bat-1-") and (await ven_c.ensure_resource(ven.id, "battery-1")).id == named.id
    assert (await ven_c.ensure_resource(ven.id, "battery-1", resource_id="bat-2")).id == named.id
    assert await vtn.count("resources") == 2
    with pytest.raises(NotFound, match="venID"):
        await ven_c.ensure_resource("no-such-ven", "charger-1")


async def test_ensure_resource_race(vtn: Vtn, ven_c: VtnClient) -> None:
    ven = await ven_c.ensure_ven("gw-1")
    results = await asyncio.gather(*(ven_c.ensure_resource(ven.id, "charger-1") for _ in range(4)))
    assert len({r.id for r in results}) == 1
    assert await vtn.count("resources") == 1


# -- errors ----------------------------------------------------------------------------------------


async def test_error_mapping(bl_c: VtnClient, ven_c: VtnClient) -> None:
    with pytest.raises(NotFound) as not_found:
        await bl_c.get_program("no-such-program")
    assert not_found.value.status == 404
    await bl_c.create_program(ProgramRequest(program_name="taken"))
    with pytest.raises(Conflict):
        await bl_c.create_program(ProgramRequest(program_name="taken"))
    with pytest.raises(SchemaViolation) as bad:
        await bl_c.create_program(ProgramRequest(program_name="x" * 200))
    assert bad.value.pointer == "/programName"
    with pytest.raises(BadRequest) as no_program:
        await bl_c.create_event(prices("no-such-program"))
    assert no_program.value.pointer == "/programID"
    with pytest.raises(Forbidden, match="write_programs"):
        await ven_c.create_program(ProgramRequest(program_name="mine"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_vtn_raises_vtn_unavailable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}{BASE}"
    async with VtnClient(url, client_id="a", client_secret="b") as c:
        with pytest.raises(VtnUnavailable) as exc:
            await c.list_programs()
    assert not isinstance(exc.value, Unauthorized) and exc.value.url.startswith(url)
    async with VtnClient(url, token="t", timeout=2) as c:
        with pytest.raises(VtnUnavailable):
            await c.get_event("e")


@dataclass
class TlsVtn:
    url: str
    ca_file: Path
    cert_sha256: bytes
    client_id: str
    secret: str


@pytest.fixture
async def tls_vtn(db_url: str, tmp_path: Path) -> AsyncIterator[TlsVtn]:
    """The VTN over HTTPS with a certificate from a fresh CA, and one VEN's credentials."""
    ca = CertificateAuthority.init(tmp_path / "ca")
    cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
    (tmp_path / "server.crt").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    store = open_store(db_url)
    server = TestServer(await build_app(VtnConfig(db_url=db_url), store), host="127.0.0.1")
    await server.start_server(ssl=server_ssl_context(tmp_path / "server.crt", tmp_path / "server.key"))
    async with store.transaction() as tx:
        new = await tx.clients.add("ven-tls", Role.VEN)
    der = load_certificate(cert_pem).public_bytes(Encoding.DER)
    try:
        yield TlsVtn(
            str(server.make_url(BASE)),
            ca.cert_path,
            hashlib.sha256(der).digest(),
            new.record.client_id,
            new.secret,
        )
    finally:
        await server.close()
        await store.close()


async def test_tls_with_ca_context_or_fingerprint(tls_vtn: TlsVtn) -> None:
    creds = {"client_id": tls_vtn.client_id, "client_secret": tls_vtn.secret}
    assert tls_vtn.url.startswith("https://")
    for ssl in (client_ssl_context(ca_file=tls_vtn.ca_file), aiohttp.Fingerprint(tls_vtn.cert_sha256)):
        async with VtnClient(tls_vtn.url, ssl=ssl, **creds) as c:
            assert (await c.auth_server()).startswith("https://")
            assert (await c.ensure_ven("gw-tls")).ven_name == "gw-tls"
    async with VtnClient(tls_vtn.url, **creds) as c:  # the system trust store does not know our CA
        with pytest.raises(VtnUnavailable, match="certificate"):
            await c.list_vens()


def test_error_from_response_shapes() -> None:
    url = "http://vtn/x"
    gateway = error_from_response(503, b"<html>down</html>", url)
    assert isinstance(gateway, VtnUnavailable) and gateway.status == 503
    oauth = error_from_response(400, b'{"error":"invalid_client","error_description":"no"}', url)
    assert isinstance(oauth, Unauthorized) and str(oauth) == "no"
    odd = error_from_response(405, b'{"title":"Method Not Allowed","status":405}', url)
    assert type(odd) is BadRequest and "HTTP 405" in str(odd)
    crash = error_from_response(500, b'{"title":"Internal Server Error","detail":"reference ab"}', url)
    assert isinstance(crash, ServerError) and crash.detail == "reference ab"
