"""Certificate helpers and TLS context builders for mutual TLS (stdlib `ssl` + `cryptography` only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import ssl
import time
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_URI_PREFIX = "urn:energy-coordination:client:"

ClientCertMode = Literal["none", "optional", "required"]
CertInput = x509.Certificate | bytes | str
StrPath = str | os.PathLike[str]

_VERIFY_MODES: dict[str, ssl.VerifyMode] = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}


# -- certificate facts ---------------------------------------------------------------------------


def load_certificate(cert: CertInput) -> x509.Certificate:
    """Accept a parsed certificate, PEM (str or bytes) or DER bytes."""
    if isinstance(cert, x509.Certificate):
        return cert
    data = cert.encode() if isinstance(cert, str) else cert
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _der(cert: CertInput) -> bytes:
    if isinstance(cert, bytes) and b"-----BEGIN" not in cert:
        return cert
    return load_certificate(cert).public_bytes(Encoding.DER)


def fingerprint_sha256(cert: CertInput) -> str:
    """SHA-256 over the DER certificate, lower-case hex without colons."""
    return hashlib.sha256(_der(cert)).hexdigest()


def fingerprint_short_2b(cert: CertInput) -> str:
    """OpenADR 2.0b short fingerprint: last 10 bytes of the SHA-256, `AB:CD:...` (29 characters)."""
    tail = hashlib.sha256(_der(cert)).digest()[-10:]
    return ":".join(f"{b:02X}" for b in tail)


def thumbprint_s256(cert: CertInput) -> str:
    """RFC 8705 `x5t#S256` certificate thumbprint: base64url SHA-256 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(_der(cert)).digest()).rstrip(b"=").decode()


def san_client_id(cert: CertInput) -> str | None:
    """The client id from a `urn:energy-coordination:client:<id>` SAN URI, if present."""
    try:
        san = load_certificate(cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(CLIENT_URI_PREFIX) and len(uri) > len(CLIENT_URI_PREFIX):
            return uri[len(CLIENT_URI_PREFIX) :]
    return None


def client_identity(cert: CertInput) -> str | None:
    """Client id from the SAN URI, else the subject CN, else None."""
    parsed = load_certificate(cert)
    found = san_client_id(parsed)
    if found is not None:
        return found
    cns = parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def check_client_certificate(
    cert_der: bytes,
    *,
    now: datetime | None = None,
    crl: x509.CertificateRevocationList | None = None,
) -> str | None:
    """Why a client certificate is unusable (for log lines), or None if it looks fine.

    This repeats checks OpenSSL makes during the handshake so the VTN can log a clear reason,
    and adds the clientAuth check for certificates without any EKU (which OpenSSL accepts).
    With `crl` (whose signature the caller trusts), a listed serial is reported too: TLS-level
    CRL checks miss connections opened before a revocation and resumed TLS 1.2 sessions.
    """
    try:
        cert = load_certificate(cert_der)
    except ValueError as exc:
        return f"unparseable certificate: {exc}"
    now = now or datetime.now(UTC)
    if now < cert.not_valid_before_utc:
        return f"certificate not yet valid (valid from {cert.not_valid_before_utc.isoformat()})"
    if now > cert.not_valid_after_utc:
        return f"certificate expired on {cert.not_valid_after_utc.isoformat()}"
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "certificate has no extended key usage; clientAuth is required"
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
        usages = ", ".join(_EKU_NAMES.get(oid, oid.dotted_string) for oid in eku)
        return f"certificate is not for client authentication (extended key usage: {usages})"
    if crl is not None and cert.issuer == crl.issuer:
        revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if revoked is not None:
            return f"certificate revoked on {revoked.revocation_date_utc.isoformat()}"
    return None


# -- server side ---------------------------------------------------------------------------------


def load_crl(context: ssl.SSLContext, crl_file: StrPath, *, now: datetime | None = None) -> None:
    """Add the CRL(s) in a PEM file to `context` and turn on leaf CRL checking.

    `load_verify_locations(cadata=...)` only reads certificates, so the CRL goes in through
    `cafile`, which OpenSSL reads with X509_load_cert_crl_file (certificates and CRLs). That
    would also trust any certificate in the file, so files holding one are refused. A CRL past
    its nextUpdate makes OpenSSL fail every client handshake; refusing it here says why.
    """
    with open(crl_file, "rb") as fh:
        data = fh.read()
    name = os.fspath(crl_file)
    if b"-----BEGIN CERTIFICATE-----" in data:
        raise ValueError(f"{name} contains a certificate: a CRL file must hold CRLs only")
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise ValueError(f"{name} holds no PEM CRL: {exc}") from exc
    next_update = crl.next_update_utc
    if next_update is not None and next_update < (now or datetime.now(UTC)):
        raise ValueError(f"{name} expired on {next_update.isoformat()}: re-sign it (`vtn ca crl`)")
    context.load_verify_locations(cafile=crl_file)
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def server_ssl_context(
    cert_file: StrPath,
    key_file: StrPath,
    *,
    client_ca_file: StrPath | None = None,
    client_cert_mode: ClientCertMode = "none",
    crl_file: StrPath | None = None,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context; with a client CA, it can ask for or require client certificates."""
    if client_cert_mode not in _VERIFY_MODES:
        raise ValueError(f"client_cert_mode must be none, optional or required (got {client_cert_mode!r})")
    if client_cert_mode != "none" and client_ca_file is None:
        raise ValueError(f"client_cert_mode={client_cert_mode!r} needs client_ca_file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.verify_mode = _VERIFY_MODES[client_cert_mode]
    if client_ca_file is not None:
        context.load_verify_locations(cafile=client_ca_file)
    if crl_file is not None:
        load_crl(context, crl_file)
    # Resumption skips client-certificate checks, so a client revoked after its first handshake
    # could come back on a ticket; tickets are cheap to give up for a handful of VENs. TLS 1.2
    # session-id resumption cannot be turned off from Python: see ReloadableServerTLS._select.
    context.num_tickets = 0
    context.options |= ssl.OP_NO_TICKET
    return context


class ReloadableServerTLS:
    """A server context whose certificate, key, client CA and CRL can be reloaded in place.

    Give `self.context` to the listener once; it stays the same object across reloads.
    Loading a new CRL into the same context is not enough: OpenSSL keeps every CRL it was
    given and only prefers a newer one whose lastUpdate is later by at least a second, and it
    never drops a CA. So `reload()` builds a fresh context, and the SNI callback (which OpenSSL
    runs on every ClientHello, with or without SNI) moves each new connection onto it before the
    client certificate is verified. Verify mode and flags come from `self.context`: the files
    are reloadable, the policy is not. Do not replace `self.context.sni_callback`.
    Connections already open are not affected: the VTN must check revocation per request
    (`check_client_certificate(..., crl=...)`) to cut those off.
    """

    def __init__(
        self,
        cert_file: StrPath,
        key_file: StrPath,
        *,
        client_ca_file: StrPath | None = None,
        client_cert_mode: ClientCertMode = "none",
        crl_file: StrPath | None = None,
    ) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.client_ca_file = client_ca_file
        self.client_cert_mode: ClientCertMode = client_cert_mode
        self.crl_file = crl_file
        self.context = self._build()
        self.context.sni_callback = self._select
        self._current = self._build()
        self._reloaded_at = 0

    def _build(self) -> ssl.SSLContext:
        return server_ssl_context(
            self.cert_file,
            self.key_file,
            client_ca_file=self.client_ca_file,
            client_cert_mode=self.client_cert_mode,
            crl_file=self.crl_file,
        )

    def _select(
        self, conn: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext
    ) -> int | None:
        # A resumed TLS 1.2 session skips certificate verification, and the session cache lives
        # in self.context where it cannot be flushed: refuse sessions from before the last reload
        # so a just-revoked client must do a full handshake (clients drop the failed session).
        session = conn.session if conn.session_reused else None
        if session is not None and session.time <= self._reloaded_at:
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        conn.context = self._current
        return None

    def reload(self) -> None:
        """Re-read certificate, key, client CA and CRL; on error the old files stay in use."""
        fresh = self._build()
        # Keep the listener's own chain current too, so nothing ever serves the old certificate.
        self.context.load_cert_chain(self.cert_file, self.key_file)
        self._current = fresh
        self._reloaded_at = int(time.time())

    @property
    def active_context(self) -> ssl.SSLContext:
        """The context new connections are switched to (the most recent reload)."""
        return self._current


# -- client side ---------------------------------------------------------------------------------


class PinMismatchError(ssl.SSLCertVerificationError):
    """The server's certificate does not have the pinned SHA-256 fingerprint."""


def normalize_pin(pin: str) -> str:
    """Lower-case hex without colons or spaces; raises ValueError if it is not a SHA-256."""
    cleaned = pin.replace(":", "").replace(" ", "").lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError(f"not a SHA-256 fingerprint: {pin!r}")
    return cleaned


def pin_digest(pin: str) -> bytes:
    """The 32-byte digest for `aiohttp.Fingerprint(pin_digest(pin))`."""
    return bytes.fromhex(normalize_pin(pin))


def verify_pin(conn: ssl.SSLObject | ssl.SSLSocket, pin: str) -> str:
    """Check a finished handshake's server certificate against `pin`; returns its fingerprint.

    Raises `PinMismatchError` (an `ssl.SSLError`) on mismatch. Contexts from
    `client_ssl_context(pin_sha256=...)` call this automatically at the end of every
    handshake. With aiohttp, either pass such a context as `ssl=` (works with client
    certificates), or pass `ssl=aiohttp.Fingerprint(pin_digest(pin))`, which pins the same
    SHA-256 but uses aiohttp's own unverified context without a client certificate.
    """
    der = conn.getpeercert(binary_form=True)
    if der is None:
        raise PinMismatchError("the server sent no certificate to check against the pin")
    actual = fingerprint_sha256(der)
    if not hmac.compare_digest(actual, normalize_pin(pin)):
        raise PinMismatchError(f"server certificate fingerprint {actual} does not match the pinned one")
    return actual


class _PinnedSSLObject(ssl.SSLObject):
    # asyncio (and so aiohttp) drives handshakes through SSLObject.do_handshake; checking here
    # fails the connection before any request byte is sent.
    def do_handshake(self) -> None:
        super().do_handshake()
        if isinstance(self.context, PinnedSSLContext):
            verify_pin(self, self.context.pin_sha256)


class _PinnedSSLSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        if isinstance(self.context, PinnedSSLContext):
            verify_pin(self, self.context.pin_sha256)


class PinnedSSLContext(ssl.SSLContext):
    """A client context that rejects any server whose certificate does not match `pin_sha256`."""

    pin_sha256: str
    sslobject_class = _PinnedSSLObject
    sslsocket_class = _PinnedSSLSocket


def client_ssl_context(
    *,
    ca_file: StrPath | None = None,
    cert_file: StrPath | None = None,
    key_file: StrPath | None = None,
    pin_sha256: str | None = None,
    insecure: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ client context, optionally presenting a client certificate.

    Server trust: `ca_file` (plus hostname check), else the system store; with `pin_sha256`
    and no `ca_file` the pin alone authenticates the server (self-signed dev servers); with
    both, the server must pass both. `insecure` turns verification off entirely (tests only).
    """
    if insecure and pin_sha256:
        raise ValueError("insecure=True would make the pin pointless; pass one or the other")
    context: ssl.SSLContext
    if pin_sha256 is not None:
        pinned = PinnedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
        pinned.pin_sha256 = normalize_pin(pin_sha256)
        context = pinned
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    elif insecure or pin_sha256 is not None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    elif key_file is not None:
        raise ValueError("key_file without cert_file")
    return context
