"""Reverse-proxy mode: client certificates checked by a TLS-terminating proxy, forwarded in a header.

Behind nginx (deploy/nginx/vtn.conf) the VTN listens on plain HTTP and the proxy does the TLS
handshake, client certificate included. The proxy forwards the verified certificate in one header
(`client_cert_header`, default `X-SSL-Client-Cert`, holding nginx's `$ssl_client_escaped_cert`:
the URL-escaped PEM). The VTN believes that header only on connections from `trusted_proxies`;
from anywhere else it is ignored (and logged), so a client that reaches the VTN port directly can
claim no certificate. A forwarded certificate then meets the same checks as one from a direct
handshake (`shared.tls.check_client_certificate`: validity dates, clientAuth, the CRL), plus,
with `proxy_client_ca_file`, that one of those CAs issued it, in case the proxy is configured
more loosely than intended. On success it is stored under `tls_runtime.CLIENT_CERT_KEY`, where
token binding (RFC 8705), certificate client authentication and 2.0b admission look for it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from shared.errors import PROBLEM_CONTENT_TYPE, Problem
from shared.tls import check_client_certificate
from shared.wire.oadr3_json import encode_doc
from vtn.config import VtnConfig
from vtn.middleware import REQUEST_STACK
from vtn.tls_runtime import CLIENT_CERT_KEY, PeerCertificate, load_trusted_crl, printable

log = logging.getLogger("vtn.proxy")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_networks(value: str | Sequence[str]) -> tuple[Network, ...]:
    """`trusted_proxies` as networks: a list, or comma-separated text (from the environment)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks: list[Network] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {item!r} is not an IP address or network") from exc
    if not networks:
        raise ValueError("trusted_proxies is empty: name the proxy's address, e.g. 127.0.0.1")
    return tuple(networks)


def decode_forwarded(value: str) -> bytes:
    """DER of a forwarded certificate: URL-escaped PEM (nginx), or PEM whose newlines became spaces."""
    text = unquote(value).strip()
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    if begin not in text or end not in text:
        raise ValueError("not a PEM certificate")
    body = text.split(begin, 1)[1].split(end, 1)[0]
    pem = f"{begin}\n{''.join(body.split())}\n{end}\n".encode()
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


class ForwardedCertificates:
    """The trusted proxies, the header, and the CA/CRL the forwarded certificates are checked against."""

    def __init__(
        self,
        proxies: str | Sequence[str],
        header: str = "X-SSL-Client-Cert",
        *,
        ca_file: str | None = None,
        crl_file: str | None = None,
    ) -> None:
        self.networks = parse_networks(proxies)
        self.header = header
        self.ca_file, self.crl_file = ca_file, crl_file
        if crl_file is not None and ca_file is None:
            raise ValueError("proxy_crl_file needs proxy_client_ca_file (the CRL's issuer)")
        for key, path in (("proxy_client_ca_file", ca_file), ("proxy_crl_file", crl_file)):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{key}: {path} is not a readable file")
        self.cas: list[x509.Certificate] = []
        self.crl: x509.CertificateRevocationList | None = None
        self.reload()

    @classmethod
    def from_config(cls, config: VtnConfig) -> ForwardedCertificates | None:
        if not config.trusted_proxies:
            return None
        return cls(
            config.trusted_proxies,
            config.client_cert_header,
            ca_file=config.proxy_client_ca_file,
            crl_file=config.proxy_crl_file,
        )

    def reload(self) -> None:
        """Re-read the CA bundle and CRL (SIGHUP); on error nothing changes."""
        cas = x509.load_pem_x509_certificates(Path(self.ca_file).read_bytes()) if self.ca_file else []
        crl = load_trusted_crl(self.crl_file, self.ca_file) if self.crl_file and self.ca_file else None
        self.cas, self.crl = cas, crl

    def trusts(self, address: str | None) -> bool:
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def refusal_reason(self, der: bytes) -> str | None:
        """Why a forwarded certificate is refused, or None: the direct-mTLS checks, then the issuer."""
        reason = check_client_certificate(der, crl=self.crl)
        if reason is not None or not self.cas:
            return reason
        cert = x509.load_der_x509_certificate(der)
        for ca in self.cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return None
        return f"certificate is not issued by a trusted CA (issuer {printable(cert.issuer.rfc4514_string())})"

    def install(self, app: web.Application) -> None:
        """Add the guard just before token authentication (call before the app starts)."""
        app[FORWARDED] = self
        app[REQUEST_STACK].add_guard(forwarded_certificate_guard)


FORWARDED = web.AppKey("vtn_forwarded_certificates", ForwardedCertificates)


def _peer_address(request: web.Request) -> str | None:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def _refusal(request: web.Request, reason: str) -> web.Response:
    detail = f"client certificate refused: {reason}".replace("\n", " ")
    problem = Problem(status=401, title="Unauthorized", detail=detail, instance=request.path)
    challenge = f'Bearer realm="openadr3", error="invalid_token", error_description="{detail}"'
    return web.Response(
        body=encode_doc(problem.to_dict()),
        status=401,
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"WWW-Authenticate": challenge},
    )


@web.middleware
async def forwarded_certificate_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Accept the proxy's forwarded client certificate, checked as a direct handshake's would be."""
    forwarded = request.config_dict.get(FORWARDED)
    value = request.headers.get(forwarded.header) if forwarded is not None else None
    if forwarded is None or not value or request.get(CLIENT_CERT_KEY) is not None:
        return await handler(request)
    address = _peer_address(request)
    if not forwarded.trusts(address):
        log.warning(
            "ignored %s header from %s on %s %s: not a trusted proxy (trusted_proxies)",
            forwarded.header,
            address,
            request.method,
            request.path,
        )
        return await handler(request)
    try:
        peer = PeerCertificate.from_der(decode_forwarded(value))
    except ValueError as exc:
        log.warning("refused forwarded client certificate from proxy %s: unreadable (%s)", address, exc)
        return _refusal(request, f"the proxy forwarded an unreadable certificate ({exc})")
    reason = forwarded.refusal_reason(peer.der)
    if reason is not None:
        log.warning(
            "refused forwarded client certificate %s on %s %s: %s",
            peer.describe(),
            request.method,
            request.path,
            reason,
        )
        return _refusal(request, reason)
    request[CLIENT_CERT_KEY] = peer
    return await handler(request)
