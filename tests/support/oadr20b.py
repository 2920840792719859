"""2.0b test support: a VTN with the 2.0b routes, BL, a VEN made of our own codec, and shared steps."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from shared.enums import Role
from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from support.harness import Api, Vtn
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.oadr20b.routes import SERVICE, add_routes
from vtn.oadr20b.service import Oadr20bService
from vtn.oadr20b.settings import PREFIX, Oadr20bSettings
from vtn.storage import open_store

LAB_CONFIG: dict[str, Any] = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "webhook_echo_challenge": False,
    "delivery_worker": False,
}
SIDE_TABLES = (
    "oadr20b_registrations",
    "oadr20b_event_versions",
    "oadr20b_deliveries",
    "oadr20b_opts",
    "oadr20b_report_metadata",
    "oadr20b_report_requests",
    "oadr20b_outbox",
)


def lab_config(db_url: str) -> VtnConfig:
    known = {f.name for f in dataclasses.fields(VtnConfig)}
    return VtnConfig(db_url=db_url, **{k: v for k, v in LAB_CONFIG.items() if k in known})


@dataclass
class Ven20:
    """A 2.0b VEN made of our own codec over the test client."""

    client: TestClient[Any, Any]
    codec: Oadr20bCodec

    async def raw(
        self, service: str, data: bytes, content_type: str = "application/xml"
    ) -> tuple[str, bytes]:
        resp = await self.client.post(
            f"{PREFIX}/{service}", data=data, headers={"Content-Type": content_type}
        )
        assert resp.status == 200, await resp.text()
        return resp.content_type, await resp.read()

    async def send(self, msg: m.Message, service: str | None = None) -> m.Message:
        _, body = await self.raw(service or msg.SERVICE, self.codec.build(msg))
        return self.codec.parse(body)


@dataclass
class Lab:
    vtn: Vtn
    bl: Api
    ven: Ven20
    service: Oadr20bService

    async def count(self, *tables: str) -> dict[str, int]:
        return {t: await self.vtn.count(t) for t in tables}


async def make_lab(db_url: str, codec: Oadr20bCodec, settings: Oadr20bSettings) -> AsyncIterator[Lab]:
    store = open_store(db_url)
    try:
        app = await build_app(lab_config(db_url), store)
        add_routes(app, settings, codec.schema)
        async with TestClient(TestServer(app)) as client:
            vtn = Vtn(client, store)
            bl = await vtn.login("bl", Role.BL)
            yield Lab(vtn, bl, Ven20(client, codec), app[SERVICE])
    finally:
        await store.close()


# ----------------------------------------------------------------------------- shared steps


async def bl_ven(lab: Lab, name: str, targets: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"objectType": "BL_VEN_REQUEST", "venName": name, "clientID": f"client-{name}"}
    if targets is not None:
        body["targets"] = targets
    resp = await lab.bl.post("/vens", json=body)
    assert resp.status == 201, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def bl_program(lab: Lab, name: str = "p1") -> str:
    resp = await lab.bl.post("/programs", json={"programName": name})
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


def event_body(
    program_id: str,
    *,
    start: datetime | None = None,
    payload: str = "PRICE",
    values: tuple[float, ...] = (0.25,),
    targets: list[str] | None = None,
) -> dict[str, Any]:
    begin = start or datetime.now(UTC) + timedelta(hours=1)
    body: dict[str, Any] = {
        "programID": program_id,
        "eventName": "evening peak",
        "intervalPeriod": {"start": begin.isoformat().replace("+00:00", "Z"), "duration": "PT30M"},
        "intervals": [
            {"id": i, "payloads": [{"type": payload, "values": [v]}]} for i, v in enumerate(values)
        ],
    }
    if targets is not None:
        body["targets"] = targets
    return body


async def bl_event(lab: Lab, program_id: str, **kw: Any) -> dict[str, Any]:
    resp = await lab.bl.post("/events", json=event_body(program_id, **kw))
    assert resp.status == 201, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def register(lab: Lab, name: str) -> m.CreatedPartyRegistration:
    answer = await lab.ven.send(m.CreatePartyRegistration(request_id="reg-1", ven_name=name))
    assert isinstance(answer, m.CreatedPartyRegistration)
    assert answer.response.code == 200, answer.response
    return answer
