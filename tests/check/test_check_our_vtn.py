"""`ven check` against our own VTN: every check passes (or is skipped for a stated reason)."""

from __future__ import annotations

import pytest
from support.check import LiveVtn

from ven.check import CheckOptions, Protocol, run
from ven.check.reporters import text


@pytest.mark.parametrize("protocol", [Protocol.V310, Protocol.V301])
async def test_all_checks_pass_against_our_vtn(live_vtn: LiveVtn, protocol: Protocol) -> None:
    options = CheckOptions(
        vtn=live_vtn.base(protocol.value),
        protocol=protocol,
        client_id=live_vtn.ven.client_id,
        client_secret=live_vtn.ven.secret,
        bl_client_id=live_vtn.bl.client_id,
        bl_client_secret=live_vtn.bl.secret,
        ven2_client_id=live_vtn.ven2.client_id,
        ven2_client_secret=live_vtn.ven2.secret,
        wait_seconds=5,
    )
    result = await run(options)
    print(text(result))
    assert result.ok, text(result)
