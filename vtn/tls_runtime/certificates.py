"""A client certificate as the VTN sees it: its facts (thumbprint, fingerprint, identity), how log
lines describe it (safely: it may be unverified), and the bounded label of why it was refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from shared.tls import client_identity, fingerprint_sha256, load_certificate, thumbprint_s256

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
