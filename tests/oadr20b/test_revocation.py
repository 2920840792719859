"""A VEN identified by its XML signature (no client certificate) is refused once the VTN's CRL lists it.

Real certificates from vtn.pki; the VTN listens over HTTPS with optional client certificates and a
CRL, and the VEN connects without one, so only its signature identifies it (the path a plain HTTP
connection takes). Revocation is read from the CRL in force, so a reload (SIGHUP) applies at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support.oadr20b import Pki20, lab_config, short_fingerprint

from shared.enums import Role
from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from vtn.app import build_app
from vtn.config import TlsSettings
from vtn.oadr20b.settings import PREFIX
from vtn.storage import Store, open_store
from vtn.tls_runtime import ServerTls


@pytest.fixture
def pki(tmp_path: Path) -> Pki20:
    pki = Pki20.create(tmp_path)  # per test: revocations must not outlive it
    for name in ("ven-kept", "ven-revoked"):
        pki.client(name)
    pki.ca.write_crl()  # nothing revoked yet
    return pki


@dataclass
class CrlLab:
    url: str
    store: Store
    tls: ServerTls


@pytest.fixture
async def crl_lab(db_url: str, pki: Pki20) -> AsyncIterator[CrlLab]:
    tls = TlsSettings(
        cert_file=str(pki.server_cert),
        key_file=str(pki.server_key),
        client_ca_file=str(pki.ca.cert_path),
        client_cert="optional",
        crl_file=str(pki.ca.crl_path),
    )
    config = dataclasses.replace(lab_config(db_url), tls=tls, oadr20b_require_signatures=True)
    store = open_store(db_url)
    runner: web.AppRunner | None = None
    try:
        app = await build_app(config, store)
        server_tls = ServerTls(tls)
        server_tls.install(app)  # after the 2.0b routes were added, as `vtn serve` does
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls.context).start()
        yield CrlLab(f"https://127.0.0.1:{runner.addresses[0][1]}{PREFIX}", store, server_tls)
    finally:
        if runner is not None:
            await runner.cleanup()
        await store.close()


async def _send(http: aiohttp.ClientSession, lab: CrlLab, data: bytes, codec: Oadr20bCodec) -> m.Message:
    async with http.post(
        f"{lab.url}/EiRegisterParty", data=data, headers={"Content-Type": "application/xml"}
    ) as resp:
        assert resp.status == 200
        return codec.parse(await resp.read())


async def test_signatures_by_revoked_certificates_are_refused(
    crl_lab: CrlLab, pki: Pki20, codec: Oadr20bCodec
) -> None:
    for name in ("ven-kept", "ven-revoked"):
        async with crl_lab.store.transaction() as tx:
            await tx.clients.add(
                name, Role.VEN, client_id=name, cert_fingerprint=short_fingerprint(pki.root / f"{name}.crt")
            )
    # No client certificate on the connection: the registered signing certificate is the identity.
    connector = aiohttp.TCPConnector(ssl=pki.context(None))
    async with aiohttp.ClientSession(connector=connector) as http:

        async def register(name: str) -> m.CreatedPartyRegistration:
            data = codec.build(m.CreatePartyRegistration(request_id="r"), pki.signer(name))
            answer = await _send(http, crl_lab, data, codec)
            assert isinstance(answer, m.CreatedPartyRegistration)
            return answer

        before = await register("ven-revoked")
        assert before.response.code == 200 and before.ven_id, before.response

        pki.ca.revoke(pki.signer("ven-revoked").certificate)
        assert (await register("ven-revoked")).response.code == 200  # the VTN still has the old CRL
        crl_lab.tls.reload()  # what SIGHUP does

        refused = await register("ven-revoked")
        assert refused.response.code == 463 and refused.ven_id is None
        assert "revoked" in (refused.response.description or "")
        kept = await register("ven-kept")  # same CA, not revoked
        assert kept.response.code == 200 and kept.ven_id, kept.response
