"""Fixtures of the `ven check` tests (helpers in tests/support/check.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.check import LiveVtn, start_live_vtn


@pytest.fixture
async def live_vtn(db_url: str) -> AsyncIterator[LiveVtn]:
    async for made in start_live_vtn(db_url):
        yield made
