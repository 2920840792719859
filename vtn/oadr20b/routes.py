"""aiohttp glue of the 2.0b simpleHttp (pull) profile: POST /OpenADR2/Simple/2.0b/{service}.

`add_routes(app)` is called from create_app after the 3.1 routes (these routes carry no scopes, so
the bearer-token middleware lets them through; 2.0b admission is done by the service). Requests
with Content-Type text/xml or application/xml (or any +xml type) are accepted and answered with
the same type; everything else, and bodies over the size limit, get an oadrResponse with 454.
The answer is always HTTP 200 with a schema-valid oadrPayload, as 2.0b peers expect. Over TLS the
client certificate accepted by `client_certificate_guard` is handed to the service (admission), and
the listener's current CRL too (for certificates that identify a VEN by its signature only).
"""

from __future__ import annotations

from aiohttp import web
from cryptography import x509

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema, SafeXmlParser, XmlLimits
from shared.oadr20b import messages as m
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from vtn.core.state import STATE
from vtn.http_answer import Answer
from vtn.oadr20b.service import Oadr20bService, error_reply
from vtn.oadr20b.settings import PREFIX, Oadr20bSettings
from vtn.tls_runtime import CLIENT_CERT_KEY, SERVER_TLS

SERVICE = web.AppKey("oadr20b_service", Oadr20bService)
_XML_TYPES = ("application/xml", "text/xml")
_DRAIN_CAP = 16 * 1024 * 1024
_CHUNK = 64 * 1024


def add_routes(
    app: web.Application, settings: Oadr20bSettings | None = None, schema: Oadr20bSchema | None = None
) -> None:
    """Mount the five 2.0b services on `app` (built by vtn.app.create_app)."""
    state = app[STATE]
    settings = settings or Oadr20bSettings.from_config(state.config)
    parser = SafeXmlParser(XmlLimits(max_bytes=settings.max_bytes, max_depth=settings.max_depth))
    codec = Oadr20bCodec(schema or Oadr20bSchema(), parser)

    def current_crl() -> x509.CertificateRevocationList | None:
        # Looked up per message: `vtn serve` installs ServerTls after this, and SIGHUP replaces its CRL.
        server_tls = app.get(SERVER_TLS)
        return None if server_tls is None else server_tls.crl

    app[SERVICE] = Oadr20bService(state.core, settings, codec, current_crl)
    for name in m.SERVICES:
        app.router.add_post(f"{PREFIX}/{name}", handle)


def _is_xml(content_type: str) -> bool:
    return content_type in _XML_TYPES or content_type.endswith("+xml")


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it exceeds `limit` (the rest is drained, never kept)."""
    length = request.content_length
    if length is not None and length > _DRAIN_CAP:
        return None
    if length is not None and length <= limit:
        return await request.read()  # the common case: one small, sized body
    buf = bytearray()
    over = False
    async for chunk in request.content.iter_chunked(_CHUNK):
        if not over:
            buf += chunk
            over = len(buf) > limit
        if over:
            buf.clear()
    return None if over else bytes(buf)


async def handle(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICE]
    service = request.path.rsplit("/", 1)[-1]
    content_type = request.content_type
    reply_type = "text/xml" if content_type == "text/xml" else "application/xml"
    problem: Oadr20bError | None = None
    if not _is_xml(content_type):
        problem = Oadr20bError(ResponseCode.INVALID_DATA, f"Content-Type must be XML, not {content_type}")
    else:
        data = await _read_limited(request, svc.settings.max_bytes)
        if data is None:
            problem = Oadr20bError(
                ResponseCode.INVALID_DATA, f"document exceeds the limit of {svc.settings.max_bytes} bytes"
            )
        else:
            body = await svc.handle(service, data, request.get(CLIENT_CERT_KEY))
    if problem is not None:
        body = svc.build(error_reply(None, problem, svc.settings))
    return Answer(body, content_type=f"{reply_type}; charset=utf-8")
