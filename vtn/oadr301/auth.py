"""3.0.1 POST /auth/token: RFC 6749 client credentials, as in the 3.0.1 YAML.

Differences from the 3.1 endpoint, both for 3.0.1 clients in the wild:

* The requested `scope` never narrows the grant: 3.0.1 has one read scope (`read_all`, for VENs and
  BL alike) and oadr30-ven-ud always asks for it, also as BL. The token carries the client's role
  scopes, and the response echoes the requested `scope` string (oauthlib raises "Scope has changed"
  on any other answer) or, when none was asked for, lists the granted scopes.
* Credentials are accepted in the form body (client_secret_post), as HTTP Basic
  (client_secret_basic), or as the JSON `{clientID, clientSecret}` some 3.0 clients post.
"""

from __future__ import annotations

import json

from aiohttp import web

from shared.errors import NotImplementedByServer
from vtn.auth.credentials import basic_credentials
from vtn.auth.login import LOGINS
from vtn.core.state import state
from vtn.handlers.auth import throttled

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(status: int, error: str, description: str) -> web.StreamResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="openadr3"'
    body = json.dumps({"error": error, "error_description": description})
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


async def _form(request: web.Request) -> dict[str, str] | None:
    if request.content_type == "application/json":
        try:
            raw = await request.json()
        except json.JSONDecodeError:
            return None
        if not isinstance(raw, dict):
            return None
        form = {k: str(v) for k, v in raw.items() if v is not None}
        # 3.0-era JSON spelling
        form.setdefault("client_id", form.get("clientID", ""))
        form.setdefault("client_secret", form.get("clientSecret", ""))
        form.setdefault("grant_type", "client_credentials")
        return form
    try:
        return {k: str(v) for k, v in (await request.post()).items()}
    except ValueError:  # a malformed multipart or urlencoded body
        return None


async def token(request: web.Request) -> web.StreamResponse:
    st = state(request)
    if not st.config.issue_tokens:
        raise NotImplementedByServer("this VTN does not issue tokens; use the utility's identity server")
    form = await _form(request)
    if form is None:
        return _error(400, "invalid_request", "malformed request body")
    grant = form.get("grant_type")
    if grant is None:
        return _error(400, "invalid_request", "grant_type is required")
    if grant != "client_credentials":
        return _error(400, "unsupported_grant_type", "only client_credentials is supported")
    basic = basic_credentials(request.headers.get("Authorization", ""))
    client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
    if not client_id or not secret:
        return _error(400, "invalid_request", "client_id and client_secret are required")
    result = await request.app[LOGINS].login(request, client_id, secret)
    if result.throttled:
        return throttled(result.retry_after)
    record = result.record
    if record is None:
        return _error(401, "invalid_client", "unknown client or wrong secret")
    issued = st.tokens.issue(record.client_id, record.role, None, sandbox=record.sandbox)
    requested = form.get("scope")
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": requested if requested is not None else issued.scope,
    }
    return web.json_response(body, headers=_NO_STORE)
