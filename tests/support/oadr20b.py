"""2.0b test support: a VTN with the 2.0b routes, BL, a VEN made of our own codec, and shared steps.

Also a dev PKI (`Pki20`) and a VTN on a real loopback listener (`start_tls_lab`: HTTPS with client
certificates, or plain HTTP) for admission by certificate and XML signatures.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from shared.enums import Role
from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from shared.oadr20b.signing import XmlSigner, XmlVerifier
from shared.tls import client_ssl_context, fingerprint_short_2b
from support.harness import BASE, OADR20B_SCHEMA, REGISTRY, Api, Vtn
from vtn.app import build_app
from vtn.auth.tokens import TokenService
from vtn.config import TlsSettings, VtnConfig
from vtn.oadr20b.routes import SERVICE, add_routes
from vtn.oadr20b.service import Oadr20bService
from vtn.oadr20b.settings import PREFIX, Oadr20bSettings
from vtn.pki import CertificateAuthority, generate_key, private_key_pem
from vtn.storage import Store, open_store
from vtn.tls_runtime import ServerTls

LAB_CONFIG: dict[str, Any] = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "webhook_echo_challenge": False,
    "delivery_worker": False,
}
SIDE_TABLES = (
    "oadr20b_registrations",
    "oadr20b_event_versions",
    "oadr20b_deliveries",
    "oadr20b_opts",
    "oadr20b_report_metadata",
    "oadr20b_report_requests",
    "oadr20b_outbox",
)


def lab_config(db_url: str) -> VtnConfig:
    known = {f.name for f in dataclasses.fields(VtnConfig)}
    return VtnConfig(db_url=db_url, **{k: v for k, v in LAB_CONFIG.items() if k in known})


@dataclass
class Ven20:
    """A 2.0b VEN made of our own codec over the test client."""

    client: TestClient[Any, Any]
    codec: Oadr20bCodec

    async def raw(
        self, service: str, data: bytes, content_type: str = "application/xml"
    ) -> tuple[str, bytes]:
        resp = await self.client.post(
            f"{PREFIX}/{service}", data=data, headers={"Content-Type": content_type}
        )
        assert resp.status == 200, await resp.text()
        return resp.content_type, await resp.read()

    async def send(self, msg: m.Message, service: str | None = None) -> m.Message:
        _, body = await self.raw(service or msg.SERVICE, self.codec.build(msg))
        return self.codec.parse(body)


@dataclass
class Lab:
    vtn: Vtn
    bl: Api
    ven: Ven20
    service: Oadr20bService

    async def count(self, *tables: str) -> dict[str, int]:
        return {t: await self.vtn.count(t) for t in tables}


async def make_lab(db_url: str, codec: Oadr20bCodec, settings: Oadr20bSettings) -> AsyncIterator[Lab]:
    store = open_store(db_url)
    try:
        app = await build_app(lab_config(db_url), store, REGISTRY, oadr20b_schema=codec.schema)
        add_routes(app, settings, codec.schema)
        async with TestClient(TestServer(app)) as client:
            vtn = Vtn(client, store)
            bl = await vtn.login("bl", Role.BL)
            yield Lab(vtn, bl, Ven20(client, codec), app[SERVICE])
    finally:
        await store.close()


# ----------------------------------------------------------------------------- shared steps


async def bl_ven(lab: Lab, name: str, targets: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"objectType": "BL_VEN_REQUEST", "venName": name, "clientID": f"client-{name}"}
    if targets is not None:
        body["targets"] = targets
    resp = await lab.bl.post("/vens", json=body)
    assert resp.status == 201, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def bl_program(lab: Lab, name: str = "p1") -> str:
    resp = await lab.bl.post("/programs", json={"programName": name})
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


def event_body(
    program_id: str,
    *,
    start: datetime | None = None,
    payload: str = "PRICE",
    values: tuple[float, ...] = (0.25,),
    targets: list[str] | None = None,
) -> dict[str, Any]:
    begin = start or datetime.now(UTC) + timedelta(hours=1)
    body: dict[str, Any] = {
        "programID": program_id,
        "eventName": "evening peak",
        "intervalPeriod": {"start": begin.isoformat().replace("+00:00", "Z"), "duration": "PT30M"},
        "intervals": [
            {"id": i, "payloads": [{"type": payload, "values": [v]}]} for i, v in enumerate(values)
        ],
    }
    if targets is not None:
        body["targets"] = targets
    return body


async def bl_event(lab: Lab, program_id: str, **kw: Any) -> dict[str, Any]:
    resp = await lab.bl.post("/events", json=event_body(program_id, **kw))
    assert resp.status == 201, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def register(lab: Lab, name: str) -> m.CreatedPartyRegistration:
    answer = await lab.ven.send(m.CreatePartyRegistration(request_id="reg-1", ven_name=name))
    assert isinstance(answer, m.CreatedPartyRegistration)
    assert answer.response.code == 200, answer.response
    return answer


# ----------------------------------------------------------------------------- PKI, TLS and signatures


@dataclass
class Pki20:
    """A dev CA (vtn.pki) with a VTN server certificate and VEN client certificates on disk."""

    root: Path
    ca: CertificateAuthority
    server_cert: Path
    server_key: Path

    @classmethod
    def create(cls, root: Path) -> Pki20:
        ca = CertificateAuthority.init(root / "ca")
        cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
        (root / "vtn.crt").write_bytes(cert_pem)
        (root / "vtn.key").write_bytes(key_pem)
        return cls(root, ca, root / "vtn.crt", root / "vtn.key")

    def client(self, client_id: str, *, rsa_key: bool = False) -> tuple[Path, Path]:
        """A clientAuth certificate naming `client_id` (SAN URI and CN) and its key: (cert, key) paths."""
        key = generate_key("rsa" if rsa_key else "ec")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, client_id)])
        csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
        cert = self.ca.sign_csr(csr.public_bytes(serialization.Encoding.PEM), client_id, 30)
        cert_path, key_path = self.root / f"{client_id}.crt", self.root / f"{client_id}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(private_key_pem(key))
        return cert_path, key_path

    def signer(self, client_id: str) -> XmlSigner:
        return XmlSigner.from_files(self.root / f"{client_id}.crt", self.root / f"{client_id}.key")

    def vtn_signer(self) -> XmlSigner:
        return XmlSigner.from_files(self.server_cert, self.server_key)

    def context(self, client_id: str | None) -> ssl.SSLContext:
        cert, key = (
            (self.root / f"{client_id}.crt", self.root / f"{client_id}.key") if client_id else (None, None)
        )
        return client_ssl_context(ca_file=self.ca.cert_path, cert_file=cert, key_file=key)


def short_fingerprint(cert_path: Path) -> str:
    return fingerprint_short_2b(cert_path.read_bytes())


@dataclass
class HttpVen20:
    """A 2.0b VEN made of our own codec over real HTTP(S): optional TLS identity and signatures."""

    url: str  # up to and including the 2.0b prefix
    session: aiohttp.ClientSession
    codec: Oadr20bCodec
    signer: XmlSigner | None = None
    verifier: XmlVerifier | None = None
    vtn_cert: x509.Certificate | None = None

    async def raw(self, service: str, data: bytes) -> bytes:
        async with self.session.post(
            f"{self.url}/{service}", data=data, headers={"Content-Type": "application/xml"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.read()

    async def send(self, msg: m.Message, service: str | None = None) -> m.Message:
        body = await self.raw(service or msg.SERVICE, self.codec.build(msg, self.signer))
        doc = self.codec.read(body)
        if self.verifier is not None and self.vtn_cert is not None:
            self.verifier.verify(doc.root, self.vtn_cert)
        return doc.msg


@dataclass
class TlsLab:
    """Our VTN on a real loopback listener (HTTPS with client certificates, or plain HTTP)."""

    url: str  # https://127.0.0.1:port (no path)
    store: Store
    pki: Pki20
    bl_token: str
    service: Oadr20bService

    def ven(self, client_id: str | None, codec: Oadr20bCodec, *, sign: bool = False) -> HttpVen20:
        tls = self.url.startswith("https")
        connector = aiohttp.TCPConnector(ssl=self.pki.context(client_id) if tls else False)
        return HttpVen20(
            url=self.url + PREFIX,
            session=aiohttp.ClientSession(connector=connector),
            codec=codec,
            signer=self.pki.signer(client_id) if sign and client_id else None,
            verifier=XmlVerifier() if sign else None,
            vtn_cert=x509.load_pem_x509_certificate(self.pki.server_cert.read_bytes()),
        )

    async def add_client(self, client_id: str, fingerprint: str | None = None) -> None:
        async with self.store.transaction() as tx:
            await tx.clients.add(client_id, Role.VEN, client_id=client_id, cert_fingerprint=fingerprint)

    async def bl(self, method: str, path: str, **kw: Any) -> Any:
        connector = aiohttp.TCPConnector(
            ssl=self.pki.context(None) if self.url.startswith("https") else False
        )
        async with aiohttp.ClientSession(connector=connector) as http:
            headers = {"Authorization": f"Bearer {self.bl_token}"}
            async with http.request(method, self.url + BASE + path, headers=headers, **kw) as resp:
                assert resp.status < 300, await resp.text()
                return await resp.json()


async def start_tls_lab(
    db_url: str, pki: Pki20, *, tls: bool = True, **oadr20b: Any
) -> AsyncIterator[TlsLab]:
    """Run the VTN (2.0b settings as `oadr20b_*` config keys) until the generator is closed."""
    tls_settings = (
        TlsSettings(
            cert_file=str(pki.server_cert),
            key_file=str(pki.server_key),
            client_ca_file=str(pki.ca.cert_path),
            client_cert="optional",
        )
        if tls
        else TlsSettings()
    )
    values = {f"oadr20b_{k}": v for k, v in oadr20b.items()}
    if not tls and values.get("oadr20b_sign"):
        values.setdefault("oadr20b_sign_cert_file", str(pki.server_cert))
        values.setdefault("oadr20b_sign_key_file", str(pki.server_key))
    config = dataclasses.replace(lab_config(db_url), tls=tls_settings, **values)
    store = open_store(db_url)
    runner: web.AppRunner | None = None
    try:
        app = await build_app(config, store, REGISTRY, oadr20b_schema=OADR20B_SCHEMA)
        server_tls = ServerTls(config.tls) if tls else None
        if server_tls is not None:
            server_tls.install(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        context = server_tls.context if server_tls is not None else None
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        port = runner.addresses[0][1]
        async with store.transaction() as tx:
            bl = await tx.clients.add("bl", Role.BL, client_id="bl")
            key = await tx.clients.signing_key()
        token = TokenService(key, ttl_seconds=3600, clock=store.clock).issue("bl", Role.BL, None).access_token
        scheme = "https" if tls else "http"
        yield TlsLab(f"{scheme}://127.0.0.1:{port}", store, pki, token, app[SERVICE])
        del bl
    finally:
        if runner is not None:
            await runner.cleanup()
        await store.close()
