"""One HTTP/1.1 client connection of the webhook client (vtn/notify/webhooks.py): sends a request,
reads the answer's status and framing, and says whether the connection can serve the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_MAX_KNOWN = 1024  # answers remembered whole are at most this long (Connection's `answers`)
_KNOWN_ANSWERS = 64


class ResponseError(ConnectionError):
    """The receiver's answer is not HTTP/1.x as this client reads it."""


class Disconnected(ConnectionError):
    """The server closed the connection before it answered."""


def parse_head(head: bytes) -> tuple[int, bool, int | None]:
    """Status, whether the connection may be kept, and the body length (None: not length-framed)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1].isdigit():
        raise ResponseError(f"bad status line {lines[0][:80]!r}")
    status = int(parts[1])
    keep = parts[0] == b"HTTP/1.1"
    length: int | None = None
    framed_otherwise = False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ResponseError(f"bad header line {line[:80]!r}")
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise ResponseError(f"bad Content-Length {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            framed_otherwise = True  # chunked (or worse) wins over Content-Length (RFC 9112, 6.3)
        elif name == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
            keep = False
    if status in (204, 304):
        return status, keep, 0
    return status, keep, None if framed_otherwise else length


class Connection(asyncio.Protocol):
    """One connection: sends a request, answers (status, reusable) once the response is read."""

    def __init__(self, on_lost: Callable[[Connection], None], answers: dict[bytes, tuple[int, bool]]) -> None:
        self._on_lost = on_lost
        # Whole answers read before (the bytes of one read, exactly one length-framed final
        # response) -> (status, keep-alive): a receiver answers every notification with the same
        # bytes, which then need no parsing. Shared by the pool's connections (WebhookClient's).
        self._answers = answers
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.answered_bytes = False  # did the current request get any response bytes?
        self.idle_since = 0.0
        self._buf = bytearray()
        self._answer: asyncio.Future[tuple[int, bool]] | None = None
        self._status = 0
        self._keep = False
        self._need = -1  # body bytes of the current response; -1 while its head is still coming

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, so no isinstance check).
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(Disconnected("the server closed the connection before answering"))
        self._on_lost(self)

    def expire(self) -> None:
        """The request ran out of time: fail it and close the connection (its answer may still come)."""
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(TimeoutError())
        self.close()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bool]]:
        assert self.transport is not None
        self._buf.clear()
        self._need = -1
        self.answered_bytes = False
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._answer

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            self.close()  # bytes nobody asked for: the connection's framing can no longer be trusted
            return
        self.answered_bytes = True
        fresh = self._need < 0 and not self._buf
        if fresh:
            known = self._answers.get(data)
            if known is not None:
                self._status, self._keep = known
                self._need = 0
                self._answered(answer, True)
                return
        self._buf += data
        try:
            self._read(answer)
        except ResponseError as exc:
            answer.set_exception(exc)
            self.close()
            return
        # Bytes that made exactly one answer are remembered: the same bytes make the same answer.
        if fresh and answer.done() and not self._buf and self._need == 0 and len(data) <= _MAX_KNOWN:
            if len(self._answers) >= _KNOWN_ANSWERS:
                self._answers.clear()  # a bound, not an LRU (a Date header changes each second)
            self._answers[data] = (self._status, self._keep)

    def _read(self, answer: asyncio.Future[tuple[int, bool]]) -> None:
        while self._need < 0:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > _MAX_HEAD:
                    raise ResponseError("response head too large")
                return
            status, keep, length = parse_head(bytes(self._buf[:end]))
            del self._buf[: end + 4]
            if 100 <= status < 200 and status != 101:
                continue  # informational; the final answer follows
            if length is None or length > _MAX_BODY or status == 101:
                answer.set_result((status, False))
                self.close()
                return
            self._status, self._keep, self._need = status, keep, length
        if len(self._buf) >= self._need:
            exact = len(self._buf) == self._need
            if exact:
                self._buf.clear()
                self._need = 0
            self._answered(answer, exact)

    def _answered(self, answer: asyncio.Future[tuple[int, bool]], exact: bool) -> None:
        """The answer (self._status, self._keep) is in; `exact`: no bytes came past its end."""
        # Bytes past the body would be a response to nothing, and an answer that came before all
        # of the request was written leaves the rest in flight: do not reuse such a connection.
        assert self.transport is not None
        unsent = self.transport.get_write_buffer_size()
        reusable = self._keep and exact and not unsent
        answer.set_result((self._status, reusable))
        if not reusable:
            self.close()
