"""Report intake workers (vtn/intake): real worker processes, same results as the in-process path."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.api_data import create, event, ok_json, problem, program, report, twenty_reports_two_bad
from support.harness import Api, Vtn
from support.receiver import Receiver

from shared.enums import Role
from shared.errors import OadrError
from shared.models import ReportRequest
from shared.models.common import ClientId
from shared.validation import SchemaRegistry
from shared.wire import oadr3_json
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.core.ids import assigned_id
from vtn.intake import frames, pool, worker
from vtn.intake.pool import IntakePool
from vtn.principal import Principal
from vtn.services.reports import prepare_report
from vtn.storage import open_store, random_uuid

NOW = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
CLIENT_A = Principal(ClientId("client-a"), Role.VEN, frozenset())
C = Principal(ClientId("c"), Role.VEN, frozenset())


def _bodies() -> list[dict[str, Any]]:
    base = report("ev-1")
    unusual = report("ev-1", id="client-chosen-1")
    unusual["reportName"] = "Zähler ☀ \u2028"  # json.dumps escapes these: the answer must match it
    unusual["resources"][0]["intervals"][0]["payloads"][0]["values"] = [1e-7]  # pydantic: 1e-7
    return [base, unusual]


@pytest.fixture
async def intake() -> AsyncIterator[IntakePool]:
    ids = iter(f"id-{i}" for i in range(1000))
    p = IntakePool(1, SchemaRegistry(), lambda: next(ids), lambda: NOW)
    await p.start()
    yield p
    await p.close()


async def test_a_worker_prepares_what_this_process_would(intake: IntakePool) -> None:
    registry = SchemaRegistry()
    for i, doc in enumerate(_bodies()):
        body = json.dumps(doc).encode()
        got = await intake.prepare(body, CLIENT_A)
        req = oadr3_json.decode(registry, "reportRequest", ReportRequest, body)
        expected = prepare_report(req, f"id-{i}", NOW, "client-a", "client-a")
        assert got == expected  # same id, columns and document, byte for byte
        if doc.get("id"):  # a VEN's chosen id is a key: the worker assigns the id as this process does
            assert (
                got.id.startswith("client-chosen-1-")
                and got.id != prepare_report(req, "x", NOW, "client-a", "client-b").id
            )
        # The answer equals what encoding the typed report gives (json.dumps spelling included).
        assert oadr3_json.encode_stored(got.doc, got.model) == oadr3_json.encode(expected.model())
    assert intake.live_workers == 1


async def test_the_time_keeps_its_offset(intake: IntakePool) -> None:
    local = datetime(2026, 11, 26, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    intake._clock = lambda: local  # type: ignore[method-assign]
    got = await intake.prepare(json.dumps(report("ev-1")).encode(), C)
    assert got.created == local and got.model().created_date_time == local


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        json.dumps({**report("ev-1"), "resources": "none"}).encode(),
        json.dumps(report("ev-1") | {"eventID": ""}).encode(),
        b'{"eventID": "e", "clientName": "c", "resources": [{"resourceName": "r", "intervals": '
        b'[{"id": 0, "payloads": [{"type": "USAGE", "values": ["not a number"]}]}]}]}',
    ],
)
async def test_an_invalid_body_fails_exactly_as_in_process(intake: IntakePool, body: bytes) -> None:
    with pytest.raises(OadrError) as in_process:
        oadr3_json.decode(SchemaRegistry(), "reportRequest", ReportRequest, body)
    with pytest.raises(OadrError) as by_intake:
        await intake.prepare(body, CLIENT_A)
    assert type(by_intake.value) is type(in_process.value)
    assert (by_intake.value.detail, by_intake.value.pointer) == (
        in_process.value.detail,
        in_process.value.pointer,
    )


async def test_a_killed_worker_loses_no_request_and_comes_back(
    intake: IntakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "RESTART_DELAY_S", 0.05)
    body = json.dumps(report("ev-1")).encode()
    worker = intake._workers[0]
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    await worker.wait()
    answers = await asyncio.gather(*(intake.prepare(body, C) for _ in range(20)))
    assert len({a.id for a in answers}) == 20  # decoded here meanwhile, each with its own id
    for _ in range(100):
        if intake.live_workers == 1 and intake._workers[0] is not worker:
            break
        await asyncio.sleep(0.05)
    assert intake.live_workers == 1 and intake._workers[0] is not worker
    assert (await intake.prepare(body, C)).event_id == "ev-1"


def test_frames_round_trip() -> None:
    for scope in ("c1", None):
        req = frames.IntakeRequest("r1", NOW.isoformat(), "c1", b'{"a":\n1}', scope)
        encoded = frames.encode_request(req)
        assert frames.decode_request(encoded[frames.HEADER.size :]) == req
    for reply in (
        frames.IntakeReply(False, "r1", "e1", "n\u00e9", '{"x":"\u2028"}'),
        frames.IntakeReply(True),
        frames.IntakeReply(False, failure="KeyError: 'x'"),
    ):
        assert frames.decode_reply(frames.encode_reply(reply)[frames.HEADER.size :]) == reply


class _Trickle(io.BytesIO):
    """A pipe that hands over at most `step` bytes per read, so frames arrive split and merged."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self._step = step

    def read1(self, size: int = -1) -> bytes:
        return super().read1(self._step)


@pytest.mark.parametrize("step", [1, 7, 1 << 20])
def test_the_worker_answers_every_frame_in_order_however_the_pipe_splits_them(step: int) -> None:
    bodies = [json.dumps(doc).encode() for doc in _bodies()] + [b"{"]
    sent = b"".join(
        frames.encode_request(frames.IntakeRequest(f"id-{i}", NOW.isoformat(), "c", body, "c"))
        for i, body in enumerate(bodies)
    )
    out = io.BytesIO()
    worker.serve(_Trickle(sent, step), out)
    answers, rest = [], out.getvalue()
    while rest:
        (size,) = frames.HEADER.unpack_from(rest)
        answers.append(frames.decode_reply(rest[frames.HEADER.size : frames.HEADER.size + size]))
        rest = rest[frames.HEADER.size + size :]
    registry = SchemaRegistry()
    for i, body in enumerate(bodies[:-1]):
        req = oadr3_json.decode(registry, "reportRequest", ReportRequest, body)
        assert answers[i].doc == prepare_report(req, f"id-{i}", NOW, "c", "c").doc
    assert answers[-1] == frames.IntakeReply(True) and len(answers) == len(bodies)


@pytest.mark.parametrize("step", [1, 5, 1 << 20])
async def test_the_serving_process_reads_every_reply_in_order_however_the_pipe_splits_them(step: int) -> None:
    replies = [
        frames.IntakeReply(False, "r1", "e1", "n\u00e9", '{"x":"\u2028"}', True),
        frames.IntakeReply(True),
        frames.IntakeReply(False, "r2", "e2", "n", "{}"),
        frames.IntakeReply(False, failure="KeyError: 'x'"),
    ]
    sent = b"".join(frames.encode_reply(r) for r in replies)
    end = pool._Worker()  # the protocol alone: no process behind it
    loop = asyncio.get_running_loop()
    waiting = [loop.create_future() for _ in replies]
    end._waiting.extend(waiting)
    for at in range(0, len(sent), step):
        end.pipe_data_received(1, sent[at : at + step])
    assert [f.result() for f in waiting] == replies and not end._buffer and end.alive


# ---------------------------------------------------------------------- through the API


@pytest.fixture
async def intake_vtn(db_url: str) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    lab = {"webhook_require_https": False, "webhook_allow_private": True, "intake_workers": 1}
    app = await build_app(VtnConfig.load(env={}, overrides={"db_url": db_url, **lab}), store)
    async with TestClient(TestServer(app)) as client:
        yield Vtn(client, store)
    await store.close()


async def test_reports_through_intake_follow_every_rule(intake_vtn: Vtn) -> None:
    bl = await intake_vtn.login("bl", Role.BL)
    ven = await intake_vtn.login("ven", Role.VEN)
    program_id, bodies = await twenty_reports_two_bad(bl)
    answers = await asyncio.gather(*(ven.post("/reports", json=b) for b in bodies))
    assert sorted(a.status for a in answers) == [201] * 18 + [400, 409]
    assert await intake_vtn.count("reports") == 18
    for answer, body in zip(answers, bodies, strict=True):
        if answer.status == 201:
            made = await answer.json()
            assert made["id"] == assigned_id(ven.client_id, body["id"]) and made["clientID"] == ven.client_id
            assert made["objectType"] == "REPORT" and made["createdDateTime"].endswith("Z")
            assert await ok_json(await ven.get(f"/reports/{made['id']}")) == made
    listed = await ok_json(await ven.get(f"/reports?programID={program_id}"))
    assert len(listed) == 18  # the programID was resolved for the prepared reports too
    await problem(
        await ven.post("/reports", json={"eventID": bodies[0]["eventID"]}), 400, pointer="/clientName"
    )
    await problem(await ven.post("/reports", data=b"{", headers={"Content-Type": "application/json"}), 400)


async def test_a_report_subscriber_hears_of_a_prepared_report(intake_vtn: Vtn) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        bl = await intake_vtn.login("bl", Role.BL)
        ven: Api = await intake_vtn.login("ven", Role.VEN)
        p = await create(bl, "/programs", program("p"))
        e = await create(bl, "/events", event(p["id"]))
        sub = {
            "clientName": "bl",
            "objectOperations": [{"objects": ["REPORT"], "operations": ["CREATE"], "callbackUrl": url}],
        }
        assert (await bl.post("/subscriptions", json=sub)).status == 201
        made = await create(ven, "/reports", report(e["id"]))
        (got,) = await receiver.wait_for(1)
        doc = got.json()
        assert doc["objectType"] == "REPORT" and doc["operation"] == "CREATE"
        assert doc["object"] == made
    finally:
        await receiver.stop()


def test_the_example_config_loads_and_bounds_the_workers() -> None:
    root = Path(__file__).resolve().parents[2]
    config = VtnConfig.load(root / "examples" / "vtn.toml", env={})
    assert config.intake_workers == 1 and config.port == 8080
    assert VtnConfig.load(env={"VTN_INTAKE_WORKERS": "2"}).intake_workers == 2
    with pytest.raises(ValueError, match="intake_workers"):
        VtnConfig.load(env={}, overrides={"intake_workers": -1})


def test_the_store_makes_its_ids_as_uuid4_does() -> None:
    made = [random_uuid() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
