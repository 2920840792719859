"""How the client reports failure: `VtnUnavailable` (retry later) or an `OadrError` (request rejected).

Rejections are parsed from RFC 9457 problem documents (and the RFC 6749 errors of /auth/token) into
the classes of shared/errors.py, so BL scripts and VEN agents catch the same types the VTN raises.
"""

from __future__ import annotations

import json
from typing import Any

from shared.errors import OadrError, SchemaViolation, ServerError, Unauthorized, error_for_status

# Gateway answers: the VTN behind the proxy is down or overloaded, nothing was decided.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
_OAUTH_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})


class VtnUnavailable(Exception):
    """The VTN could not be reached: refused, reset, timed out, TLS failure, or a 502/503/504 answer.

    Deliberately not an OadrError: `except OadrError` catches only requests the VTN answered and
    rejected, while this one means "try again later". After a write the outcome is unknown; the
    `ensure_*` helpers are safe to repeat. `status` is the HTTP status when a gateway answered.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class InvalidAnswer(ServerError):
    """The VTN answered 2xx with a document that is not the 3.1 object asked for (wrong schema)."""


class TlsVerificationFailed(VtnUnavailable):
    """The VTN's TLS certificate did not verify (unknown CA, wrong host name, pin mismatch).

    Still "unavailable" for a running agent (a certificate rotation may mend it), but a start that
    meets it stops: waiting does not fix a missing `vtn.tls.ca_file`.
    """


def _text(doc: Any, key: str) -> str | None:
    value = doc.get(key) if isinstance(doc, dict) else None
    return value if isinstance(value, str) and value else None


def error_from_response(status: int, body: bytes, url: str) -> OadrError | VtnUnavailable:
    """Map an error answer (status >= 400) to the exception to raise."""
    try:
        doc: Any = json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        doc = None
    title = _text(doc, "title")
    oauth_error = _text(doc, "error")
    detail = _text(doc, "detail") or _text(doc, "error_description") or oauth_error or title
    if detail is None and body and doc is None:
        detail = body[:200].decode("utf-8", "replace").strip() or None
    if status in UNAVAILABLE_STATUSES:
        return VtnUnavailable(f"HTTP {status} from {url}: {detail or 'unavailable'}", url=url, status=status)
    pointer = _text(doc, "pointer")
    if status == 400 and title == SchemaViolation.title:
        # error_for_status knows statuses only; the title keeps the subclass.
        return SchemaViolation(detail, pointer=pointer)
    if oauth_error in _OAUTH_CLIENT_ERRORS:
        return Unauthorized(detail)
    err = error_for_status(status, detail, pointer)
    if err.status != status:
        # A status without its own class (405, 422, ...): keep the number in the message.
        err = type(err)(f"HTTP {status}: {detail or 'error'}", pointer=pointer)
    return err
