"""Fixtures of the `ven check` tests (helpers in tests/support/check.py).

`live_vtn` runs over both stores (the kit must pass on each); `sqlite_vtn` is for the broken-VTN
tests, which test the kit rather than the storage.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.check import LiveVtn, start_live_vtn


@pytest.fixture
async def live_vtn(db_url: str) -> AsyncIterator[LiveVtn]:
    async for made in start_live_vtn(db_url):
        yield made


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "vtn.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
async def sqlite_vtn(sqlite_url: str) -> AsyncIterator[LiveVtn]:
    async for made in start_live_vtn(sqlite_url):
        yield made
