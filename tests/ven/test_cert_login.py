"""The VEN agent logs in with its client certificate alone (RFC 8705 tls_client_auth), end to end.

A real VTN on a mutual-TLS listener (certificates from vtn.pki, a key and CSR from `ven certs`);
the agent's config has a client id and a certificate but no client secret. It onboards, follows an
event and delivers a report; its token is bound to the certificate. A certificate made out to
another client is refused with 401, which ends the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding
from support.harness import BASE

from shared.enums import Role
from shared.errors import Unauthorized
from shared.models import EventRequest, ProgramRequest
from ven.agent import build_agent
from ven.certs import make_key_and_csr
from ven.client import VtnClient
from ven.config import VenConfig
from vtn.app import build_app
from vtn.config import TlsSettings, VtnConfig
from vtn.pki import CertificateAuthority
from vtn.storage import Store, open_store
from vtn.tls_runtime import ServerTls


class MtlsVtn:
    def __init__(self, url: str, store: Store, ca: CertificateAuthority, root: Path) -> None:
        self.url, self.store, self.ca, self.root = url, store, ca, root

    async def add_client(self, client_id: str, role: Role) -> str:
        async with self.store.transaction() as tx:
            new = await tx.clients.add(client_id, role, client_id=client_id)
        return new.secret

    def ven_certificate(self, ven_name: str, client_id: str) -> tuple[Path, Path]:
        """`ven certs request` for `ven_name`, signed by the VTN's CA for `client_id`."""
        key, csr = make_key_and_csr(ven_name, self.root / ven_name)
        cert = self.ca.sign_csr(csr.read_bytes(), client_id, 5)
        cert_path = self.root / ven_name / f"{ven_name}.crt"
        cert_path.write_bytes(cert.public_bytes(Encoding.PEM))
        return cert_path, key


@pytest.fixture
async def mtls_vtn(db_url: str, tmp_path: Path) -> AsyncIterator[MtlsVtn]:
    ca = CertificateAuthority.init(tmp_path / "ca")
    cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
    (tmp_path / "server.crt").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    tls = TlsSettings(
        cert_file=str(tmp_path / "server.crt"),
        key_file=str(tmp_path / "server.key"),
        client_ca_file=str(ca.cert_path),
        client_cert="required",
    )
    config = VtnConfig(db_url=db_url, tls=tls, delivery_worker=False, host="127.0.0.1", port=0)
    store = open_store(db_url)
    app = await build_app(config, store)
    server_tls = ServerTls(config.tls)
    server_tls.install(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls.context).start()
    try:
        yield MtlsVtn(f"https://127.0.0.1:{runner.addresses[0][1]}{BASE}", store, ca, tmp_path)
    finally:
        await runner.cleanup()
        await store.close()


def _config(vtn: MtlsVtn, cert: Path, key: Path, state: Path) -> VenConfig:
    doc: dict[str, Any] = {
        "vtn": {
            "url": vtn.url,
            "client_id": "ven-cert",
            # no client_secret: the certificate authenticates the VEN
            "tls": {"ca_file": str(vtn.ca.cert_path), "cert_file": str(cert), "key_file": str(key)},
        },
        "ven": {"name": "gw-cert", "state_dir": str(state), "seed": 1},
        "events": {"poll_seconds": 0.2},
        "resources": [{"id": "heater-1", "name": "heater-1", "adapter": "water_heater"}],
        "telemetry": [{"name": "telemetry", "every_seconds": 0.3, "payload_types": ["USAGE"]}],
    }
    return VenConfig.from_dict(doc, {})


async def test_agent_logs_in_with_its_certificate_alone(mtls_vtn: MtlsVtn, tmp_path: Path) -> None:
    await mtls_vtn.add_client("ven-cert", Role.VEN)
    bl_secret = await mtls_vtn.add_client("bl-cert", Role.BL)
    cert, key = mtls_vtn.ven_certificate("gw-cert", "ven-cert")
    bl_cert, bl_key = mtls_vtn.ven_certificate("bl-cert", "bl-cert")
    config = _config(mtls_vtn, cert, key, tmp_path / "state")
    assert config.client_secret is None

    agent = build_agent(config)
    await agent.start()
    try:
        assert agent.ven_id is not None
        from shared.tls import client_ssl_context

        bl_ssl = client_ssl_context(ca_file=mtls_vtn.ca.cert_path, cert_file=bl_cert, key_file=bl_key)
        async with VtnClient(mtls_vtn.url, client_id="bl-cert", client_secret=bl_secret, ssl=bl_ssl) as bl:
            (ven,) = await bl.list_vens("gw-cert")
            assert ven.client_id == "ven-cert"  # created with the certificate's client identity
            program = await bl.create_program(ProgramRequest(program_name="cert-program"))
            start = datetime.now(UTC) - timedelta(seconds=5)
            event = await bl.create_event(
                EventRequest.model_validate(
                    {
                        "programID": program.id,
                        "intervalPeriod": {"start": start.isoformat(), "duration": "PT10M"},
                        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}],
                    }
                )
            )
            async with asyncio.timeout(15):
                while not [r async for r in bl.iter_reports(event_id=event.id)]:
                    await asyncio.sleep(0.1)
        assert agent.timeline.signals_at(datetime.now(UTC))["SIMPLE"].values == (1.0,)
        assert agent.last_error is None
    finally:
        await agent.stop()


async def test_a_certificate_of_another_client_is_refused(mtls_vtn: MtlsVtn, tmp_path: Path) -> None:
    await mtls_vtn.add_client("ven-cert", Role.VEN)
    await mtls_vtn.add_client("someone-else", Role.VEN)
    cert, key = mtls_vtn.ven_certificate("gw-other", "someone-else")
    agent = build_agent(_config(mtls_vtn, cert, key, tmp_path / "state"))
    try:
        with pytest.raises(Unauthorized, match="certificate does not authenticate"):
            await agent.start()
        assert agent.ven_id is None
    finally:
        await agent.stop()
