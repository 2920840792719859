"""Request bodies and small assertions shared by the VTN API tests (tests/vtn/test_*.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from support.harness import OADR20B_SCHEMA, REGISTRY, Api, Vtn
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store

PROBLEM = "application/problem+json"
OBJECT_TABLES = ("programs", "events", "vens", "resources", "reports", "subscriptions", "object_targets")


# Webhook checks relaxed so that subscriptions can be written without a network (no DNS lookup, no
# echo challenge) and no delivery worker posting to the test callback URLs.
LAB_SETTINGS: dict[str, Any] = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "webhook_echo_challenge": False,
    "delivery_worker": False,
}


@asynccontextmanager
async def lab_vtn(db_url: str, **overrides: Any) -> AsyncIterator[Vtn]:
    """Like the `vtn` fixture of conftest, with LAB_SETTINGS (those this VtnConfig knows)."""
    known = {f.name for f in dataclasses.fields(VtnConfig)}
    settings = {k: v for k, v in LAB_SETTINGS.items() if k in known} | overrides
    config = VtnConfig(db_url=db_url, **settings)
    store = open_store(db_url)
    try:
        app = await build_app(config, store, REGISTRY, oadr20b_schema=OADR20B_SCHEMA)
        async with TestClient(TestServer(app)) as client:
            yield Vtn(client, store)
    finally:
        await store.close()


def program(name: str, **extra: Any) -> dict[str, Any]:
    return {"programName": name, **extra}


def event(program_id: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "programID": program_id,
        "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
        "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.25]}]}],
    }
    body.update(extra)
    return body


def ven_ven(name: str, ven_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"objectType": "VEN_VEN_REQUEST", "venName": name, **extra}
    if ven_id is not None:
        body["id"] = ven_id
    return body


def bl_ven(name: str, client_id: str, targets: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"objectType": "BL_VEN_REQUEST", "venName": name, "clientID": client_id, **extra}
    if targets is not None:
        body["targets"] = targets
    return body


def ven_resource(name: str, ven_id: str, resource_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectType": "VEN_RESOURCE_REQUEST",
        "resourceName": name,
        "venID": ven_id,
        **extra,
    }
    if resource_id is not None:
        body["id"] = resource_id
    return body


def bl_resource(
    name: str, ven_id: str, client_id: str, targets: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectType": "BL_RESOURCE_REQUEST",
        "resourceName": name,
        "venID": ven_id,
        "clientID": client_id,
        **extra,
    }
    if targets is not None:
        body["targets"] = targets
    return body


def report(event_id: str, client_name: str = "gateway-1", value: float = 1.5, **extra: Any) -> dict[str, Any]:
    return {
        "eventID": event_id,
        "clientName": client_name,
        "resources": [
            {
                "resourceName": "charger-1",
                "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [value]}]}],
            }
        ],
        **extra,
    }


def subscription(
    client_name: str = "sub-client",
    objects: list[str] | None = None,
    operations: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "clientName": client_name,
        "objectOperations": [
            {
                "objects": objects or ["EVENT"],
                "operations": operations or ["CREATE", "UPDATE"],
                "callbackUrl": "https://ven.example.com/callback",
            }
        ],
        **extra,
    }


async def create(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST and insist on 201; returns the created object."""
    resp = await api.post(path, json=body)
    assert resp.status == 201, f"POST {path}: {resp.status} {await resp.text()}"
    created: dict[str, Any] = await resp.json()
    return created


async def ok_json(resp: ClientResponse, status: int = 200) -> Any:
    assert resp.status == status, f"{resp.method} {resp.url}: {resp.status} {await resp.text()}"
    return await resp.json()


async def ids(resp: ClientResponse) -> list[str]:
    """The ids of a 200 list response, in order."""
    return [o["id"] for o in await ok_json(resp)]


async def problem(resp: ClientResponse, status: int, pointer: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with this status (and pointer, when given)."""
    text = await resp.text()
    assert resp.status == status, f"expected {status}, got {resp.status}: {text}"
    assert resp.content_type == PROBLEM, f"content type {resp.content_type}: {text}"
    doc: dict[str, Any] = await resp.json(content_type=None)
    assert doc["status"] == status
    assert isinstance(doc["title"], str) and doc["title"]
    assert doc["type"] == "about:blank"
    if pointer is not None:
        assert doc.get("pointer") == pointer, doc
    return doc


async def counts(vtn: Vtn) -> dict[str, int]:
    """Row counts of every table that holds OpenADR objects (to prove that nothing was written)."""
    return {t: await vtn.count(t) for t in OBJECT_TABLES}


async def twenty_reports_two_bad(bl: Api) -> tuple[str, list[dict[str, Any]]]:
    """A program and 20 report bodies for its events: one for an event the VEN cannot see (400),
    one with the id of another (409); the rest are good. Returns the programID and the bodies."""
    p = await create(bl, "/programs", program("p"))
    open_event = await create(bl, "/events", event(p["id"]))
    hidden = await create(bl, "/events", event(p["id"], targets=["g9"]))
    bodies = [report(open_event["id"], id=f"r-{i}") for i in range(20)]
    bodies[5] = report(hidden["id"], id="r-hidden")
    bodies[9] = report(open_event["id"], id="r-3")
    return str(p["id"]), bodies
