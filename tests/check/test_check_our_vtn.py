"""`ven check` against our own VTN: every check passes (or is skipped for a stated reason)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from support.check import LiveVtn, bl_call, broken_proxy, start_live_vtn
from support.mqtt import SHARED_PORT, port_open, unavailable
from support.oadr20b import Pki20

from ven.check import CheckOptions, Outcome, Protocol, run
from ven.check.reporters import text
from vtn.config import TlsSettings


@pytest.mark.parametrize("protocol", [Protocol.V310, Protocol.V301])
async def test_all_checks_pass_against_our_vtn(live_vtn: LiveVtn, protocol: Protocol) -> None:
    options = CheckOptions(
        vtn=live_vtn.base(protocol.value),
        protocol=protocol,
        client_id=live_vtn.ven.client_id,
        client_secret=live_vtn.ven.secret,
        bl_client_id=live_vtn.bl.client_id,
        bl_client_secret=live_vtn.bl.secret,
        ven2_client_id=live_vtn.ven2.client_id,
        ven2_client_secret=live_vtn.ven2.secret,
        wait_seconds=5,
    )
    result = await run(options)
    print(text(result))
    assert result.ok, text(result)


async def test_all_20b_checks_pass_against_our_vtn(live_vtn: LiveVtn) -> None:
    # 2.0b has no BL API: admission (a ven object named like the VEN) and an event are made through 3.1.
    await bl_call(
        live_vtn,
        "POST",
        "/vens",
        {"objectType": "BL_VEN_REQUEST", "venName": "check-20b", "clientID": "check-20b"},
    )
    program = await bl_call(live_vtn, "POST", "/programs", {"programName": "check-20b-program"})
    start = datetime.now(UTC) - timedelta(minutes=5)
    event = {
        "programID": program["id"],
        "intervalPeriod": {"start": start.isoformat().replace("+00:00", "Z"), "duration": "PT1H"},
        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}],
    }
    await bl_call(live_vtn, "POST", "/events", event)
    options = CheckOptions(
        vtn=live_vtn.root + "/OpenADR2/Simple/2.0b", protocol=Protocol.V20B, client_id="check-20b"
    )
    result = await run(options)
    print(text(result))
    assert result.ok, text(result)
    skipped = {r.check_id for r in result.results if r.outcome is Outcome.SKIP}
    assert skipped == {"2.0b.signatures"}, text(result)


@pytest.fixture
async def mqtt_vtn(sqlite_url: str) -> AsyncIterator[LiveVtn]:
    if not port_open(SHARED_PORT):
        unavailable(f"no MQTT broker at 127.0.0.1:{SHARED_PORT} (start mosquitto to run this test)")
    prefix = f"test-{uuid.uuid4().hex[:12]}/openadr3"
    url = f"mqtt://127.0.0.1:{SHARED_PORT}"
    async for made in start_live_vtn(sqlite_url, mqtt_broker_url=url, mqtt_topic_prefix=prefix):
        yield made


async def test_the_mqtt_check_passes_when_our_vtn_offers_mqtt(mqtt_vtn: LiveVtn) -> None:
    result = await run(
        CheckOptions(
            vtn=mqtt_vtn.base("3.1.0"),
            client_id=mqtt_vtn.ven.client_id,
            client_secret=mqtt_vtn.ven.secret,
            bl_client_id=mqtt_vtn.bl.client_id,
            bl_client_secret=mqtt_vtn.bl.secret,
            wait_seconds=5,
        )
    )
    mqtt = {r.check_id: r for r in result.results}["notifications.mqtt"]
    assert mqtt.outcome is Outcome.PASS, text(result)
    assert "published on" in mqtt.reason
    assert result.ok, text(result)


async def test_a_ven_that_already_has_its_ven_object_keeps_it_unchanged(sqlite_vtn: LiveVtn) -> None:
    """A VTN holding one ven per client (here: ours behind a proxy refusing a second one with 409)."""
    vtn = sqlite_vtn
    mine = await bl_call(
        vtn,
        "POST",
        "/vens",
        {
            "objectType": "BL_VEN_REQUEST",
            "venName": "site-1",
            "clientID": vtn.ven.client_id,
            "targets": ["t1"],
        },
    )

    async def one_ven_each(
        request: web.Request, status: int, ctype: str, body: bytes
    ) -> tuple[int, str, bytes]:
        if request.method == "POST" and request.path.endswith("/vens") and status == 201:
            created = json.loads(body)
            if created.get("clientID") == vtn.ven.client_id and created["id"] != mine["id"]:
                await bl_call(vtn, "DELETE", f"/vens/{created['id']}", None)
                problem = {"title": "Conflict", "status": 409, "detail": "one ven per client"}
                return 409, "application/problem+json", json.dumps(problem).encode()
        return status, ctype, body

    async with broken_proxy(vtn.root, one_ven_each) as root:
        options = CheckOptions(
            vtn=root + "/openadr3/3.1.0",
            client_id=vtn.ven.client_id,
            client_secret=vtn.ven.secret,
            bl_client_id=vtn.bl.client_id,
            bl_client_secret=vtn.bl.secret,
            wait_seconds=5,
        )
        result = await run(options)
    assert result.ok, text(result)
    outcomes = {r.check_id: r.outcome for r in result.results}
    assert outcomes["targeting.events"] is outcomes["targeting.hiding"] is Outcome.PASS
    after = await bl_call(vtn, "GET", f"/vens/{mine['id']}", None)
    assert (after["venName"], after["targets"]) == ("site-1", ["t1"])


async def test_all_checks_pass_over_mutual_tls(sqlite_url: str, tmp_path: Path) -> None:
    """--cert/--key/--ca: the VEN presents its certificate (tokens bound to it); BL and VEN 2 do not."""
    pki = Pki20.create(tmp_path / "pki")
    tls = TlsSettings(
        cert_file=str(pki.server_cert),
        key_file=str(pki.server_key),
        client_ca_file=str(pki.ca.cert_path),
        client_cert="optional",
    )
    async for vtn in start_live_vtn(sqlite_url, tls=tls):
        cert, key = pki.client(vtn.ven.client_id)
        options = CheckOptions(
            vtn=vtn.base("3.1.0"),
            client_id=vtn.ven.client_id,
            client_secret=vtn.ven.secret,
            bl_client_id=vtn.bl.client_id,
            bl_client_secret=vtn.bl.secret,
            ven2_client_id=vtn.ven2.client_id,
            ven2_client_secret=vtn.ven2.secret,
            cert=str(cert),
            key=str(key),
            ca=str(pki.ca.cert_path),
            wait_seconds=5,
        )
        result = await run(options)
        assert vtn.root.startswith("https://")
        assert result.ok, text(result)
