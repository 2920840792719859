"""One HTTP/1.1 client connection of the webhook client (vtn/notify/webhooks.py): sends a batch of
requests (one, or several pipelined in one write), reads each answer's status and framing, and says
whether the connection can serve the next batch.
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


# What a request batch's future gives: each answered request's status in order, whether the
# connection can serve the next batch, and why the rest (if any) went unanswered.
Answers = tuple[list[int], bool, BaseException | None]


class Connection(asyncio.Protocol):
    """One connection: sends a batch of requests (one, or several pipelined), answers their statuses."""

    def __init__(self, on_lost: Callable[[Connection], None], answers: dict[bytes, tuple[int, bool]]) -> None:
        self._on_lost = on_lost
        # Whole answers read before (the bytes of one read, exactly one length-framed final
        # response) -> (status, keep-alive): a receiver answers every notification with the same
        # bytes, which then need no parsing. Shared by the pool's connections (WebhookClient's).
        self._answers = answers
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.answered_bytes = False  # did the current batch get any response bytes?
        self.served = 0  # answers read on this connection, all batches: > 0 once it proved keep-alive
        self.idle_since = 0.0
        self.pace = 0.0  # seconds per answer of the last batch (set by the pool)
        self._buf = bytearray()
        self._answer: asyncio.Future[Answers] | None = None
        self._statuses: list[int] = []
        self._expect = 0  # answers the current batch still waits for
        self._unit = b""  # the bytes of the last answer read alone in one read (see data_received)
        self._status = 0
        self._keep = False
        self._need = -1  # body bytes of the current response; -1 while its head is still coming

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, so no isinstance check).
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(Disconnected("the server closed the connection before answering"))
        self._on_lost(self)

    def expire(self) -> None:
        """The batch ran out of time: fail it and close the connection (its answer may still come)."""
        self._fail(TimeoutError())
        self.close()

    def _fail(self, exc: BaseException) -> None:
        """End the batch: with the answers read so far and `exc` for the rest, or `exc` if none."""
        answer = self._answer
        if answer is not None and not answer.done():
            if self._statuses:
                answer.set_result((self._statuses, False, exc))
            else:
                answer.set_exception(exc)

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def send(self, data: bytes, count: int = 1) -> asyncio.Future[Answers]:
        """Write `count` requests (pipelined when more than one) and wait for their answers."""
        assert self.transport is not None
        self._buf.clear()
        self._need = -1
        self._statuses = []
        self._expect = count
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
                self._got(answer, 1)
                return
            # Pipelined answers arrive together: n copies of a known answer are n such answers.
            unit = self._unit
            if unit and len(data) % len(unit) == 0 and len(data) // len(unit) <= self._expect:
                known = self._answers.get(unit)
                if known is not None and known[1] and data == unit * (len(data) // len(unit)):
                    self._status, self._keep = known
                    self._got(answer, len(data) // len(unit))
                    return
        before = len(self._statuses)
        self._buf += data
        try:
            self._read(answer)
        except ResponseError as exc:
            self._fail(exc)
            self.close()
            return
        # Bytes that made exactly one answer are remembered: the same bytes make the same answer.
        if (
            fresh
            and len(self._statuses) == before + 1
            and not self._buf
            and self._need < 0
            and len(data) <= _MAX_KNOWN
        ):
            if len(self._answers) >= _KNOWN_ANSWERS:
                self._answers.clear()  # a bound, not an LRU (a Date header changes each second)
            self._answers[data] = (self._status, self._keep)
            self._unit = data

    def _read(self, answer: asyncio.Future[Answers]) -> None:
        while not answer.done():
            if self._need < 0:
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
                    self._statuses.append(status)
                    self._expect -= 1
                    self.served += 1
                    self._done(answer, False)
                    return
                self._status, self._keep, self._need = status, keep, length
            if len(self._buf) < self._need:
                return
            del self._buf[: self._need]
            self._need = -1
            self._got(answer, 1)

    def _got(self, answer: asyncio.Future[Answers], n: int) -> None:
        """`n` answers (self._status, self._keep) are in, each with its body read."""
        self._statuses.extend([self._status] * n)
        self._expect -= n
        self.served += n
        if not self._keep:
            self._done(answer, False)
        elif self._expect <= 0:
            # Bytes past the last body would be a response to nothing, and an answer that came
            # before all of the batch was written leaves the rest in flight: do not reuse such a
            # connection.
            assert self.transport is not None
            self._done(answer, not self._buf and not self.transport.get_write_buffer_size())

    def _done(self, answer: asyncio.Future[Answers], reusable: bool) -> None:
        unanswered = None if self._expect <= 0 else Disconnected("the connection closed mid-batch")
        answer.set_result((self._statuses, reusable, unanswered))
        if not reusable:
            self.close()
