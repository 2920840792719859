"""Helpers of the 3.0.1 API tests (tests/vtn/test_oadr301*.py): a 3.0.1 client and the app fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from support.api_data import ok_json
from support.harness import OADR20B_SCHEMA, REGISTRY, Api, Vtn
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.oadr301.routes import BASE_301, add_routes
from vtn.storage import open_store

LAB = {"webhook_require_https": False, "webhook_allow_private": True, "webhook_echo_challenge": False}


@dataclasses.dataclass
class Api301:
    """The same client, speaking to the 3.0.1 base path."""

    api: Api

    def _kw(self, kw: dict[str, Any]) -> dict[str, Any]:
        return {**kw, "headers": {"Authorization": f"Bearer {self.api.token}", **kw.pop("headers", {})}}

    async def get(self, path: str, **kw: Any) -> ClientResponse:
        return await self.api.client.get(BASE_301 + path, **self._kw(kw))

    async def post(self, path: str, **kw: Any) -> ClientResponse:
        return await self.api.client.post(BASE_301 + path, **self._kw(kw))

    async def put(self, path: str, **kw: Any) -> ClientResponse:
        return await self.api.client.put(BASE_301 + path, **self._kw(kw))

    async def delete(self, path: str, **kw: Any) -> ClientResponse:
        return await self.api.client.delete(BASE_301 + path, **self._kw(kw))


async def create301(api: Api301, path: str, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = await ok_json(await api.post(path, json=body), 201)
    return created


def has_301(app: web.Application) -> bool:
    return any(
        r.resource is not None and r.resource.canonical.startswith(BASE_301) for r in app.router.routes()
    )


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    config = VtnConfig(db_url=db_url, **LAB)  # type: ignore[arg-type]
    app = await build_app(config, store, REGISTRY, oadr20b_schema=OADR20B_SCHEMA)
    if not has_301(app):  # until create_app calls add_routes itself
        add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield Vtn(client, store)
    await store.close()


@pytest.fixture
async def bl301(bl: Api) -> Api301:
    return Api301(bl)


@pytest.fixture
async def ven301(ven_a: Api) -> Api301:
    return Api301(ven_a)


def event_301(program_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "programID": program_id,
        "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
        "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.3]}]}],
        **extra,
    }
