"""Per request: the connection's client certificate re-checked against the current CRL (a keep-alive
connection opened before a revocation is never re-handshaken), RFC 8705 token binding, and
certificate authentication of a client (tls_client_auth)."""

from __future__ import annotations

import hmac
import logging
import ssl
import weakref

from aiohttp import web

from shared.errors import Unauthorized
from shared.tls import check_client_certificate
from vtn.principal import Principal
from vtn.tls_runtime.certificates import PeerCertificate, refusal_label
from vtn.tls_runtime.listener import SERVER_TLS, TLS_REFUSALS

log = logging.getLogger("vtn.tls")

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


def _count_refusal(request: web.Request, label: str) -> None:
    sink = request.app.get(TLS_REFUSALS)
    if sink is not None:
        sink(label)


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
