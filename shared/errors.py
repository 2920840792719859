"""One error hierarchy for both sides, and the RFC 9457 problem document it maps to.

The VTN raises these and one middleware turns them into problem+json; the VEN client parses
problem responses back into the same classes, so callers on either side catch one type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True, kw_only=True)
class Problem:
    """RFC 9457 problem details; `pointer` is our extension naming the offending field."""

    status: int
    title: str
    detail: str | None = None
    type: str = "about:blank"
    instance: str | None = None
    pointer: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        doc: dict[str, object] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            doc["detail"] = self.detail
        if self.instance is not None:
            doc["instance"] = self.instance
        if self.pointer is not None:
            doc["pointer"] = self.pointer
        doc.update(self.extra)
        return doc


class OadrError(Exception):
    """Base of every protocol-level error; carries an HTTP status and a title."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"

    def __init__(self, detail: str | None = None, *, pointer: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.pointer = pointer

    def problem(self, instance: str | None = None) -> Problem:
        return Problem(
            status=self.status, title=self.title, detail=self.detail, instance=instance, pointer=self.pointer
        )


class BadRequest(OadrError):
    status = 400
    title = "Bad Request"


class SchemaViolation(BadRequest):
    """A document does not match its schema; `pointer` is the JSON pointer of the offending value."""

    title = "Schema Violation"


class Unauthorized(OadrError):
    status = 401
    title = "Unauthorized"


class Forbidden(OadrError):
    status = 403
    title = "Forbidden"


class NotFound(OadrError):
    status = 404
    title = "Not Found"


class Conflict(OadrError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(OadrError):
    status = 413
    title = "Payload Too Large"


class UnsupportedMediaType(OadrError):
    status = 415
    title = "Unsupported Media Type"


class TooManyRequests(OadrError):
    """RFC 6585; `retry_after` (seconds) becomes the Retry-After header."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotImplementedByServer(OadrError):
    status = 501
    title = "Not Implemented"


class ServerError(OadrError):
    status = 500
    title = "Internal Server Error"


_BY_STATUS: dict[int, type[OadrError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        NotImplementedByServer,
    )
}


def error_for_status(status: int, detail: str | None = None, pointer: str | None = None) -> OadrError:
    """Map a received problem back to our hierarchy (used by clients)."""
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else BadRequest)
    err = cls(detail, pointer=pointer)
    return err
