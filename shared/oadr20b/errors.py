"""OpenADR 2.0b response codes and the error that carries one.

A 2.0b peer always gets an HTTP 200 with an OpenADR document whose `ei:responseCode` says what went
wrong, so every error raised while handling a 2.0b message carries the code to answer with.
`Oadr20bError` joins the project's one hierarchy (`shared.errors.OadrError`): if one ever escaped the
2.0b routes it would still become a 400 problem, never a bare 500.
"""

from __future__ import annotations

from enum import IntEnum

from shared.errors import BadRequest


class ResponseCode(IntEnum):
    OK = 200
    OUT_OF_SEQUENCE = 450
    NOT_ALLOWED = 451
    INVALID_ID = 452
    NOT_RECOGNIZED = 453
    INVALID_DATA = 454
    COMPLIANCE_ERROR = 459
    SIGNAL_NOT_SUPPORTED = 460
    REPORT_NOT_SUPPORTED = 461
    TARGET_MISMATCH = 462
    NOT_REGISTERED_OR_AUTHORIZED = 463
    DEPLOYMENT_ERROR_OR_OTHER_ERROR = 469


class Oadr20bError(BadRequest):
    """A 2.0b protocol error: `code` is the response code, the message its description."""

    def __init__(self, code: ResponseCode, description: str, *, request_id: str = "") -> None:
        super().__init__(f"{int(code)} {description}")
        self.code = code
        self.description = description
        self.request_id = request_id


class XmlRejected(Oadr20bError):
    """The bytes are not an acceptable XML document (malformed, too large, too deep, DTD, entities)."""

    def __init__(self, description: str) -> None:
        super().__init__(ResponseCode.INVALID_DATA, description)


class SchemaInvalid(Oadr20bError):
    """The document is well-formed XML but not valid against the OpenADR 2.0b schema."""

    def __init__(self, description: str) -> None:
        super().__init__(ResponseCode.INVALID_DATA, description)
