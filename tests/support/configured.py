"""A VTN built with chosen limits: `async with configured(db_url, list_max_bytes=...) as vtn`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from support.harness import Vtn
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store


@asynccontextmanager
async def configured(db_url: str, **settings: Any) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    try:
        app = await build_app(VtnConfig(db_url=db_url, delivery_worker=False, **settings), store)
        async with TestClient(TestServer(app)) as client:
            yield Vtn(client, store)
    finally:
        await store.close()
