"""Fixtures of the 2.0b tests (helpers in tests/support/oadr20b.py).

`lab` runs over the `db_url` stores of tests/conftest.py (SQLite always, PostgreSQL when reachable).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.oadr20b import Lab, make_lab

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
from vtn.oadr20b.settings import Oadr20bSettings


@pytest.fixture(scope="session")
def codec() -> Oadr20bCodec:
    return Oadr20bCodec(Oadr20bSchema())


@pytest.fixture
async def lab(db_url: str, codec: Oadr20bCodec) -> AsyncIterator[Lab]:
    async for made in make_lab(db_url, codec, Oadr20bSettings()):
        yield made


@pytest.fixture
async def open_lab(db_url: str, codec: Oadr20bCodec) -> AsyncIterator[Lab]:
    async for made in make_lab(db_url, codec, Oadr20bSettings(open_registration=True)):
        yield made
