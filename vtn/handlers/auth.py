"""/auth/server and /auth/token: OAuth2 client credentials (RFC 6749 section 4.4).

Credentials are accepted in the form body (client_secret_post) or as HTTP Basic
(client_secret_basic), since deployed OpenADR clients use both. Errors follow RFC 6749 section 5.2
(`{"error": ...}`), not problem+json, because OAuth client libraries parse that shape.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from shared.errors import NotImplementedByServer
from vtn.auth.credentials import basic_credentials
from vtn.auth.login import LOGINS
from vtn.core.state import state
from vtn.limits.rate import retry_after
from vtn.tls_runtime import certificate_authenticates, client_certificate

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
log = logging.getLogger("vtn.auth")


async def auth_server(request: web.Request) -> web.StreamResponse:
    st = state(request)
    base = (st.config.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    return web.json_response({"tokenURL": f"{base}{st.config.base_path}/auth/token"})


def _oauth_error(status: int, error: str, description: str, basic: bool = False) -> web.StreamResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="openadr3"' if basic else 'Bearer realm="openadr3"'
    body = json.dumps({"error": error, "error_description": description})
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


def throttled(seconds: float) -> web.StreamResponse:
    """429 in the RFC 6749 error shape, with Retry-After (RFC 6585)."""
    # RFC 6749 has no error code for throttling; the status and Retry-After say it.
    response = _oauth_error(429, "invalid_request", "too many login attempts; retry later")
    response.headers["Retry-After"] = retry_after(seconds)
    return response


async def token(request: web.Request) -> web.StreamResponse:
    st = state(request)
    if not st.config.issue_tokens:
        raise NotImplementedByServer("this VTN does not issue tokens; use the utility's identity server")
    if request.content_type == "application/json":
        try:
            raw = await request.json()
        except json.JSONDecodeError:
            return _oauth_error(400, "invalid_request", "malformed JSON body")
        form = {k: str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    else:
        try:
            form = {k: str(v) for k, v in (await request.post()).items()}
        except ValueError:  # a malformed multipart or urlencoded body
            return _oauth_error(400, "invalid_request", "malformed form body")
    grant = form.get("grant_type")
    if grant is None:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    basic = basic_credentials(request.headers.get("Authorization", ""))
    client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
    # Over mutual TLS the token is bound to the client certificate (RFC 8705, cnf/x5t#S256), and
    # the certificate alone may authenticate the client (tls_client_auth): no secret needed.
    peer = client_certificate(request)
    if not client_id or (not secret and peer is None):
        return _oauth_error(400, "invalid_request", "client_id and client_secret are required")
    if not secret and peer is not None:
        async with st.core.read() as tx:
            record = await tx.clients.get(client_id)
        if record is None or not certificate_authenticates(peer, record.client_id, record.cert_fingerprint):
            log.warning("refused tls_client_auth for %r: certificate %s", client_id, peer.describe())
            return _oauth_error(
                401, "invalid_client", "the client certificate does not authenticate this client"
            )
    else:
        result = await request.app[LOGINS].login(request, client_id, secret or "")
        if result.throttled:
            return throttled(result.retry_after)
        if result.record is None:
            return _oauth_error(
                401, "invalid_client", "unknown client or wrong secret", basic=basic is not None
            )
        record = result.record
    thumbprint = peer.thumbprint if peer is not None else None
    issued = st.tokens.issue(
        record.client_id, record.role, form.get("scope"), cert_thumbprint=thumbprint, sandbox=record.sandbox
    )
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return web.json_response(body, headers=_NO_STORE)
