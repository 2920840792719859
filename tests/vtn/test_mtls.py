"""Mutual TLS end to end: real handshakes on loopback, real certificates from vtn.pki, both stores.

Each test runs the VTN app behind `vtn.tls_runtime.ServerTls` on 127.0.0.1:0 and talks to it with
aiohttp and `shared.tls.client_ssl_context`, as a VEN would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text
from support.api_data import event, program, ven_ven
from support.harness import BASE, Vtn

from shared.enums import Role
from shared.tls import client_ssl_context, fingerprint_sha256, thumbprint_s256
from ven.certs import make_key_and_csr
from vtn.app import build_app
from vtn.cli import serve as serve_cli
from vtn.config import TlsSettings, VtnConfig
from vtn.core.state import STATE
from vtn.pki import CertificateAuthority, private_key_pem
from vtn.storage import Store, open_store
from vtn.tls_runtime import ServerTls, first_certificate, refusal_label

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
PROBLEM = "application/problem+json"


# -- PKI -------------------------------------------------------------------------------------------


def _csr(key: ec.EllipticCurvePrivateKey, cn: str) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


@dataclass
class Pki:
    root: Path
    ca: CertificateAuthority
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]] = field(default_factory=dict)

    def client(self, name: str, ca: CertificateAuthority | None = None, **validity: datetime) -> Path:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (ca or self.ca).sign_csr(_csr(key, name), name, 30, **validity)
        return self.store(name, cert.public_bytes(serialization.Encoding.PEM), private_key_pem(key))

    def store(self, name: str, cert_pem: bytes, key_pem: bytes) -> Path:
        cert_path, key_path = self.root / f"{name}.crt", self.root / f"{name}.key"
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        self.clients[name] = (cert_path, key_path)
        return cert_path

    def cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.clients[name][0].read_bytes())

    def ctx(self, name: str | None, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        cert, key = self.clients[name] if name else (None, None)
        ctx = client_ssl_context(ca_file=self.ca.cert_path, cert_file=cert, key_file=key)
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = version
        return ctx


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = CertificateAuthority.init(tmp_path / "ca")
    cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
    (tmp_path / "server.crt").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    p = Pki(tmp_path, ca, tmp_path / "server.crt", tmp_path / "server.key")
    for name in ("ven-1", "ven-2", "bl-a", "bl-b"):
        p.client(name)
    return p


# -- a VTN on a real TLS listener ------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    doc: Any
    headers: dict[str, str]


@dataclass
class TlsVtn:
    url: str
    pki: Pki
    store: Store
    server_tls: ServerTls
    app: web.Application

    async def add_client(self, name: str, role: Role, fingerprint: str | None = None) -> str:
        """Register a client whose id is its name; returns the secret."""
        async with self.store.transaction() as tx:
            new = await tx.clients.add(name, role, client_id=name, cert_fingerprint=fingerprint)
        return new.secret

    async def count(self, table: str) -> int:
        async with self.store.read() as tx:
            return int((await tx.conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())

    async def call(
        self,
        cert: str | None,
        method: str,
        path: str,
        token: str | None = None,
        version: ssl.TLSVersion | None = None,
        session: aiohttp.ClientSession | None = None,
        **kw: Any,
    ) -> Reply | None:
        """One request on a fresh connection (or on `session`); None if TLS refused the connection."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        own = session is None
        http = session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.pki.ctx(cert, version), force_close=True)
        )
        try:
            async with http.request(method, self.url + path, headers=headers, **kw) as resp:
                try:
                    doc = await resp.json(content_type=None)
                except ValueError:
                    doc = await resp.text()
                return Reply(resp.status, doc, dict(resp.headers))
        except (aiohttp.ClientError, ssl.SSLError, ConnectionError):
            return None
        finally:
            if own:
                await http.close()

    async def token(self, cert: str | None, client_id: str, secret: str | None = None, **kw: Any) -> Reply:
        form = {"grant_type": "client_credentials", "client_id": client_id}
        if secret is not None:
            form["client_secret"] = secret
        reply = await self.call(cert, "POST", "/auth/token", data=form, **kw)
        assert reply is not None, "the token request was refused at TLS"
        return reply

    async def bearer(self, cert: str | None, client_id: str, secret: str | None = None) -> str:
        reply = await self.token(cert, client_id, secret)
        assert reply.status == 200, reply.doc
        token: str = reply.doc["access_token"]
        return token


StartFn = Callable[..., Awaitable[TlsVtn]]


def _config(db_url: str, pki: Pki, mode: str, ca_dir: Path | None = None, port: int = 0) -> VtnConfig:
    tls = TlsSettings(
        cert_file=str(pki.server_cert),
        key_file=str(pki.server_key),
        client_ca_file=str(pki.ca.cert_path),
        client_cert=mode,
        crl_file=str(pki.ca.crl_path),
    )
    return VtnConfig(
        db_url=db_url,
        tls=tls,
        ca_dir=str(ca_dir) if ca_dir else None,
        delivery_worker=False,
        host="127.0.0.1",
        port=port,
    )


@pytest.fixture
async def start(db_url: str, pki: Pki) -> AsyncIterator[StartFn]:
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def go(mode: str = "required", ca_dir: Path | None = None) -> TlsVtn:
        config = _config(db_url, pki, mode, ca_dir)
        store = open_store(db_url)
        app = await build_app(config, store)
        server_tls = ServerTls(config.tls)
        server_tls.install(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls.context).start()
        cleanups.append(store.close)
        cleanups.append(runner.cleanup)
        port = runner.addresses[0][1]
        return TlsVtn(f"https://127.0.0.1:{port}{BASE}", pki, store, server_tls, app)

    yield go
    for cleanup in reversed(cleanups):
        await cleanup()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="vtn")
    return caplog


async def logged(caplog: pytest.LogCaptureFixture, *parts: str) -> str:
    """The first log line containing every part (waits a little: TLS 1.3 refusals come late)."""
    for _ in range(300):
        for record in caplog.records:
            line = record.getMessage()
            if all(p in line for p in parts):
                return line
        await asyncio.sleep(0.01)
    seen = "\n".join(r.getMessage() for r in caplog.records)
    raise AssertionError(f"no log line with {parts!r}; logged:\n{seen}")


def refused_prefix(cert: x509.Certificate) -> str:
    fp = fingerprint_sha256(cert)
    return f"refused client certificate CN={_cn(cert)} serial=0x{cert.serial_number:x} fingerprint={fp}: "


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


# -- the happy path --------------------------------------------------------------------------------


async def test_token_over_mtls_is_bound_and_the_api_works(start: StartFn, pki: Pki) -> None:
    vtn = await start("required")
    await vtn.add_client("ven-1", Role.VEN)
    bl_secret = await vtn.add_client("bl-a", Role.BL)

    # tls_client_auth: the certificate alone authenticates ven-1, no secret.
    reply = await vtn.token("ven-1", "ven-1")
    assert reply.status == 200, reply.doc
    assert reply.doc["token_type"] == "Bearer"
    ven_token = reply.doc["access_token"]
    assert claims(ven_token)["cnf"] == {"x5t#S256": thumbprint_s256(pki.cert("ven-1"))}
    assert claims(ven_token)["sub"] == "ven-1"

    # A secret over mTLS also gives a token bound to the certificate it came over.
    bl_token = await vtn.bearer("bl-a", "bl-a", bl_secret)
    assert claims(bl_token)["cnf"] == {"x5t#S256": thumbprint_s256(pki.cert("bl-a"))}

    created = await vtn.call("bl-a", "POST", "/programs", bl_token, json=program("p1"))
    assert created is not None and created.status == 201, created
    made = await vtn.call("bl-a", "POST", "/events", bl_token, json=event(created.doc["id"]))
    assert made is not None and made.status == 201, made
    for version in (TLS12, TLS13):
        listed = await vtn.call("ven-1", "GET", "/events", ven_token, version=version)
        assert listed is not None and listed.status == 200
        assert [e["id"] for e in listed.doc] == [made.doc["id"]]
    ven = await vtn.call("ven-1", "POST", "/vens", ven_token, json=ven_ven("ven-one"))
    assert ven is not None and ven.status == 201, ven
    assert await vtn.count("vens") == 1


async def test_tls_client_auth_needs_a_matching_identity_or_registered_fingerprint(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    vtn = await start("required")
    await vtn.add_client("ven-1", Role.VEN)
    # A partner whose certificate names something else: registered by fingerprint instead.
    await vtn.add_client("legacy", Role.VEN, fingerprint=fingerprint_sha256(pki.cert("ven-2")).upper())

    wrong = await vtn.token("ven-2", "ven-1")
    assert wrong.status == 401 and wrong.doc["error"] == "invalid_client"
    await logged(logs, "refused tls_client_auth for 'ven-1'", "CN=ven-2")
    unknown = await vtn.token("ven-2", "nobody")
    assert unknown.status == 401 and unknown.doc["error"] == "invalid_client"

    by_fingerprint = await vtn.token("ven-2", "legacy")
    assert by_fingerprint.status == 200, by_fingerprint.doc
    assert claims(by_fingerprint.doc["access_token"])["sub"] == "legacy"
    assert claims(by_fingerprint.doc["access_token"])["cnf"]["x5t#S256"] == thumbprint_s256(pki.cert("ven-2"))


# -- refusals at the handshake, each with its log line ---------------------------------------------


async def test_required_mode_refuses_a_connection_without_certificate(
    start: StartFn, logs: pytest.LogCaptureFixture
) -> None:
    vtn = await start("required")
    # Even a valid (unbound) BL token gets nowhere without a certificate.
    token = vtn.app[STATE].tokens.issue("bl", Role.BL).access_token
    for version in (TLS12, TLS13):
        logs.clear()
        assert await vtn.call(None, "POST", "/programs", token, version=version, json=program("x")) is None
        await logged(logs, "refused TLS connection: no client certificate presented")
    assert await vtn.count("programs") == 0


@pytest.mark.parametrize("case", ["wrong-ca", "expired", "not-yet-valid", "wrong-eku"])
async def test_bad_certificates_are_refused_at_tls_and_logged(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture, tmp_path: Path, case: str
) -> None:
    now = datetime.now(UTC)
    if case == "wrong-ca":
        pki.client("intruder", ca=CertificateAuthority.init(tmp_path / "other", common_name="Other CA"))
        name, reason, alert = (
            "intruder",
            "certificate is not issued by a trusted CA (issuer CN=Other CA)",
            "unknown_ca",
        )
    elif case == "expired":
        pki.client("old", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
        name, reason, alert = "old", "certificate expired on ", "certificate_expired"
    elif case == "not-yet-valid":
        pki.client("early", not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))
        name, reason, alert = "early", "certificate not yet valid (valid from ", "bad_certificate"
    else:
        cert_pem, key_pem = pki.ca.issue_server("server-not-client")
        pki.store("server-not-client", cert_pem, key_pem)
        name = "server-not-client"
        reason = "certificate is not for client authentication (extended key usage: serverAuth)"
        alert = "unsupported_certificate"
    vtn = await start("required")
    token = vtn.app[STATE].tokens.issue("bl", Role.BL).access_token
    for version in (TLS12, TLS13):
        logs.clear()
        assert await vtn.call(name, "POST", "/programs", token, version=version, json=program("x")) is None
        line = await logged(logs, refused_prefix(pki.cert(name)) + reason)
        assert f"(TLS alert {alert})" in line
    assert await vtn.count("programs") == 0


# -- revocation: CRL reload for new connections, per-request check for open ones --------------------


async def test_revoked_after_reload_refuses_new_and_keep_alive_connections(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    vtn = await start("required")
    await vtn.add_client("ven-1", Role.VEN)
    await vtn.add_client("ven-2", Role.VEN)
    token = await vtn.bearer("ven-1", "ven-1")
    # One pooled connection: the second request below goes over the connection the first opened.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=pki.ctx("ven-1"), limit=1))
    try:
        first = await vtn.call("ven-1", "GET", "/events", token, session=session)
        assert first is not None and first.status == 200

        pki.ca.revoke(pki.cert("ven-1"), reason="keyCompromise")
        vtn.server_tls.reload()

        # New connections would fail at TLS now, so an HTTP answer proves the old connection was used.
        kept = await vtn.call("ven-1", "POST", "/vens", token, session=session, json=ven_ven("v"))
        assert kept is not None, "the keep-alive connection should get an HTTP answer"
        assert kept.status == 401 and kept.headers["Content-Type"].startswith(PROBLEM)
        assert "revoked" in kept.doc["detail"]
        assert kept.headers.get("Connection", "").lower() == "close"
        await logged(
            logs, refused_prefix(pki.cert("ven-1")).removesuffix(": "), "on POST", "certificate revoked on"
        )
    finally:
        await session.close()
    assert await vtn.count("vens") == 0

    for version in (TLS12, TLS13):
        logs.clear()
        assert await vtn.call("ven-1", "GET", "/events", token, version=version) is None
        line = await logged(logs, refused_prefix(pki.cert("ven-1")) + "certificate revoked on ")
        assert "(TLS alert certificate_revoked)" in line
    ok = await vtn.call("ven-2", "GET", "/events", await vtn.bearer("ven-2", "ven-2"))
    assert ok is not None and ok.status == 200


async def test_sighup_reloads_the_crl_of_vtn_serve(
    db_url: str, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(db_url, pki, "required", port=port)
    server = asyncio.create_task(serve_cli.run(config))
    url = f"https://127.0.0.1:{port}/health"
    try:

        async def health(name: str) -> int | None:
            connector = aiohttp.TCPConnector(ssl=pki.ctx(name), force_close=True)
            async with aiohttp.ClientSession(connector=connector) as http:
                try:
                    async with http.get(url) as resp:
                        return resp.status
                except aiohttp.ClientError:
                    return None

        for _ in range(200):
            if await health("ven-1") == 200:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("vtn serve did not come up")
        pki.ca.revoke(pki.cert("ven-1"))
        os.kill(os.getpid(), signal.SIGHUP)
        await logged(logs, "reloaded TLS files", "CRL with 1 revoked")
        assert await health("ven-1") is None
        assert await health("ven-2") == 200
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server


async def test_failed_reload_keeps_the_old_files(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    vtn = await start("required")
    await vtn.add_client("ven-1", Role.VEN)
    pki.ca.crl_path.write_text("garbage")
    assert not vtn.server_tls.reload_logged()
    await logged(logs, "TLS reload failed, still serving the previous certificate and CRL")
    reply = await vtn.token("ven-1", "ven-1")
    assert reply.status == 200


async def test_certificate_without_eku_passes_openssl_but_not_the_request_check(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    # OpenSSL accepts a client certificate with no extended key usage at all; the VTN does not.
    ca_key = serialization.load_pem_private_key((pki.ca.directory / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no-eku")]))
        .issuer_name(pki.ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    pki.store("no-eku", cert.public_bytes(serialization.Encoding.PEM), private_key_pem(key))
    vtn = await start("required")
    reply = await vtn.call("no-eku", "POST", "/auth/token", data={"grant_type": "client_credentials"})
    assert reply is not None and reply.status == 401
    assert "no extended key usage" in reply.doc["detail"]
    await logged(logs, refused_prefix(cert).removesuffix(": "), "on POST", "clientAuth is required")


# -- token binding ---------------------------------------------------------------------------------


async def test_token_bound_to_one_certificate_is_refused_over_another(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    vtn = await start("required")
    secret = await vtn.add_client("bl-a", Role.BL)
    token = await vtn.bearer("bl-a", "bl-a", secret)

    reply = await vtn.call("bl-b", "POST", "/programs", token, json=program("p"))
    assert reply is not None and reply.status == 401, reply
    assert reply.headers["Content-Type"].startswith(PROBLEM)
    assert "different client certificate" in reply.doc["detail"]
    await logged(logs, "refused token of bl-a", "CN=bl-b")
    assert await vtn.count("programs") == 0

    reply = await vtn.call("bl-a", "POST", "/programs", token, json=program("p"))
    assert reply is not None and reply.status == 201
    assert await vtn.count("programs") == 1


async def test_optional_mode_serves_clients_without_certificates(
    start: StartFn, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    vtn = await start("optional")
    secret = await vtn.add_client("ven-1", Role.VEN)
    # No certificate: a normal, unbound token from the secret.
    token = await vtn.bearer(None, "ven-1", secret)
    assert "cnf" not in claims(token)
    listed = await vtn.call(None, "GET", "/events", token)
    assert listed is not None and listed.status == 200
    created = await vtn.call(None, "POST", "/vens", token, json=ven_ven("plain"))
    assert created is not None and created.status == 201
    # No secret and no certificate is still an error.
    missing = await vtn.token(None, "ven-1")
    assert missing.status == 400 and missing.doc["error"] == "invalid_request"

    # The same VEN with its certificate gets a bound token, which then needs the certificate.
    bound = await vtn.bearer("ven-1", "ven-1")
    reply = await vtn.call(None, "POST", "/vens", bound, json=ven_ven("no-cert"))
    assert reply is not None and reply.status == 401
    assert "bound to a client certificate" in reply.doc["detail"]
    await logged(logs, "refused token of ven-1", "none presented")
    assert await vtn.count("vens") == 1
    # Invalid certificates are still refused at TLS in optional mode.
    now = datetime.now(UTC)
    pki.client("old", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    assert await vtn.call("old", "GET", "/events", token) is None
    await logged(logs, refused_prefix(pki.cert("old")) + "certificate expired on ")


# -- onboarding over the API -----------------------------------------------------------------------


async def test_onboarding_over_the_api_then_mutual_tls(start: StartFn, pki: Pki, tmp_path: Path) -> None:
    vtn = await start("optional", ca_dir=pki.ca.directory)
    secret = await vtn.add_client("ven-9", Role.VEN)
    other_secret = await vtn.add_client("ven-8", Role.VEN)
    bl_secret = await vtn.add_client("bl", Role.BL)
    token = await vtn.bearer(None, "ven-9", secret)

    key_path, csr_path = make_key_and_csr("ven-9", tmp_path / "ven9")
    bad = await vtn.call(None, "POST", "/certificates/requests", token, json={"csr": "not a csr"})
    assert bad is not None and bad.status == 400 and bad.doc["pointer"] == "/csr"
    submitted = await vtn.call(
        None, "POST", "/certificates/requests", token, json={"csr": csr_path.read_text()}
    )
    assert submitted is not None and submitted.status == 202, submitted
    request_id = submitted.doc["requestID"]
    assert submitted.doc["status"] == "pending" and submitted.doc["clientID"] == "ven-9"
    assert submitted.headers["Location"].endswith(f"/certificates/requests/{request_id}")
    assert [r.request_id for r in pki.ca.pending_requests()] == [request_id]

    path = f"/certificates/requests/{request_id}"
    pending = await vtn.call(None, "GET", path, token)
    assert pending is not None and pending.status == 200
    assert pending.doc["status"] == "pending" and "certificate" not in pending.doc
    stranger = await vtn.call(None, "GET", path, await vtn.bearer(None, "ven-8", other_secret))
    assert stranger is not None and stranger.status == 404
    operator = await vtn.call(None, "GET", path, await vtn.bearer(None, "bl", bl_secret))
    assert operator is not None and operator.status == 200 and operator.doc["clientID"] == "ven-9"
    malformed = await vtn.call(None, "GET", "/certificates/requests/..%2Fca", token)
    assert malformed is not None and malformed.status == 404

    cert = pki.ca.approve(request_id)  # what `vtn ca approve <id>` does
    approved = await vtn.call(None, "GET", path, token)
    assert approved is not None and approved.status == 200
    assert approved.doc["status"] == "approved"
    assert approved.doc["caChain"] == pki.ca.cert_path.read_text()
    assert approved.doc["fingerprint"] == fingerprint_sha256(cert)
    pki.store("ven-9", approved.doc["certificate"].encode(), key_path.read_bytes())

    bound = await vtn.token("ven-9", "ven-9")
    assert bound.status == 200, bound.doc
    assert claims(bound.doc["access_token"])["cnf"]["x5t#S256"] == thumbprint_s256(cert)
    listed = await vtn.call("ven-9", "GET", "/events", bound.doc["access_token"])
    assert listed is not None and listed.status == 200


async def test_onboarding_is_404_when_not_configured(vtn: Vtn) -> None:
    bl = await vtn.login("bl", Role.BL)
    for resp in (
        await bl.post("/certificates/requests", json={"csr": "x"}),
        await bl.get("/certificates/requests/" + "0" * 32),
    ):
        assert resp.status == 404
        doc = await resp.json()
        assert doc["detail"] == "certificate onboarding is not configured"
    assert (await vtn.client.post(BASE + "/certificates/requests", json={"csr": "x"})).status == 401


# -- small pieces ----------------------------------------------------------------------------------


def test_first_certificate_parses_both_tls_layouts() -> None:
    der = b"\x30\x82" + bytes(range(40))
    entry = len(der).to_bytes(3, "big") + der
    tls12 = b"\x0b" + (3 + len(entry)).to_bytes(3, "big") + len(entry).to_bytes(3, "big") + entry
    entry13 = entry + b"\x00\x00"
    body13 = b"\x00" + len(entry13).to_bytes(3, "big") + entry13
    tls13 = b"\x0b" + len(body13).to_bytes(3, "big") + body13
    assert first_certificate(tls12, 0x0303) == der
    assert first_certificate(tls13, 0x0304) == der
    assert first_certificate(b"\x0b\x00\x00\x03\x00\x00\x00", 0x0303) == b""
    assert first_certificate(b"\x0b\x00\x00\x04\x00\x00\x00\x00", 0x0304) == b""
    assert first_certificate(b"\x0b\x00\x00\x02\x00\x09", 0x0303) is None


def test_server_tls_settings_are_checked(pki: Pki) -> None:
    assert ServerTls.from_settings(TlsSettings()) is None
    with pytest.raises(ValueError, match="go together"):
        ServerTls.from_settings(TlsSettings(cert_file=str(pki.server_cert)))
    with pytest.raises(ValueError, match="need HTTPS"):
        ServerTls.from_settings(TlsSettings(client_cert="required", client_ca_file=str(pki.ca.cert_path)))
    with pytest.raises(ValueError, match="needs client_ca_file"):
        ServerTls.from_settings(
            TlsSettings(cert_file=str(pki.server_cert), key_file=str(pki.server_key), client_cert="required")
        )
    other = CertificateAuthority.init(pki.root / "other")
    with pytest.raises(ValueError, match="not signed by any CA"):
        ServerTls.from_settings(
            TlsSettings(
                cert_file=str(pki.server_cert),
                key_file=str(pki.server_key),
                client_cert="required",
                client_ca_file=str(pki.ca.cert_path),
                crl_file=str(other.crl_path),
            )
        )


# -- observability: probes without a certificate, refusals counted ---------------------------------


async def test_health_listener_answers_without_a_certificate_and_refusals_are_counted(
    db_url: str, pki: Pki, logs: pytest.LogCaptureFixture
) -> None:
    port, health_port = (_free_port() for _ in range(2))
    config = dataclasses.replace(_config(db_url, pki, "required", port=port), health_port=health_port)
    server = asyncio.create_task(serve_cli.run(config))
    plain = f"http://127.0.0.1:{health_port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(plain + "/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the health listener did not come up")
            async with http.get(plain + "/ready") as resp:
                assert resp.status == 200, await resp.text()
            # Only the three probe paths: the API is not reachable around the certificate check.
            async with http.get(plain + BASE + "/programs") as resp:
                assert resp.status == 404
        # The API listener refuses a connection without a certificate.
        connector = aiohttp.TCPConnector(ssl=pki.ctx(None), force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
                async with http.get(f"https://127.0.0.1:{port}/health") as resp:
                    await resp.read()
        await logged(logs, "refused TLS connection: no client certificate presented")
        async with aiohttp.ClientSession() as http, http.get(plain + "/metrics") as resp:
            text = await resp.text()
        # One count per refused handshake (aiohttp may have tried twice): as many as log lines.
        refused = sum("no client certificate presented" in r.getMessage() for r in logs.records)
        assert f'vtn_tls_refusals_total{{reason="no_certificate"}} {float(refused)}' in text
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server


def test_refusal_reasons_become_bounded_labels() -> None:
    cases = {
        "certificate expired on 2020-01-01T00:00:00+00:00": "certificate_expired",
        "certificate not yet valid (valid from 2040-01-01T00:00:00+00:00)": "certificate_not_yet_valid",
        "certificate revoked on 2026-01-01T00:00:00+00:00": "certificate_revoked",
        "certificate has no extended key usage; clientAuth is required": "unsupported_certificate",
        "certificate is not for client authentication (extended key usage: a)": "unsupported_certificate",
        "unparseable certificate: bad DER": "unparseable",
        "something new": "bad_certificate",
    }
    assert {reason: refusal_label(reason) for reason in cases} == cases


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
