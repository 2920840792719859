"""The VTN's HTTPS side: the listener's TLS, reloads, refusal logging and per-request certificate checks.

`ServerTls` (listener.py) owns the listener context (`shared.tls.ReloadableServerTLS`) and the CRL
used for per-request checks; `vtn serve` reloads both on SIGHUP. Connections already open keep
working across a reload, which is why `client_certificate_guard` (request_checks.py) re-checks every
request's client certificate against the current CRL (and its validity dates and EKU): a keep-alive
connection opened before a revocation is never re-handshaken.

Handshake failures are silent in asyncio: `HandshakeObserver` (handshakes.py) watches each
handshake and logs which certificate was refused and why. certificates.py holds what the others
say about a client certificate (`PeerCertificate`, its description in log lines, refusal labels).
"""

from vtn.tls_runtime.certificates import (
    PeerCertificate,
    RefusalSink,
    describe_certificate,
    printable,
    refusal_label,
)
from vtn.tls_runtime.handshakes import ALERT_NAMES, HandshakeObserver, first_certificate, observe_handshakes
from vtn.tls_runtime.listener import (
    SERVER_TLS,
    TLS_REFUSALS,
    ServerTls,
    load_trusted_crl,
    validate_settings,
)
from vtn.tls_runtime.request_checks import (
    CLIENT_CERT_KEY,
    CertificateRefused,
    certificate_authenticates,
    check_token_binding,
    client_certificate,
    client_certificate_guard,
)

__all__ = [
    "ALERT_NAMES",
    "CLIENT_CERT_KEY",
    "SERVER_TLS",
    "TLS_REFUSALS",
    "CertificateRefused",
    "HandshakeObserver",
    "PeerCertificate",
    "RefusalSink",
    "ServerTls",
    "certificate_authenticates",
    "check_token_binding",
    "client_certificate",
    "client_certificate_guard",
    "describe_certificate",
    "first_certificate",
    "load_trusted_crl",
    "observe_handshakes",
    "printable",
    "refusal_label",
    "validate_settings",
]
