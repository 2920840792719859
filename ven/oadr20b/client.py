"""The VEN's 2.0b simpleHttp transport: POST one payload to `<prefix>/<Service>`, read one back.

Outgoing payloads are built by the shared codec (XSD-validated) and signed when configured;
answers are parsed by the hardened codec and, when signed (or when signatures are required),
verified against the VTN's certificate: the one pinned by `vtn_fingerprint` (2.0b short form),
else the VTN's TLS server certificate (read once from a handshake with the same TLS settings,
and again if a signature stops matching it, e.g. after a certificate rotation). An empty body
(OpenLEADR's answer to an oadrResponse) is returned as None. Transport failures raise
`VtnUnavailable` (retry later); undecodable or badly signed answers raise `Oadr20bError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from yarl import URL

from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from shared.oadr20b.signing import SignatureRefused, XmlSigner, XmlVerifier, signature_of, signing_certificate
from shared.oadr20b.xml import El
from shared.tls import fingerprint_short_2b
from ven.client import TlsVerificationFailed, VtnUnavailable

_ERRORS = (aiohttp.ClientError, TimeoutError, ssl.SSLError, ConnectionError)


class Oadr20bClient:
    def __init__(
        self,
        url: str,
        codec: Oadr20bCodec,
        *,
        ssl_context: ssl.SSLContext | None = None,
        signer: XmlSigner | None = None,
        verifier: XmlVerifier | None = None,
        vtn_fingerprint: str | None = None,
        require_signatures: bool = False,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.codec = codec
        self.signer = signer
        self.verifier = verifier or XmlVerifier()
        self.vtn_fingerprint = vtn_fingerprint
        self.require_signatures = require_signatures
        # No context: aiohttp's default verification (system store), as for the 3.1 agent; never none.
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._server_cert: x509.Certificate | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, msg: m.Message) -> m.Message | None:
        """Build (and sign) `msg`, post it to its service, and return the VTN's answer."""
        return await self.post(msg.SERVICE, self.codec.build(msg))

    async def post(self, service: str, body: bytes) -> m.Message | None:
        """Post a payload built earlier (re-signed here with a fresh nonce when we sign)."""
        if self.signer is not None:
            body = self.codec.sign_built(body, self.signer)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl), timeout=self._timeout
            )
        url = f"{self.url}/{service}"
        try:
            async with self._session.post(
                url, data=body, headers={"Content-Type": "application/xml"}
            ) as resp:
                data = await resp.read()
                if resp.status != 200:
                    raise VtnUnavailable(
                        f"{service}: HTTP {resp.status} {data[:200]!r}", url=url, status=resp.status
                    )
        except (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError) as exc:
            raise TlsVerificationFailed(f"{service}: {exc}", url=url) from exc
        except _ERRORS as exc:
            raise VtnUnavailable(f"{service}: {type(exc).__name__}: {exc}", url=url) from exc
        if not data.strip():
            return None
        doc = self.codec.read(data)
        await self._check_signature(doc.root)
        return doc.msg

    async def _check_signature(self, root: El) -> None:
        if signature_of(root) is None:
            if self.require_signatures:
                raise SignatureRefused("the VTN's answer is not signed")
            return
        if self.vtn_fingerprint is None:
            trusted = await self.vtn_certificate()
            if trusted is not None and signing_certificate(root, self.verifier.certificates) not in (
                None,
                trusted,
            ):
                trusted = await self.vtn_certificate(refresh=True)
        else:
            carried = signing_certificate(root, self.verifier.certificates)
            pinned = (
                carried is not None
                and fingerprint_short_2b(carried.public_bytes(Encoding.DER)) == self.vtn_fingerprint
            )
            if not pinned:
                raise SignatureRefused(f"the VTN's answer is not signed by {self.vtn_fingerprint}")
            trusted = carried
        if trusted is None:
            if self.require_signatures:
                raise SignatureRefused("cannot verify the VTN's signature: use https or set vtn_fingerprint")
            return
        self.verifier.verify(root, trusted)

    async def vtn_certificate(self, *, refresh: bool = False) -> x509.Certificate | None:
        """The VTN's TLS server certificate (None over plain HTTP), from a handshake of our own."""
        if self._server_cert is not None and not refresh:
            return self._server_cert
        url = URL(self.url)
        if url.scheme != "https" or not isinstance(self._ssl, ssl.SSLContext) or url.host is None:
            return None
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(url.host, url.port, ssl=self._ssl, server_hostname=url.host), 10.0
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise VtnUnavailable(f"TLS handshake for the VTN certificate: {exc}", url=self.url) from exc
        ssl_object = writer.get_extra_info("ssl_object")
        der = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
        self._server_cert = None if not der else x509.load_der_x509_certificate(der)
        return self._server_cert
