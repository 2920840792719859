"""The VTN's HTTPS side: the listener's TLS, reloads, refusal logging and per-request certificate checks.

`ServerTls` owns the listener context (`shared.tls.ReloadableServerTLS`) and the CRL used for
per-request checks; `vtn serve` reloads both on SIGHUP. Connections already open keep working
across a reload, which is why `client_certificate_guard` re-checks every request's client
certificate against the current CRL (and its validity dates and EKU): a keep-alive connection
opened before a revocation is never re-handshaken.

Handshake failures are silent in asyncio. To say which certificate was refused and why, a
`_msg_callback` (a private but long-standing CPython hook on `SSLContext`, present since 3.8)
watches each handshake: it keeps the first certificate of the client's Certificate message and,
when OpenSSL sends a fatal alert, logs the certificate with the precise reason from
`check_client_certificate` (falling back to what the alert means, e.g. an unknown CA).
"""

from __future__ import annotations

import hmac
import logging
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from shared.errors import Unauthorized
from shared.tls import (
    ClientCertMode,
    ReloadableServerTLS,
    check_client_certificate,
    client_identity,
    fingerprint_sha256,
    load_certificate,
    thumbprint_s256,
)
from vtn.config import TlsSettings
from vtn.principal import Principal

log = logging.getLogger("vtn.tls")

# TLS record content types, handshake message types and alert descriptions (RFC 8446 / 5246).
_HANDSHAKE = 22
_ALERT = 21
_CERTIFICATE = 11
_FATAL = 2
_TLS13 = 0x0304
ALERT_NAMES: dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}
# What a certificate-related alert means when check_client_certificate finds nothing wrong.
_ALERT_MEANING: dict[int, str] = {
    42: "bad certificate (signature or encoding does not verify)",
    43: "certificate is not usable for client authentication",
    44: "certificate revoked",
    45: "certificate expired",
    46: "certificate not accepted",
    48: "certificate is not issued by a trusted CA",
    49: "access denied",
    51: "certificate signature does not verify",
}
_NO_CERTIFICATE_ALERTS = frozenset({40, 116})
# Told the reason label of each refusal (metrics); set through the app's TLS_REFUSALS.
RefusalSink = Callable[[str], None]


def refusal_label(reason: str) -> str:
    """A short, bounded label for a check_client_certificate reason (a metric label, not a message)."""
    for words, label in (
        ("unparseable", "unparseable"),
        ("not yet valid", "certificate_not_yet_valid"),
        ("expired", "certificate_expired"),
        ("revoked", "certificate_revoked"),
        ("extended key usage", "unsupported_certificate"),
    ):
        if words in reason:
            return label
    return "bad_certificate"


# -- client certificate facts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """The client certificate of a TLS connection, with the facts the VTN uses."""

    der: bytes
    certificate: x509.Certificate
    thumbprint: str  # RFC 8705 x5t#S256
    fingerprint: str  # SHA-256 hex, as `vtn clients add --cert-fingerprint` stores it
    identity: str | None  # SAN URI urn:energy-coordination:client:<id>, else CN

    @classmethod
    def from_der(cls, der: bytes) -> PeerCertificate:
        cert = load_certificate(der)
        return cls(
            der=der,
            certificate=cert,
            thumbprint=thumbprint_s256(der),
            fingerprint=fingerprint_sha256(der),
            identity=client_identity(cert),
        )

    def describe(self) -> str:
        return describe_certificate(self.certificate, self.fingerprint)


def printable(text: str, limit: int = 200) -> str:
    """Names from unverified certificates go into log lines: no control characters, bounded length."""
    cleaned = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return cleaned + ("..." if len(text) > limit else "")


def describe_certificate(cert: x509.Certificate, fingerprint: str | None = None) -> str:
    """`CN=ven-1 serial=0x1f.. fingerprint=ab12..` for log lines."""
    subject = printable(cert.subject.rfc4514_string()) or "(empty subject)"
    fp = fingerprint or fingerprint_sha256(cert)
    return f"{subject} serial=0x{cert.serial_number:x} fingerprint={fp}"


CLIENT_CERT_KEY = web.RequestKey("vtn_client_cert", PeerCertificate)

# Parsed once per connection: keep-alive requests reuse it while the peer certificate is the same.
_by_connection: weakref.WeakKeyDictionary[object, PeerCertificate] = weakref.WeakKeyDictionary()


def _peer_from_transport(request: web.Request) -> PeerCertificate | None:
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:  # plain HTTP, every request of it: answered before the isinstance check
        return None
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    cached = _by_connection.get(ssl_object)
    if cached is not None and cached.der == der:
        return cached
    peer = PeerCertificate.from_der(der)
    _by_connection[ssl_object] = peer
    return peer


def client_certificate(request: web.Request) -> PeerCertificate | None:
    """The request's client certificate, once `client_certificate_guard` has accepted it."""
    return request.get(CLIENT_CERT_KEY)


# -- handshake observer (refusal log lines) --------------------------------------------------------


def first_certificate(message: bytes, version: int) -> bytes | None:
    """DER of the first certificate in a TLS Certificate handshake message.

    Returns b"" for an empty certificate list (the client has no certificate) and None if the
    message cannot be parsed. TLS 1.3 adds a request context before the list and extensions
    after each entry; only the first entry matters here.
    """
    body = message[4:]  # msg_type (1) + length (3)
    candidates = [_TLS13, 0] if version == _TLS13 else [0, _TLS13]
    for layout in candidates:
        rest = body
        if layout == _TLS13:
            if not rest:
                continue
            rest = rest[1 + rest[0] :]
        if len(rest) < 3:
            continue
        list_len = int.from_bytes(rest[:3], "big")
        if list_len != len(rest) - 3:
            continue
        if list_len == 0:
            return b""
        if list_len < 3:
            continue
        cert_len = int.from_bytes(rest[3:6], "big")
        der = rest[6 : 6 + cert_len]
        if cert_len and len(der) == cert_len:
            return der
    return None


class HandshakeObserver:
    """A `_msg_callback` that logs why OpenSSL refused a client (never raises into OpenSSL)."""

    def __init__(self, crl: Callable[[], x509.CertificateRevocationList | None]) -> None:
        self._crl = crl
        self.on_refused: RefusalSink | None = None
        self._certs: weakref.WeakKeyDictionary[object, bytes] = weakref.WeakKeyDictionary()

    def __call__(
        self, conn: object, direction: str, version: int, content_type: int, msg_type: int, data: bytes
    ) -> None:
        # Called for every record (application data too): the common case must return quickly.
        try:
            if content_type == _HANDSHAKE:
                if direction == "read" and data[:1] == b"\x0b":
                    der = first_certificate(data, version)
                    if der is not None:
                        self._certs[conn] = der
            elif content_type == _ALERT and len(data) >= 2 and data[0] == _FATAL:
                if direction == "write":
                    self.refused(self._certs.pop(conn, None), data[1])
                else:
                    self._client_aborted(data[1])
        except Exception:  # an exception here would surface inside OpenSSL's handshake
            log.exception("error while logging a TLS handshake failure")

    def refused(self, der: bytes | None, alert: int) -> None:
        """Log one refused handshake; `der` is the client's certificate (b"" = none was sent)."""
        name = ALERT_NAMES.get(alert, f"alert {alert}")
        if not der:
            if der == b"" and alert in _NO_CERTIFICATE_ALERTS:
                self._count("no_certificate")
                log.warning("refused TLS connection: no client certificate presented (%s)", name)
            else:
                log.info("TLS handshake failed: %s sent to the client", name)
            return
        try:
            cert = load_certificate(der)
        except ValueError as exc:
            self._count("unparseable")
            log.warning("refused client certificate (unparseable: %s) (%s)", exc, name)
            return
        reason = check_client_certificate(der, crl=self._crl())
        if reason is not None:
            self._count(refusal_label(reason))
        else:
            meaning = _ALERT_MEANING.get(alert)
            self._count(name if name in ALERT_NAMES.values() else "handshake_failure")
            if meaning is None:
                log.warning(
                    "TLS handshake with client certificate %s failed: %s", describe_certificate(cert), name
                )
                return
            reason = meaning
            if alert == 48:
                reason += f" (issuer {printable(cert.issuer.rfc4514_string())})"
        log.warning(
            "refused client certificate %s: %s (TLS alert %s)", describe_certificate(cert), reason, name
        )

    def _count(self, label: str) -> None:
        if self.on_refused is not None:
            self.on_refused(label)

    @staticmethod
    def _client_aborted(alert: int) -> None:
        name = ALERT_NAMES.get(alert, f"alert {alert}")
        hint = " (does it trust this server's certificate?)" if alert in (42, 46, 48) else ""
        log.info("a client aborted the TLS handshake with %s%s", name, hint)


def observe_handshakes(context: ssl.SSLContext, observer: HandshakeObserver) -> bool:
    """Install `observer` as the context's message callback; False if this Python has no hook."""
    # The C-level setter passes plain ints; ssl.SSLContext's property would wrap every call
    # (every record, application data included) in enum conversions.
    raw = getattr(ssl.SSLContext.__mro__[1], "_msg_callback", None)
    try:
        if raw is not None and hasattr(raw, "__set__"):
            raw.__set__(context, observer)
        else:
            context._msg_callback = observer  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return False
    return True


# -- the listener ----------------------------------------------------------------------------------

# DSA is left out: cryptography deprecates it (a warning on every import of its class) and no
# TLS 1.3 certificate chain can use it, so a DSA-signed CRL is reported as not signed by the CA.
_IssuerKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


def load_trusted_crl(crl_file: str | Path, client_ca_file: str | Path) -> x509.CertificateRevocationList:
    """The CRL in `crl_file`, after checking it is signed by a CA in `client_ca_file`."""
    crl = x509.load_pem_x509_crl(Path(crl_file).read_bytes())
    for ca in x509.load_pem_x509_certificates(Path(client_ca_file).read_bytes()):
        key = ca.public_key()
        if ca.subject == crl.issuer and isinstance(key, _IssuerKey) and crl.is_signature_valid(key):
            return crl
    raise ValueError(f"{crl_file} is not signed by any CA in {client_ca_file}")


def validate_settings(settings: TlsSettings) -> None:
    """Refuse combinations that cannot work, with a message naming the keys."""
    if (settings.cert_file is None) != (settings.key_file is None):
        raise ValueError("tls cert_file and key_file go together (--tls-cert and --tls-key)")
    if settings.cert_file is None:
        extras = [
            name
            for name, value in (
                ("client_ca_file", settings.client_ca_file),
                ("crl_file", settings.crl_file),
                ("client_cert", None if settings.client_cert == "none" else settings.client_cert),
            )
            if value
        ]
        if extras:
            raise ValueError(f"tls {', '.join(extras)} need HTTPS: set tls cert_file and key_file")
        return
    if settings.client_cert not in ("none", "optional", "required"):
        raise ValueError("tls client_cert must be none, optional or required")
    if settings.client_cert != "none" and settings.client_ca_file is None:
        raise ValueError(f"tls client_cert={settings.client_cert} needs client_ca_file (--client-ca)")
    if settings.crl_file is not None and settings.client_ca_file is None:
        raise ValueError("tls crl_file needs client_ca_file (--client-ca): the CRL's issuer")
    # OpenSSL's own "No such file or directory" does not say which file.
    for key in ("cert_file", "key_file", "client_ca_file", "crl_file"):
        path = getattr(settings, key)
        if path is not None and not Path(path).is_file():
            raise ValueError(f"tls {key}: {path} is not a readable file")


class ServerTls:
    """The VTN's TLS listener state: one context for the site, reloadable files, the current CRL."""

    def __init__(self, settings: TlsSettings) -> None:
        validate_settings(settings)
        if settings.cert_file is None or settings.key_file is None:
            raise ValueError("HTTPS needs tls cert_file and key_file")
        self.settings = settings
        self.mode = cast(ClientCertMode, settings.client_cert)
        self.crl = self._load_crl()
        self._tls = ReloadableServerTLS(
            settings.cert_file,
            settings.key_file,
            client_ca_file=settings.client_ca_file,
            client_cert_mode=self.mode,
            crl_file=settings.crl_file,
        )
        self.observer = HandshakeObserver(lambda: self.crl)
        self.observing = observe_handshakes(self._tls.context, self.observer)
        self.observing &= observe_handshakes(self._tls.active_context, self.observer)
        if not self.observing:
            log.warning("this Python has no SSLContext._msg_callback: refused handshakes are not logged")
        if settings.client_ca_file is not None and self.mode == "none":
            log.warning("tls client_ca_file is set but client_cert is none: no certificates are requested")

    @classmethod
    def from_settings(cls, settings: TlsSettings) -> ServerTls | None:
        """None for plain HTTP (no certificate configured); raises ValueError on bad settings."""
        validate_settings(settings)
        return None if settings.cert_file is None else cls(settings)

    @property
    def context(self) -> ssl.SSLContext:
        """Give this to the listener once; it stays the same object across reloads."""
        return self._tls.context

    def _load_crl(self) -> x509.CertificateRevocationList | None:
        s = self.settings
        if s.crl_file is None or s.client_ca_file is None:
            return None
        return load_trusted_crl(s.crl_file, s.client_ca_file)

    def reload(self) -> None:
        """Re-read certificate, key, client CA and CRL; on error nothing changes (the error propagates)."""
        validate_settings(self.settings)
        crl = self._load_crl()
        self._tls.reload()
        observe_handshakes(self._tls.active_context, self.observer)
        self.crl = crl
        cert = load_certificate(Path(str(self.settings.cert_file)).read_bytes())
        revoked = f", CRL with {len(crl)} revoked" if crl is not None else ""
        log.info(
            "reloaded TLS files: server certificate %s valid until %s%s",
            fingerprint_sha256(cert),
            cert.not_valid_after_utc.isoformat(),
            revoked,
        )

    def reload_logged(self) -> bool:
        """`reload` for a signal handler: failures are logged and the previous files stay in use."""
        try:
            self.reload()
        except (OSError, ValueError, ssl.SSLError) as exc:
            log.error("TLS reload failed, still serving the previous certificate and CRL: %s", exc)
            return False
        return True

    def install(self, app: web.Application) -> None:
        """Make the current CRL available to `client_certificate_guard` (before the app starts)."""
        app[SERVER_TLS] = self
        self.observer.on_refused = app.get(TLS_REFUSALS)


SERVER_TLS = web.AppKey("vtn_server_tls", ServerTls)
# Where refusals are counted (vtn.observability), if anywhere.
TLS_REFUSALS: web.AppKey[RefusalSink] = web.AppKey("vtn_tls_refusals")


def _count_refusal(request: web.Request, label: str) -> None:
    sink = request.app.get(TLS_REFUSALS)
    if sink is not None:
        sink(label)


# -- per request -----------------------------------------------------------------------------------


class CertificateRefused(Unauthorized):
    """The connection's client certificate is refused: answered 401 by the one problem exit
    (vtn/middleware.py), which also closes the connection, as it carries a refused certificate."""


def client_certificate_guard(request: web.Request) -> None:
    """Re-check the connection's client certificate on every request, against the current CRL.

    Called by the request stack (vtn/middleware.py) before token checks, so they see its result;
    raises CertificateRefused. Without TLS, or without a client certificate, there is nothing to do.
    """
    peer = _peer_from_transport(request)
    if peer is None:
        return
    server_tls = request.app.get(SERVER_TLS)
    reason = check_client_certificate(peer.der, crl=server_tls.crl if server_tls is not None else None)
    if reason is not None:
        log.warning(
            "refused client certificate %s on %s %s: %s",
            peer.describe(),
            request.method,
            request.path,
            reason,
        )
        _count_refusal(request, refusal_label(reason))
        raise CertificateRefused(f"client certificate refused: {reason}")
    request[CLIENT_CERT_KEY] = peer


def check_token_binding(request: web.Request, who: Principal) -> None:
    """RFC 8705: a token with cnf/x5t#S256 is only good over the certificate it was issued over."""
    bound = who.cert_thumbprint
    if bound is None:
        return
    peer = client_certificate(request)
    where = f"{request.method} {request.path}"
    if not isinstance(bound, str):
        log.warning("refused token of %s on %s: malformed cnf claim", who.client_id, where)
        _count_refusal(request, "token_binding")
        raise Unauthorized("the access token's certificate binding (cnf) is malformed")
    if peer is None:
        log.warning(
            "refused token of %s on %s: it is bound to certificate x5t#S256=%s, none presented",
            who.client_id,
            where,
            bound,
        )
        _count_refusal(request, "token_binding")
        raise Unauthorized("the access token is bound to a client certificate: present that certificate")
    if not hmac.compare_digest(peer.thumbprint.encode(), bound.encode()):
        log.warning(
            "refused token of %s on %s: bound to x5t#S256=%s, presented %s",
            who.client_id,
            where,
            bound,
            peer.describe(),
        )
        _count_refusal(request, "token_binding")
        raise Unauthorized("the access token is bound to a different client certificate")


def certificate_authenticates(
    peer: PeerCertificate, client_id: str, registered_fingerprint: str | None
) -> bool:
    """RFC 8705 tls_client_auth: the certificate names `client_id`, or its fingerprint is registered."""
    if peer.identity is not None and hmac.compare_digest(peer.identity.encode(), client_id.encode()):
        return True
    return registered_fingerprint is not None and hmac.compare_digest(
        peer.fingerprint.encode(), registered_fingerprint.lower().replace(":", "").encode()
    )
