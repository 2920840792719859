"""The intake workers' wire: length-prefixed frames over a pipe. Pure (no I/O), used by both ends.

A request is a small JSON header line (the report id to use, the time, the caller, the scope of its
chosen ids) then the raw body. A reply is `+` and a header line (id, eventID, clientName) then the
stored document, or `-` (the body is invalid: the serving process decodes it itself, which names
the error exactly as before), or `!` and a message (the worker failed: the serving process decodes
it itself).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import orjson

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


@dataclass(frozen=True)
class IntakeRequest:
    report_id: str
    now: str  # ISO 8601, exactly as the serving process's clock gave it
    client_id: str
    body: bytes
    id_scope: str | None = None  # where a chosen report id is a key (vtn/core/ids.py); None: verbatim


@dataclass(frozen=True)
class IntakeReply:
    """`doc` is None when the worker did not prepare the report (`invalid`, or a failure)."""

    invalid: bool
    report_id: str = ""
    event_id: str = ""
    client_name: str = ""
    doc: str | None = None
    canonical: bool = False  # oadr3_json.canonical(doc), decided by the worker
    failure: str | None = None


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def encode_request(req: IntakeRequest) -> bytes:
    return b"".join(request_parts(req.report_id, req.now, req.client_id, req.id_scope, req.body))


def request_parts(
    report_id: str, now: str, client_id: str, scope: str | None, body: bytes
) -> tuple[bytes, bytes]:
    """A request's frame in two parts, the body as it came: the sender joins a burst of frames
    once, instead of copying each body into its frame first."""
    head = orjson.dumps({"id": report_id, "now": now, "client": client_id, "scope": scope})
    return HEADER.pack(len(head) + 1 + len(body)) + head + b"\n", body


def decode_request(payload: bytes) -> IntakeRequest:
    head, _, body = payload.partition(b"\n")
    fields = orjson.loads(head)
    scope = fields.get("scope")
    scope = None if scope is None else str(scope)
    return IntakeRequest(str(fields["id"]), str(fields["now"]), str(fields["client"]), body, scope)


def encode_reply(reply: IntakeReply) -> bytes:
    if reply.doc is not None:
        head = orjson.dumps(
            {
                "id": reply.report_id,
                "eventID": reply.event_id,
                "clientName": reply.client_name,
                "canonical": reply.canonical,
            }
        )
        return frame(b"+" + head + b"\n" + reply.doc.encode())
    if reply.invalid:
        return frame(b"-")
    return frame(b"!" + (reply.failure or "").encode())


def decode_reply(payload: bytes | bytearray) -> IntakeReply:
    kind, rest = payload[:1], payload[1:]
    if kind == b"+":
        head, _, doc = rest.partition(b"\n")
        fields = orjson.loads(head)
        return IntakeReply(
            False, fields["id"], fields["eventID"], fields["clientName"], doc.decode(), fields["canonical"]
        )
    if kind == b"-":
        return IntakeReply(True)
    return IntakeReply(False, failure=rest.decode(errors="replace"))
