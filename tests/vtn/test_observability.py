"""Metrics, probes, request ids and the access log of one VTN app (docs/observability.md).

The multi-process metrics and the plain health listener are tested on real `vtn serve` processes in
test_observability_processes.py; TLS refusal counts in test_mtls.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from support.api_data import create, event, program, report, subscription
from support.harness import BASE, Api, Vtn
from support.processes import free_port

from shared.enums import Role
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.observability.logs import JsonFormatter, TextFormatter
from vtn.observability.state import OBSERVE
from vtn.storage import migrate, open_store


async def scrape(client: TestClient[Any, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await client.get("/metrics")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_are_counted_by_route_template_method_and_status(vtn: Vtn, bl: Api) -> None:
    await create(bl, "/programs", program("p1"))
    for _ in range(3):
        assert (await bl.get("/programs/no-such-program")).status == 404
    assert (await vtn.client.get("/no/such/path/123")).status == 404
    samples = await scrape(vtn.client)
    route = f"{BASE}/programs/{{programID}}"
    assert (
        value(samples, "vtn_http_request_duration_seconds_count", route=route, method="GET", status="404")
        == 3
    )
    assert (
        value(
            samples,
            "vtn_http_request_duration_seconds_count",
            route=f"{BASE}/programs",
            method="POST",
            status="201",
        )
        == 1
    )
    assert (
        value(
            samples,
            "vtn_http_request_duration_seconds_count",
            route="(unmatched)",
            method="GET",
            status="404",
        )
        == 1
    )
    # Raw paths never become labels.
    assert not any("no-such-program" in str(labels) or "123" in str(labels) for _, labels in samples)
    assert value(samples, "vtn_token_requests_total", outcome="granted", reason="") == 1
    assert value(samples, "vtn_db_pool_connections", state="in_use") >= 0
    assert ("vtn_outbox_pending", ()) in samples


async def test_token_refusals_reports_and_first_seen_vens(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    bad = await vtn.client.post(
        BASE + "/auth/token",
        data={"grant_type": "client_credentials", "client_id": ven_a.client_id, "client_secret": "wrong"},
    )
    assert bad.status == 401
    assert (await vtn.client.post(BASE + "/auth/token", data={"grant_type": "password"})).status == 400
    prog = await create(bl, "/programs", program("p1"))
    ev = await create(bl, "/events", event(prog["id"]))
    await create(ven_a, "/reports", report(ev["id"]))
    obs = vtn.client.app[OBSERVE]
    assert await obs.contacts.flush() == [ven_a.client_id]  # the BL is not a VEN
    assert (await ven_a.get("/programs")).status == 200
    assert await obs.contacts.flush() == []  # seen before: not new again
    samples = await scrape(vtn.client)
    assert value(samples, "vtn_token_requests_total", outcome="refused", reason="invalid_client") == 1
    assert value(samples, "vtn_token_requests_total", outcome="refused", reason="invalid_request") == 1
    assert value(samples, "vtn_reports_ingested_total", api="3.1.0") == 1
    assert value(samples, "vtn_vens_seen", window="5m") == 1
    assert value(samples, "vtn_vens_seen", window="60m") == 1
    assert value(samples, "vtn_vens_first_seen_total") == 1


async def test_health_and_ready(vtn: Vtn) -> None:
    health = await vtn.client.get("/health")
    assert health.status == 200 and (await health.json()) == {"status": "ok"}
    ready = await vtn.client.get("/ready")
    assert ready.status == 200, await ready.text()
    assert (await ready.json())["checks"] == {"database": "ok", "migrations": "ok", "delivery_worker": "ok"}


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "vtn.db")
    return f"sqlite:///{tmp_path / 'vtn.db'}"


@asynccontextmanager
async def _serve(config: VtnConfig) -> AsyncIterator[TestClient[Any, Any]]:
    store = open_store(config.db_url)
    try:
        app = await build_app(config, store)
        async with TestClient(TestServer(app)) as client:
            yield client
    finally:
        await store.close()


async def test_not_ready_while_the_schema_is_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    await migrate.upgrade_async(url, "0005")
    async with _serve(VtnConfig(db_url=url, delivery_worker=False)) as client:
        ready = await client.get("/ready")
        assert ready.status == 503
        checks = (await ready.json())["checks"]
        assert checks["database"] == "ok"
        assert checks["migrations"].startswith("database at 0005, code at ")
        assert "delivery_worker" not in checks  # this process runs none
        assert (await client.get("/health")).status == 200


async def test_not_ready_when_the_delivery_worker_stopped(sqlite_url: str) -> None:
    async with _serve(VtnConfig(db_url=sqlite_url)) as client:
        from vtn.app import WORKER

        await client.app[WORKER].stop()
        ready = await client.get("/ready")
        assert ready.status == 503
        assert (await ready.json())["checks"]["delivery_worker"] == "not running"


async def test_metrics_can_be_turned_off(sqlite_url: str) -> None:
    async with _serve(VtnConfig(db_url=sqlite_url, metrics=False)) as client:
        assert (await client.get("/metrics")).status == 404
        assert (await client.get(BASE + "/auth/server")).status == 200


async def test_request_ids_are_taken_when_safe_and_made_otherwise(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vtn.access")
    async with _serve(VtnConfig(db_url=sqlite_url)) as client:
        given = await client.get(BASE + "/auth/server", headers={"X-Request-ID": "lb-7f3a:42"})
        assert given.headers["X-Request-ID"] == "lb-7f3a:42"
        for unsafe in ("a" * 129, "bad id", "x\u00e9", "<script>"):
            resp = await client.get(BASE + "/programs", headers={"X-Request-ID": unsafe})
            assert resp.status == 401  # problems carry the id too
            made = resp.headers["X-Request-ID"]
            assert made != unsafe and len(made) == 16 and int(made, 16) >= 0
        made = (await client.get("/health")).headers["X-Request-ID"]
        assert len(made) == 16
    lines = [r for r in caplog.records if r.name == "vtn.access"]
    assert lines[0].__dict__["request_id"] == "lb-7f3a:42"
    assert lines[0].__dict__["route"] == BASE + "/auth/server"
    assert lines[0].getMessage().startswith(f"GET {BASE}/auth/server 200 ")
    assert lines[1].__dict__["status"] == 401
    doc = json.loads(JsonFormatter().format(lines[0]))
    assert {"method": "GET", "status": 200, "request_id": "lb-7f3a:42"}.items() <= doc.items()
    assert doc["route"] == BASE + "/auth/server" and doc["duration_ms"] >= 0


async def test_access_log_names_the_client_and_can_be_turned_off(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vtn.access")
    async with _serve(VtnConfig(db_url=sqlite_url)) as client:
        ven = await Vtn(client, client.app[OBSERVE].store).login("ven-1", Role.VEN)
        await ven.get("/programs/p-1")
    line = [r for r in caplog.records if r.name == "vtn.access"][-1]
    assert line.getMessage().startswith(f"GET {BASE}/programs/{{programID}} 404 ")
    assert line.getMessage().endswith(f"client={ven.client_id}")
    caplog.clear()
    async with _serve(VtnConfig(db_url=sqlite_url, access_log=False)) as client:
        assert (await client.get("/health")).status == 200
    assert not [r for r in caplog.records if r.name == "vtn.access"]


async def test_no_secret_or_token_is_ever_logged(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A whole flow at DEBUG: logins in every form (good and bad), API calls, a webhook given up."""
    caplog.set_level(logging.DEBUG)
    dead_port = free_port()
    config = VtnConfig(
        db_url=sqlite_url,
        webhook_require_https=False,
        webhook_allow_private=True,
        webhook_echo_challenge=False,
        retry_give_up_seconds=0.0,
        delivery_timeout_seconds=1.0,
    )
    secrets: list[str] = []
    async with _serve(config) as client:
        store = client.app[OBSERVE].store
        async with store.transaction() as tx:
            bl_new = await tx.clients.add("bl-1", Role.BL)
            ven_new = await tx.clients.add("ven-1", Role.VEN)
        bl_id, bl_secret = bl_new.record.client_id, bl_new.secret
        ven_id, ven_secret = ven_new.record.client_id, ven_new.secret
        secrets += [bl_secret, ven_secret]
        url = BASE + "/auth/token"
        grant = {"grant_type": "client_credentials"}
        form = await client.post(url, data={**grant, "client_id": bl_id, "client_secret": bl_secret})
        basic = base64.b64encode(f"{ven_id}:{ven_secret}".encode()).decode()
        by_basic = await client.post(url, data=grant, headers={"Authorization": f"Basic {basic}"})
        by_json = await client.post(url, json={**grant, "client_id": ven_id, "client_secret": ven_secret})
        wrong = "wrong-" + ven_secret[::-1]
        secrets.append(wrong)
        refused = await client.post(url, data={**grant, "client_id": ven_id, "client_secret": wrong})
        bad_basic = base64.b64encode(f"{ven_id}:{wrong}".encode()).decode()
        refused_basic = await client.post(url, data=grant, headers={"Authorization": f"Basic {bad_basic}"})
        assert [r.status for r in (form, by_basic, by_json, refused, refused_basic)] == [
            200,
            200,
            200,
            401,
            401,
        ]
        tokens = [(await r.json())["access_token"] for r in (form, by_basic, by_json)]
        secrets += tokens
        bl_h = {"Authorization": f"Bearer {tokens[0]}"}
        ven_h = {"Authorization": f"Bearer {tokens[1]}"}
        prog = await (await client.post(BASE + "/programs", json=program("p1"), headers=bl_h)).json()
        hook_token, query_secret = "hook-bearer-" + ven_secret[:8], "qs-" + bl_secret[:10]
        secrets += [hook_token, query_secret]
        sub = subscription(programID=prog["id"])
        sub["objectOperations"][0]["callbackUrl"] = (
            f"http://u:{query_secret}@127.0.0.1:{dead_port}/cb?key={query_secret}"
        )
        sub["objectOperations"][0]["bearerToken"] = hook_token
        assert (await client.post(BASE + "/subscriptions", json=sub, headers=ven_h)).status == 201
        assert (await client.post(BASE + "/events", json=event(prog["id"]), headers=bl_h)).status == 201
        assert (
            await client.get(BASE + "/events", headers={"Authorization": "Bearer " + tokens[2][:-4] + "AAAA"})
        ).status == 401
        for _ in range(200):  # the worker tries once and gives up (retry_give_up_seconds = 0)
            if any("giving up on notification" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        samples = await scrape(client)
        assert value(samples, "vtn_deliveries_total", sink="webhook", outcome="given_up") == 1
    messages = [r.getMessage() for r in caplog.records]
    gave_up = [m for m in messages if "giving up on notification" in m]
    assert len(gave_up) == 1 and f"http://127.0.0.1:{dead_port}/cb " in gave_up[0]
    assert sum("refused login for client" in m and ven_id in m for m in messages) == 2
    rendered = [f(r) for r in caplog.records for f in (TextFormatter().format, JsonFormatter().format)]
    for secret in secrets:
        leaks = [line for line in rendered if secret in line]
        assert not leaks, f"a secret or token was logged: {leaks[:1]}"
