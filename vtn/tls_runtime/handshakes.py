"""Why OpenSSL refused a client, in the log: a `_msg_callback` watching each TLS handshake.

Handshake failures are silent in asyncio. The observer (a private but long-standing CPython hook on
`SSLContext`, present since 3.8) keeps the first certificate of the client's Certificate message
and, when OpenSSL sends a fatal alert, logs the certificate with the precise reason from
`check_client_certificate` (falling back to what the alert means, e.g. an unknown CA).
"""

from __future__ import annotations

import logging
import ssl
import weakref
from collections.abc import Callable

from cryptography import x509

from shared.tls import check_client_certificate, load_certificate
from vtn.tls_runtime.certificates import RefusalSink, describe_certificate, printable, refusal_label

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
