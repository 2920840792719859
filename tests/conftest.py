"""Shared fixtures: a migrated store on SQLite (always) and PostgreSQL (when reachable; required in CI).

`db_url` is parametrised over both stores; tests that use it (directly or through `vtn`) run twice.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from support.harness import Api, Vtn

from shared.enums import Role
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import migrate, open_store
from vtn.storage.tables import metadata

PG_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_ready() -> Iterator[str]:
    """A fresh, migrated database on the PostgreSQL server of PG_URL, private to this test session.

    Each session gets its own database (dropped at the end), so concurrent test runs on one server
    never truncate each other's tables.
    """
    if not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 in CI; .ci/run should have started it")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (start it to run the PostgreSQL variant)")
    name = f"ec_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_url(PG_URL)
    url = admin.set(database=name).render_as_string(hide_password=False)

    async def admin_sql(statement: str) -> None:
        engine = create_async_engine(admin.set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "vtn.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    url: str = request.getfixturevalue("pg_ready")
    _truncate(url)
    yield url


def _truncate(url: str) -> None:
    async def go() -> None:
        store = open_store(url)
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "settings")
        async with store.transaction() as tx:
            await tx.conn.execute(text(f"TRUNCATE {names} CASCADE"))
        await store.close()

    asyncio.run(go())


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    app = await build_app(VtnConfig(db_url=db_url), store)
    async with TestClient(TestServer(app)) as client:
        yield Vtn(client, store)
    await store.close()


@pytest.fixture
async def bl(vtn: Vtn) -> Api:
    return await vtn.login("bl", Role.BL)


@pytest.fixture
async def ven_a(vtn: Vtn) -> Api:
    return await vtn.login("ven-a", Role.VEN)


@pytest.fixture
async def ven_b(vtn: Vtn) -> Api:
    return await vtn.login("ven-b", Role.VEN)
