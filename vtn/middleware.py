"""The two middlewares: one exit for every error (problem+json), and bearer-token authentication.

Every error of the JSON API leaves through `problems`, including the TLS layer's refusal of a client
certificate (tls_runtime.CertificateRefused), so all problems share one shape and one challenge.

Only `problems` has a broad `except`: whatever escapes a handler becomes a 500 problem with a
reference id that is also logged, so nothing a client sends can produce an unexplained failure.
"""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from shared.enums import Scope
from shared.errors import (
    PROBLEM_CONTENT_TYPE,
    Forbidden,
    OadrError,
    Problem,
    TooManyRequests,
    Unauthorized,
)
from shared.wire.oadr3_json import encode_doc
from vtn.auth.revocation import CLIENTS, verify_token
from vtn.core.state import PRINCIPAL_KEY, Handler, state
from vtn.limits.rate import retry_after
from vtn.tls_runtime import CertificateRefused, check_token_binding

log = logging.getLogger("vtn.http")
ROUTE_SCOPES = web.AppKey("vtn_route_scopes", dict)


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=encode_doc(problem.to_dict()),
        status=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OadrError as exc:
        headers = {"WWW-Authenticate": _challenge(exc)} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": retry_after(exc.retry_after)}
        response = problem_response(exc.problem(instance=occurrence()), headers)
        if isinstance(exc, CertificateRefused):
            response.force_close()
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        title = exc.reason or "Error"
        detail = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else None
        if exc.status == 413:
            detail = f"request body over {state(request).config.max_body_bytes} bytes"
        kept = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
        return problem_response(
            Problem(status=exc.status, title=title, detail=detail, instance=occurrence()), kept
        )
    except ConnectionError:
        # The client went away (an aborted upload): the answer goes nowhere; no traceback is worth it.
        log.info("client disconnected during %s %s", request.method, request.path)
        problem = Problem(
            status=400, title="Bad Request", detail="the connection was lost", instance=occurrence()
        )
        return problem_response(problem)
    except Exception:
        ref = occurrence()
        log.exception("unhandled error (%s) on %s %s", ref, request.method, request.path)
        problem = Problem(status=500, title="Internal Server Error", detail=f"reference {ref}", instance=ref)
        return problem_response(problem)


def occurrence() -> str:
    """The problem's `instance`: an absolute URI naming this occurrence, as the OpenADR document asks
    (`format: uri`, "an absolute URI that identifies the specific occurrence of the problem")."""
    return f"urn:uuid:{uuid.uuid4()}"


def _challenge(exc: Unauthorized) -> str:
    reason = (exc.detail or "").replace('"', "'").replace("\n", " ")
    return f'Bearer realm="openadr3", error="invalid_token", error_description="{reason}"'


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    required: frozenset[Scope] | None = request.app[ROUTE_SCOPES].get(route)
    if required is None:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required")
    st = state(request)
    who = await verify_token(st.tokens, request.app.get(CLIENTS), st.core.read, token.strip())
    # RFC 8705: a certificate-bound token (cnf/x5t#S256) only works over that client certificate.
    check_token_binding(request, who)
    if not required & who.scopes:
        wanted = " or ".join(sorted(s.value for s in required))
        raise Forbidden(f"this operation needs scope {wanted}")
    request[PRINCIPAL_KEY] = who
    return await handler(request)
