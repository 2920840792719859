"""Test harness: a running VTN on a test server and logged-in API clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from shared.enums import Role
from shared.oadr20b import Oadr20bSchema
from shared.validation import SchemaRegistry
from vtn.storage import Store

BASE = "/openadr3/3.1.0"

# Compiled once per test process and handed to every app the fixtures build (read-only once built;
# compiling the 2.0b XSD alone costs tens of milliseconds).
REGISTRY = SchemaRegistry()
OADR20B_SCHEMA = Oadr20bSchema()


@dataclass
class Api:
    """A logged-in API client: `await bl.get("/programs")` hits the 3.1.0 base path with its token."""

    client: TestClient[Any, Any]
    client_id: str
    secret: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)

    def _h(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    async def get(self, path: str, **kw: Any) -> ClientResponse:
        return await self.client.get(BASE + path, headers=self._h(kw.pop("headers", None)), **kw)

    async def post(self, path: str, **kw: Any) -> ClientResponse:
        return await self.client.post(BASE + path, headers=self._h(kw.pop("headers", None)), **kw)

    async def put(self, path: str, **kw: Any) -> ClientResponse:
        return await self.client.put(BASE + path, headers=self._h(kw.pop("headers", None)), **kw)

    async def delete(self, path: str, **kw: Any) -> ClientResponse:
        return await self.client.delete(BASE + path, headers=self._h(kw.pop("headers", None)), **kw)


@dataclass
class Vtn:
    """A running VTN app on a test server, with a way to mint logged-in clients."""

    client: TestClient[Any, Any]
    store: Store

    async def login(self, name: str, role: Role) -> Api:
        async with self.store.transaction() as tx:
            new = await tx.clients.add(name, role)
        resp = await self.client.post(
            BASE + "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": new.record.client_id,
                "client_secret": new.secret,
            },
        )
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["access_token"]
        return Api(self.client, new.record.client_id, new.secret, token)

    async def count(self, table: str) -> int:
        async with self.store.read() as tx:
            return int((await tx.conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())
