"""`ven check --protocol 2.0b --sign` against our VTN over mutual TLS with required XML signatures."""

from __future__ import annotations

from pathlib import Path

from support.oadr20b import Pki20, short_fingerprint, start_tls_lab

from ven.check import CheckOptions, Outcome, Protocol, run
from ven.check.reporters import text
from vtn.oadr20b.settings import PREFIX


async def test_the_kit_passes_with_mtls_and_signatures(db_url: str, tmp_path: Path) -> None:
    pki = Pki20.create(tmp_path / "pki")
    cert, key = pki.client("kit-ven")
    async for lab in start_tls_lab(db_url, pki, sign=True, require_signatures=True):
        await lab.add_client("kit-ven", short_fingerprint(cert))
        await lab.bl(
            "POST",
            "/vens",
            json={"objectType": "BL_VEN_REQUEST", "venName": "kit-site", "clientID": "kit-ven"},
        )
        options = CheckOptions(
            vtn=lab.url + PREFIX,
            protocol=Protocol.V20B,
            client_id="kit-site",
            cert=str(cert),
            key=str(key),
            ca=str(pki.ca.cert_path),
            sign=True,
        )
        result = await run(options)
        assert result.ok, text(result)
        outcomes = {r.check_id: r.outcome for r in result.results}
        assert outcomes["2.0b.signatures"] is Outcome.PASS, text(result)
        # Without a signature the same VTN refuses registration: the kit reports it as a failure.
        unsigned = await run(CheckOptions(**{**options.__dict__, "sign": False}))
        assert not unsigned.ok
        assert {r.check_id: r.outcome for r in unsigned.results}["2.0b.registration"] is Outcome.FAIL
