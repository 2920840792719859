"""The token endpoints (3.1.0 and 3.0.1) answer malformed bodies with an OAuth error, never a 500."""

from __future__ import annotations

import pytest
from support.harness import Vtn

MULTIPART = {"Content-Type": "multipart/form-data; boundary=zz"}


@pytest.mark.parametrize("base", ["/openadr3/3.1.0", "/openadr3/3.0.1"])
async def test_malformed_multipart_is_invalid_request(vtn: Vtn, base: str) -> None:
    resp = await vtn.client.post(base + "/auth/token", data=b"garbage", headers=MULTIPART)
    assert resp.status == 400, await resp.text()
    doc = await resp.json()
    assert doc["error"] == "invalid_request"
