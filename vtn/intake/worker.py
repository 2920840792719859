"""An intake worker process: `python -m vtn.intake.worker`, frames on stdin, replies on stdout.

Runs the same decode (schema, payload enumerations, model) and the same stamping and
serialisation as the serving process would (vtn.services.reports.prepare_report_body), in order.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import BinaryIO

from shared.errors import OadrError
from shared.validation import SchemaRegistry
from vtn.intake.frames import HEADER, MAX_FRAME, IntakeReply, decode_request, encode_reply
from vtn.services.reports import prepare_report_body

READ_BYTES = 1 << 20  # the serving process widens the pipe to 1 MiB (pool.PIPE_BYTES)
FLUSH_S = 0.001  # replies wait at most about this long for their burst mates


def handle(registry: SchemaRegistry, payload: bytes) -> IntakeReply:
    try:
        req = decode_request(payload)
        try:
            now = datetime.fromisoformat(req.now)
            report = prepare_report_body(registry, req.body, req.report_id, now, req.client_id, req.id_scope)
        except OadrError:
            return IntakeReply(True)
    except Exception as exc:  # noqa: BLE001 - the serving process decides instead, and logs it
        return IntakeReply(False, failure=f"{type(exc).__name__}: {exc}")
    return IntakeReply(False, report.id, report.event_id, report.client_name, report.doc, report.canonical)


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """Answer frames until `inp` ends, in order. The replies go out together (one pipe write and
    one wake-up of the serving process per burst, not per report: the serving process sends a
    loop iteration's requests together), but at least every FLUSH_S of work, so that the serving
    process stores and answers the first reports of a burst while this one prepares the rest
    instead of the two taking turns."""
    registry = SchemaRegistry()
    read = getattr(inp, "read1", inp.read)
    buffer = b""
    while chunk := read(READ_BYTES):
        buffer = buffer + chunk if buffer else chunk
        replies: list[bytes] = []
        at = 0
        since = time.perf_counter()
        while len(buffer) - at >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, at)
            if size > MAX_FRAME:
                return
            if len(buffer) - at - HEADER.size < size:
                break
            start = at + HEADER.size
            replies.append(encode_reply(handle(registry, buffer[start : start + size])))
            at = start + size
            if time.perf_counter() - since >= FLUSH_S:
                _send(out, replies)
                replies, since = [], time.perf_counter()
        buffer = buffer[at:]
        _send(out, replies)


def _send(out: BinaryIO, replies: list[bytes]) -> None:
    if replies:
        out.write(b"".join(replies))
        out.flush()


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
