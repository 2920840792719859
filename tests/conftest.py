"""Shared fixtures: a migrated store on SQLite (always) and PostgreSQL (when reachable; required in CI).

`db_url` is parametrised over both stores; tests that use it (directly or through `vtn`) run twice.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from support.harness import OADR20B_SCHEMA, REGISTRY, Api, Vtn

from shared.enums import Role
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import clients, migrate, open_store
from vtn.storage.engine import async_url

# Which tests share an xdist worker under `make test` (`--dist loadgroup`): see the module.
pytest_plugins = ["support.xdist_groups"]

PG_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session", autouse=True)
def _cheap_client_secrets() -> Iterator[None]:
    """Client secrets made in this process are hashed with 1,000 PBKDF2 rounds instead of 20,000.

    The stored hash names its round count, so token requests still run the production verify path;
    only the CPU cost changes (two hashes per login, a few logins per API test). The VTN subprocesses
    of the end-to-end tests keep the default.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clients, "hash_secret", partial(clients.hash_secret, iterations=1_000))
        yield


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this session's SQLite files live: on tmpfs (/dev/shm) when the machine has one.

    The store runs SQLite with synchronous=FULL, so on a disk every commit waits for an fsync; on
    tmpfs that is free and the SQL is the same.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("sqlite")
        return
    path = Path(tempfile.mkdtemp(prefix="ec-test-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(sqlite_dir: Path) -> Path:
    """One migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = sqlite_dir / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_ready() -> Iterator[str]:
    """A fresh, migrated database on the PostgreSQL server of PG_URL, private to this test session.

    Each session (each xdist worker) gets its own database, dropped after it, so concurrent test
    runs on one server never clear each other's tables. Commits there do not wait for the WAL flush
    (synchronous_commit=off, a setting of that database only): a crash of the server would lose the
    last commits of a throw-away database, and every test saves an fsync per write.
    """
    if not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 in CI; .ci/run should have started it")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (start it to run the PostgreSQL variant)")
    name = f"ec_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_url(PG_URL)
    url = admin.set(database=name).render_as_string(hide_password=False)

    async def admin_sql(*statements: str) -> None:
        engine = create_async_engine(admin.set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(
        admin_sql(f'CREATE DATABASE "{name}"', f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    )
    try:
        migrate.upgrade(url)
        yield url
    finally:
        _drop_in_background(admin.render_as_string(hide_password=False), name)


# DROP DATABASE waits for a checkpoint of the whole server: seconds (15 s seen) on a busy one.
_DROP = """
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
    finally:
        await conn.close()
asyncio.run(main())
"""


def _drop_in_background(admin_url: str, name: str) -> None:
    """Drop the session's database from a detached process, so the session need not wait for it."""
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.Popen(
        [sys.executable, "-c", _DROP, dsn, name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture(scope="session")
def pg_reset(pg_ready: str) -> str:
    """One SQL string that empties every table a test can write, children before parents.

    The tables come from the migrated database itself (the 2.0b tables included), not from one
    MetaData. DELETE, not TRUNCATE: on tables of a few rows TRUNCATE costs far more (new files for
    every table and index, dropped at commit), about 0.4 s a test here against a few ms.
    """

    async def names() -> list[str]:
        engine = create_async_engine(async_url(pg_ready))
        reflected = MetaData()
        async with engine.connect() as conn:
            await conn.run_sync(reflected.reflect)
        await engine.dispose()
        return [t.name for t in reversed(reflected.sorted_tables) if t.name not in KEEP_TABLES]

    return "; ".join(f'DELETE FROM "{name}"' for name in asyncio.run(names()))


# Rows that outlive a test: the schema version, and settings (the token signing key of this database).
KEEP_TABLES = frozenset({"alembic_version", "settings"})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = template.with_name(f"{uuid.uuid4().hex}.db")
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        return
    yield request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url(pg_ready: str, pg_reset: str) -> str:
    """This session's PostgreSQL database, emptied for the test (for tests that need PostgreSQL)."""
    _run_sql(pg_ready, pg_reset)
    return pg_ready


def _run_sql(url: str, sql: str) -> None:
    async def go() -> None:
        # asyncpg straight away: an engine and its pool would cost more than the statements.
        conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
        try:
            await conn.execute(sql)  # no arguments: one round trip, one implicit transaction
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    app = await build_app(VtnConfig(db_url=db_url), store, REGISTRY, oadr20b_schema=OADR20B_SCHEMA)
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
