"""shared.tls: fingerprints, identities, and real mutual-TLS handshakes on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import (
    ClientConnectorCertificateError,
    ClientSession,
    Fingerprint,
    ServerFingerprintMismatch,
    web,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.tls import (
    PinMismatchError,
    ReloadableServerTLS,
    check_client_certificate,
    client_identity,
    client_ssl_context,
    fingerprint_sha256,
    fingerprint_short_2b,
    load_crl,
    normalize_pin,
    pin_digest,
    server_ssl_context,
    thumbprint_s256,
    verify_pin,
)
from vtn.pki import CertificateAuthority, private_key_pem

TLS_VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


def _csr(key: ec.EllipticCurvePrivateKey, cn: str) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


@dataclass
class Pki:
    """A CA with a server certificate and a set of client certificate/key files."""

    root: Path
    ca: CertificateAuthority
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]] = field(default_factory=dict)

    def client(self, name: str, ca: CertificateAuthority | None = None, **kw: datetime) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (ca or self.ca).sign_csr(_csr(key, name), name, 30, **kw)
        cert_path, key_path = self.root / f"{name}.crt", self.root / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(private_key_pem(key))
        self.clients[name] = (cert_path, key_path)
        return cert_path, key_path

    @property
    def ca_file(self) -> Path:
        return self.ca.cert_path

    def client_ctx(self, name: str | None, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        cert, key = self.clients[name] if name else (None, None)
        ctx = client_ssl_context(ca_file=self.ca_file, cert_file=cert, key_file=key)
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = version
        return ctx

    def server_ctx(self, mode: str = "required", crl: bool = True) -> ssl.SSLContext:
        return server_ssl_context(
            self.server_cert,
            self.server_key,
            client_ca_file=self.ca_file,
            client_cert_mode=mode,  # type: ignore[arg-type]
            crl_file=self.ca.crl_path if crl else None,
        )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = CertificateAuthority.init(tmp_path / "ca")
    cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
    (tmp_path / "server.crt").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    p = Pki(tmp_path, ca, tmp_path / "server.crt", tmp_path / "server.key")
    p.client("ven-1")
    p.client("ven-2")
    return p


@dataclass
class EchoServer:
    port: int
    peers: list[bytes | None]
    errors: list[BaseException]
    seen: int = 0

    async def refusal(self) -> str:
        """The server's reason for the next unseen failed handshake (e.g. "certificate revoked")."""
        for _ in range(200):
            if len(self.errors) > self.seen:
                self.seen += 1
                return str(self.errors[self.seen - 1])
            await asyncio.sleep(0.01)
        return "no handshake failure reported"


ServeFn = Callable[[ssl.SSLContext], Awaitable[EchoServer]]


@pytest.fixture
async def serve() -> AsyncIterator[ServeFn]:
    servers: list[asyncio.Server] = []
    errors: list[BaseException] = []
    loop = asyncio.get_running_loop()
    # In debug mode asyncio reports failed incoming handshakes to the exception handler,
    # which lets the tests check *why* OpenSSL refused a client.
    loop.set_debug(True)
    loop.set_exception_handler(
        lambda _loop, context: errors.append(context.get("exception") or Exception("?"))
    )

    async def start(ctx: ssl.SSLContext) -> EchoServer:
        peers: list[bytes | None] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peers.append(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
            try:
                writer.write(await reader.read(100))
                await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
        servers.append(server)
        return EchoServer(server.sockets[0].getsockname()[1], peers, errors)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    loop.set_exception_handler(None)


async def roundtrip(port: int, ctx: ssl.SSLContext, server_hostname: str = "localhost") -> bool:
    """True if a TLS connection carries a ping back; False if the handshake or the read fails.

    In TLS 1.3 the client finishes its handshake before the server has checked the client
    certificate, so a rejection shows up as an alert or EOF on the first read.
    """
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=server_hostname), 10
        )
    except (ssl.SSLError, ConnectionError):
        return False
    try:
        writer.write(b"ping")
        await writer.drain()
        return await asyncio.wait_for(reader.read(100), 10) == b"ping"
    except (ssl.SSLError, ConnectionError):
        return False
    finally:
        writer.close()


# -- certificate facts ---------------------------------------------------------------------------


def test_fingerprint_sha256_matches_cryptography_for_every_input_form(pki: Pki) -> None:
    cert = x509.load_pem_x509_certificate(pki.clients["ven-1"][0].read_bytes())
    expected = cert.fingerprint(hashes.SHA256()).hex()
    pem = cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert {fingerprint_sha256(x) for x in (cert, pem, pem.decode(), der)} == {expected}
    assert re.fullmatch(r"[0-9a-f]{64}", expected)


def test_fingerprint_short_2b_is_last_ten_bytes_upper_hex(pki: Pki) -> None:
    cert = x509.load_pem_x509_certificate(pki.clients["ven-1"][0].read_bytes())
    short = fingerprint_short_2b(cert)
    digest = cert.fingerprint(hashes.SHA256())
    assert len(short) == 29
    assert re.fullmatch(r"([0-9A-F]{2}:){9}[0-9A-F]{2}", short)
    assert short == ":".join(f"{b:02X}" for b in digest[-10:])
    assert short.replace(":", "").lower() == digest.hex()[-20:]
    assert fingerprint_short_2b(cert.public_bytes(serialization.Encoding.DER)) == short


def test_thumbprint_s256_is_base64url_of_sha256(pki: Pki) -> None:
    cert = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    raw = base64.urlsafe_b64decode(thumbprint_s256(cert) + "=")
    assert raw == cert.fingerprint(hashes.SHA256())


def test_client_identity_prefers_san_uri_then_cn(pki: Pki) -> None:
    assert client_identity(pki.clients["ven-1"][0].read_bytes()) == "ven-1"
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)

    def self_signed(name: x509.Name) -> x509.Certificate:
        builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        builder = builder.serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        return builder.sign(key, hashes.SHA256())

    assert (
        client_identity(self_signed(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "legacy")])))
        == "legacy"
    )
    assert (
        client_identity(self_signed(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "x")]))) is None
    )


def test_check_client_certificate_reasons(pki: Pki) -> None:
    der = x509.load_pem_x509_certificate(pki.clients["ven-1"][0].read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    assert check_client_certificate(der) is None
    assert "expired" in (check_client_certificate(der, now=datetime.now(UTC) + timedelta(days=60)) or "")
    assert "not yet valid" in (check_client_certificate(der, now=datetime.now(UTC) - timedelta(days=1)) or "")
    server_der = x509.load_pem_x509_certificate(pki.server_cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    reason = check_client_certificate(server_der)
    assert reason is not None and "client authentication" in reason and "serverAuth" in reason
    assert "unparseable" in (check_client_certificate(b"junk") or "")


def test_check_client_certificate_reports_revocation_from_crl(pki: Pki) -> None:
    cert = x509.load_pem_x509_certificate(pki.clients["ven-1"][0].read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert check_client_certificate(der, crl=pki.ca.crl()) is None
    pki.ca.revoke(cert)
    assert "revoked" in (check_client_certificate(der, crl=pki.ca.crl()) or "")


# -- context construction ------------------------------------------------------------------------


def test_server_context_settings(pki: Pki) -> None:
    ctx = pki.server_ctx("required")
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert ctx.cert_store_stats()["crl"] == 1
    assert pki.server_ctx("optional", crl=False).verify_mode == ssl.CERT_OPTIONAL
    plain = server_ssl_context(pki.server_cert, pki.server_key)
    assert plain.verify_mode == ssl.CERT_NONE
    assert not plain.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF


def test_server_context_rejects_bad_arguments(pki: Pki) -> None:
    with pytest.raises(ValueError, match="client_ca_file"):
        server_ssl_context(pki.server_cert, pki.server_key, client_cert_mode="required")
    with pytest.raises(ValueError, match="client_cert_mode"):
        server_ssl_context(pki.server_cert, pki.server_key, client_cert_mode="always")  # type: ignore[arg-type]
    junk = pki.root / "junk.pem"
    junk.write_text("not a CRL")
    with pytest.raises(ValueError, match="no PEM CRL"):
        server_ssl_context(pki.server_cert, pki.server_key, crl_file=junk)


def test_cadata_cannot_carry_a_crl(pki: Pki) -> None:
    # Why load_crl goes through cafile: Python's cadata parser reads certificates only.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ssl.SSLError):
        ctx.load_verify_locations(cadata=pki.ca.crl_path.read_text())
    load_crl(ctx, pki.ca.crl_path)
    assert ctx.cert_store_stats()["crl"] == 1


def test_client_context_modes(pki: Pki) -> None:
    verified = client_ssl_context(ca_file=pki.ca_file)
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert verified.minimum_version == ssl.TLSVersion.TLSv1_2
    insecure = client_ssl_context(insecure=True)
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    with pytest.raises(ValueError):
        client_ssl_context(insecure=True, pin_sha256="00" * 32)
    with pytest.raises(ValueError):
        client_ssl_context(key_file=pki.server_key)


def test_normalize_pin_and_digest() -> None:
    fp = hashlib.sha256(b"x").hexdigest()
    colon_upper = ":".join(fp[i : i + 2] for i in range(0, 64, 2)).upper()
    assert normalize_pin(colon_upper) == fp
    assert pin_digest(fp) == hashlib.sha256(b"x").digest()
    with pytest.raises(ValueError):
        normalize_pin("abcd")


# -- real handshakes -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls12", "tls13"])
async def test_handshake_with_valid_client_certificate(
    pki: Pki, serve: ServeFn, version: ssl.TLSVersion
) -> None:
    server = await serve(pki.server_ctx("required"))
    assert await roundtrip(server.port, pki.client_ctx("ven-1", version))
    peer = server.peers[-1]
    assert peer is not None and client_identity(peer) == "ven-1"
    assert check_client_certificate(peer) is None
    # The IP SAN lets clients connect by address too (no SNI is sent for IP literals).
    assert await roundtrip(server.port, pki.client_ctx("ven-2", version), server_hostname="127.0.0.1")


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls12", "tls13"])
async def test_required_mode_refuses_client_without_certificate(
    pki: Pki, serve: ServeFn, version: ssl.TLSVersion
) -> None:
    server = await serve(pki.server_ctx("required"))
    assert not await roundtrip(server.port, pki.client_ctx(None, version))
    assert "peer did not return a certificate" in await server.refusal()


async def test_optional_mode_accepts_client_without_certificate(pki: Pki, serve: ServeFn) -> None:
    server = await serve(pki.server_ctx("optional"))
    assert await roundtrip(server.port, pki.client_ctx(None))
    assert server.peers == [None]
    assert await roundtrip(server.port, pki.client_ctx("ven-1"))
    assert server.peers[-1] is not None


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls12", "tls13"])
async def test_certificate_from_another_ca_is_refused(
    pki: Pki, serve: ServeFn, version: ssl.TLSVersion, tmp_path: Path
) -> None:
    other = CertificateAuthority.init(tmp_path / "other-ca")
    pki.client("intruder", ca=other)
    server = await serve(pki.server_ctx("required"))
    assert not await roundtrip(server.port, pki.client_ctx("intruder", version))
    assert "unable to get local issuer certificate" in await server.refusal()


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls12", "tls13"])
async def test_expired_and_future_certificates_are_refused(
    pki: Pki, serve: ServeFn, version: ssl.TLSVersion
) -> None:
    now = datetime.now(UTC)
    pki.client("expired", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    pki.client("future", not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))
    server = await serve(pki.server_ctx("required"))
    assert not await roundtrip(server.port, pki.client_ctx("expired", version))
    assert "certificate has expired" in await server.refusal()
    assert not await roundtrip(server.port, pki.client_ctx("future", version))
    assert "certificate is not yet valid" in await server.refusal()
    assert await roundtrip(server.port, pki.client_ctx("ven-1", version))


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls12", "tls13"])
async def test_server_auth_only_certificate_is_refused_as_client(
    pki: Pki, serve: ServeFn, version: ssl.TLSVersion
) -> None:
    # OpenSSL verifies client certificates with the "sslclient" purpose: an EKU without
    # clientAuth fails the handshake ("unsupported certificate purpose").
    cert_pem, key_pem = pki.ca.issue_server("not-a-client.example")
    (pki.root / "wrong.crt").write_bytes(cert_pem)
    (pki.root / "wrong.key").write_bytes(key_pem)
    pki.clients["wrong"] = (pki.root / "wrong.crt", pki.root / "wrong.key")
    server = await serve(pki.server_ctx("required"))
    assert not await roundtrip(server.port, pki.client_ctx("wrong", version))
    assert "unsuitable certificate purpose" in await server.refusal()
    assert "client authentication" in (check_client_certificate(cert_pem) or "")


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls12", "tls13"])
async def test_revoked_certificate_refused_after_reload(
    pki: Pki, serve: ServeFn, version: ssl.TLSVersion
) -> None:
    tls = ReloadableServerTLS(
        pki.server_cert,
        pki.server_key,
        client_ca_file=pki.ca_file,
        client_cert_mode="required",
        crl_file=pki.ca.crl_path,
    )
    listener_ctx = tls.context
    server = await serve(listener_ctx)
    assert await roundtrip(server.port, pki.client_ctx("ven-1", version))

    pki.ca.revoke(x509.load_pem_x509_certificate(pki.clients["ven-1"][0].read_bytes()))
    # Not reloaded yet: the server still holds the old CRL.
    assert await roundtrip(server.port, pki.client_ctx("ven-1", version))

    tls.reload()
    assert tls.context is listener_ctx
    assert not await roundtrip(server.port, pki.client_ctx("ven-1", version))
    assert "certificate revoked" in await server.refusal()
    assert not await roundtrip(server.port, pki.client_ctx("ven-1", version), server_hostname="127.0.0.1")
    assert "certificate revoked" in await server.refusal()
    assert await roundtrip(server.port, pki.client_ctx("ven-2", version))


def _blocking_roundtrip(
    port: int, ctx: ssl.SSLContext, session: ssl.SSLSession | None
) -> tuple[bool, bool, ssl.SSLSession | None]:
    """(echoed, session_reused, session) over a blocking socket, which can offer a session."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
                tls.sendall(b"ping")
                return tls.recv(100) == b"ping", bool(tls.session_reused), tls.session
        except (ssl.SSLError, ConnectionError):
            return False, False, None


async def test_tls12_session_from_before_reload_cannot_be_resumed(pki: Pki, serve: ServeFn) -> None:
    # Resumption skips client-certificate verification; without this a revoked client could
    # come back on its cached TLS 1.2 session for up to two hours (OpenSSL's default timeout).
    tls = ReloadableServerTLS(
        pki.server_cert,
        pki.server_key,
        client_ca_file=pki.ca_file,
        client_cert_mode="required",
        crl_file=pki.ca.crl_path,
    )
    server = await serve(tls.context)
    sessions = {}
    for name in ("ven-1", "ven-2"):
        ctx = pki.client_ctx(name, ssl.TLSVersion.TLSv1_2)
        ok, reused, session = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, None)
        assert ok and not reused
        ok, reused, session = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, session)
        assert ok and reused
        sessions[name] = (ctx, session)

    pki.ca.revoke(x509.load_pem_x509_certificate(pki.clients["ven-1"][0].read_bytes()))
    tls.reload()
    ctx, session = sessions["ven-1"]
    ok, _, _ = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, session)
    assert not ok
    assert "callback failed" in await server.refusal()
    ok, _, _ = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, None)
    assert not ok
    assert "certificate revoked" in await server.refusal()

    # A client in good standing loses its old session once, then resumes normally again.
    ctx, session = sessions["ven-2"]
    ok, _, _ = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, session)
    assert not ok
    await asyncio.sleep(1.1)  # session times have one-second resolution
    ok, reused, session = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, None)
    assert ok and not reused
    ok, reused, _ = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, session)
    assert ok and reused


async def test_tls13_sessions_are_not_resumable(pki: Pki, serve: ServeFn) -> None:
    server = await serve(pki.server_ctx("required"))
    ctx = pki.client_ctx("ven-1", ssl.TLSVersion.TLSv1_3)
    ok, _, session = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, None)
    assert ok
    ok, reused, _ = await asyncio.to_thread(_blocking_roundtrip, server.port, ctx, session)
    assert ok and not reused


async def test_reload_serves_new_server_certificate(pki: Pki, serve: ServeFn) -> None:
    tls = ReloadableServerTLS(pki.server_cert, pki.server_key)
    server = await serve(tls.context)
    old_fp = fingerprint_sha256(pki.server_cert.read_bytes())
    assert await roundtrip(server.port, client_ssl_context(ca_file=pki.ca_file, pin_sha256=old_fp))

    cert_pem, key_pem = pki.ca.issue_server("localhost", ["127.0.0.1"])
    pki.server_cert.write_bytes(cert_pem)
    pki.server_key.write_bytes(key_pem)
    tls.reload()
    new_fp = fingerprint_sha256(cert_pem)
    assert await roundtrip(server.port, client_ssl_context(ca_file=pki.ca_file, pin_sha256=new_fp))
    with pytest.raises(PinMismatchError):
        await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=client_ssl_context(pin_sha256=old_fp), server_hostname="localhost"
        )


async def test_failed_reload_keeps_serving_old_files(pki: Pki, serve: ServeFn) -> None:
    tls = ReloadableServerTLS(
        pki.server_cert,
        pki.server_key,
        client_ca_file=pki.ca_file,
        client_cert_mode="required",
        crl_file=pki.ca.crl_path,
    )
    server = await serve(tls.context)
    pki.ca.crl_path.write_text("garbage")
    with pytest.raises(ValueError):
        tls.reload()
    assert await roundtrip(server.port, pki.client_ctx("ven-1"))


# -- pinning -------------------------------------------------------------------------------------


async def test_pinned_client_accepts_right_pin_and_refuses_wrong_one(pki: Pki, serve: ServeFn) -> None:
    server = await serve(pki.server_ctx("required"))
    ven_cert, ven_key = pki.clients["ven-1"]
    right = fingerprint_sha256(pki.server_cert.read_bytes())
    # The pin alone authenticates the server (no CA file), with a client certificate as well.
    ctx = client_ssl_context(cert_file=ven_cert, key_file=ven_key, pin_sha256=right.upper())
    assert await roundtrip(server.port, ctx)

    wrong = hashlib.sha256(b"someone else").hexdigest()
    ctx = client_ssl_context(cert_file=ven_cert, key_file=ven_key, pin_sha256=wrong)
    with pytest.raises(PinMismatchError, match="does not match"):
        await asyncio.open_connection("127.0.0.1", server.port, ssl=ctx, server_hostname="localhost")
    assert issubclass(PinMismatchError, ssl.SSLError)


def _connect_blocking(port: int, ctx: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version() or ""


async def test_verify_pin_helper_and_blocking_sockets(pki: Pki, serve: ServeFn) -> None:
    server = await serve(server_ssl_context(pki.server_cert, pki.server_key))
    right = fingerprint_sha256(pki.server_cert.read_bytes())
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, ssl=client_ssl_context(ca_file=pki.ca_file), server_hostname="localhost"
    )
    ssl_object = writer.get_extra_info("ssl_object")
    assert verify_pin(ssl_object, right) == right
    with pytest.raises(PinMismatchError):
        verify_pin(ssl_object, "00" * 32)
    writer.close()

    assert await asyncio.to_thread(_connect_blocking, server.port, client_ssl_context(pin_sha256=right))
    with pytest.raises(PinMismatchError):
        await asyncio.to_thread(_connect_blocking, server.port, client_ssl_context(pin_sha256="11" * 32))


async def test_ca_verified_client_checks_hostname(pki: Pki, serve: ServeFn) -> None:
    server = await serve(server_ssl_context(pki.server_cert, pki.server_key))
    assert await roundtrip(server.port, client_ssl_context(ca_file=pki.ca_file))
    assert not await roundtrip(
        server.port, client_ssl_context(ca_file=pki.ca_file), server_hostname="wrong.example"
    )


def _ca_signed_crl(pki: Pki, last: datetime, next_: datetime) -> bytes:
    key = serialization.load_pem_private_key((pki.ca.directory / "ca.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    builder = x509.CertificateRevocationListBuilder().issuer_name(pki.ca.certificate.subject)
    crl = builder.last_update(last).next_update(next_).sign(key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


def test_load_crl_refuses_expired_crl_and_smuggled_certificates(pki: Pki) -> None:
    now = datetime.now(UTC)
    expired = pki.root / "expired-crl.pem"
    expired.write_bytes(_ca_signed_crl(pki, now - timedelta(days=10), now - timedelta(days=1)))
    with pytest.raises(ValueError, match="expired"):
        server_ssl_context(pki.server_cert, pki.server_key, client_ca_file=pki.ca_file, crl_file=expired)
    mixed = pki.root / "mixed.pem"
    mixed.write_bytes(pki.ca.crl_path.read_bytes() + pki.server_cert.read_bytes())
    with pytest.raises(ValueError, match="contains a certificate"):
        server_ssl_context(pki.server_cert, pki.server_key, client_ca_file=pki.ca_file, crl_file=mixed)


# -- aiohttp interop (the docstrings promise these work) -----------------------------------------


async def test_aiohttp_client_with_pinned_context_and_fingerprint(pki: Pki) -> None:
    async def whoami(request: web.Request) -> web.Response:
        assert request.transport is not None
        der = request.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return web.Response(text=str(client_identity(der) if der else None))

    app = web.Application()
    app.router.add_get("/", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=pki.server_ctx("optional")).start()
    port = runner.addresses[0][1]
    url = f"https://127.0.0.1:{port}/"
    right = fingerprint_sha256(pki.server_cert.read_bytes())
    wrong = "ab" * 32
    ven_cert, ven_key = pki.clients["ven-1"]
    try:
        async with ClientSession() as http:
            ctx = client_ssl_context(cert_file=ven_cert, key_file=ven_key, pin_sha256=right)
            async with http.get(url, ssl=ctx) as resp:
                assert await resp.text() == "ven-1"
            ctx = client_ssl_context(cert_file=ven_cert, key_file=ven_key, pin_sha256=wrong)
            with pytest.raises(ClientConnectorCertificateError) as info:
                await http.get(url, ssl=ctx)
            assert isinstance(info.value.certificate_error, PinMismatchError)

            async with http.get(url, ssl=Fingerprint(pin_digest(right))) as resp:
                assert await resp.text() == "None"  # aiohttp's own context sends no client cert
            with pytest.raises(ServerFingerprintMismatch):
                await http.get(url, ssl=Fingerprint(pin_digest(wrong)))
    finally:
        await runner.cleanup()
