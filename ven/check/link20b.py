"""One 2.0b simpleHttp conversation for the checks: POST a payload to `<url>/<Service>`, read one back.

Kept apart from the agent's transport on purpose: a check must see what the agent papers over
(the HTTP status, an empty body, whether the answer was signed and by whom). Answers are read
with the shared hardened codec (XSD-validated). With a signer, our messages are signed and every
answer must carry a signature that verifies against the VTN's TLS server certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

import aiohttp
from cryptography import x509
from yarl import URL

from shared.oadr20b import Oadr20bCodec, Oadr20bError
from shared.oadr20b import messages as m
from shared.oadr20b.signing import XmlSigner, XmlVerifier, signature_of
from ven.check.model import Fail


@dataclass(frozen=True, slots=True)
class Exchange:
    service: str
    status: int
    msg: m.Message | None  # None: an empty 200 body
    signed: bool


class Link20b:
    def __init__(
        self,
        url: str,
        codec: Oadr20bCodec,
        session: aiohttp.ClientSession,
        *,
        ssl_context: ssl.SSLContext | None = None,
        signer: XmlSigner | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.codec = codec
        self.session = session
        self.signer = signer
        self.verifier = XmlVerifier()
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._context = ssl_context
        self._vtn_cert: x509.Certificate | None = None
        self.signed_answers = 0

    async def exchange(
        self, msg: m.Message, service: str | None = None, *, http_errors: bool = True
    ) -> Exchange:
        """Send `msg` (to its own service unless told) and decode the answer.

        An HTTP status other than 200 is a Fail, or (`http_errors=False`) an Exchange without a message.
        """
        svc = service or msg.SERVICE
        body = self.codec.build(msg, self.signer)
        try:
            async with self.session.post(
                f"{self.url}/{svc}", data=body, headers={"Content-Type": "application/xml"}, ssl=self._ssl
            ) as resp:
                status, data = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Fail(
                f"{msg.TAG} to {svc}: the VTN could not be reached ({exc or type(exc).__name__})"
            ) from exc
        if status != 200 and not http_errors:
            return Exchange(svc, status, None, False)
        if status != 200:
            excerpt = data[:160].decode("utf-8", "replace").strip()
            raise Fail(f"{msg.TAG} to {svc}: HTTP {status}, expected 200 with a 2.0b payload: {excerpt}")
        if not data.strip():
            return Exchange(svc, status, None, False)
        try:
            doc = self.codec.read(data)
        except Oadr20bError as exc:
            raise Fail(f"{msg.TAG}: the answer is not a valid 2.0b payload: {exc}") from exc
        signed = signature_of(doc.root) is not None
        if self.signer is not None:
            if not signed:
                raise Fail(f"{msg.TAG}: the VTN's answer ({doc.msg.TAG}) is not signed")
            try:
                self.verifier.verify(doc.root, await self.vtn_certificate())
            except Oadr20bError as exc:
                raise Fail(f"{msg.TAG}: the VTN's signature on {doc.msg.TAG} does not verify: {exc}") from exc
            self.signed_answers += 1
        return Exchange(svc, status, doc.msg, signed)

    async def expect(self, msg: m.Message, kind: type[m.Message]) -> m.Message:
        got = await self.exchange(msg)
        if not isinstance(got.msg, kind):
            name = "an empty body" if got.msg is None else got.msg.TAG
            raise Fail(f"{msg.TAG} was answered with {name}, expected {kind.TAG}")
        return got.msg

    async def vtn_certificate(self) -> x509.Certificate:
        """The VTN's TLS server certificate, which signs its 2.0b answers."""
        if self._vtn_cert is None:
            url = URL(self.url)
            if url.scheme != "https" or self._context is None or url.host is None:
                raise Fail(
                    "signed messages need https and --ca: the VTN's certificate verifies its signatures"
                )
            _, writer = await asyncio.open_connection(
                url.host, url.port, ssl=self._context, server_hostname=url.host
            )
            ssl_object = writer.get_extra_info("ssl_object")
            der = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
            if not der:
                raise Fail("the VTN presented no TLS certificate to verify its signatures with")
            self._vtn_cert = x509.load_der_x509_certificate(der)
        return self._vtn_cert
