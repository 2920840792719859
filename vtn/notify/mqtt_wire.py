"""A small MQTT 3.1.1 client made for one job: publish one payload to many topics at QoS 1.

Why not aiomqtt (paho underneath): a fan-out to 100,000 VENs is 100,000 PUBLISH packets. Through
aiomqtt each one is a task, a future, paho's packet object, locks and properties, about 150 µs of
CPU; here a packet is a few bytes joined onto the payload, written in batches, and the PUBACKs
are counted as they stream back, a few µs each.

What it does: CONNECT (clean session, client id, optional username/password, keep-alive) and
waits for the CONNACK; `publish_many` sends PUBLISH QoS 1 packets with at most `window` of them
unacknowledged, and returns once the broker acknowledged every one (PUBACK by packet id); PINGREQ
when the connection was quiet for half the keep-alive. Any failure (refused CONNACK, connection
lost, no PUBACK within the timeout, a packet this client does not expect) raises MqttWireError and
closes the connection: the caller publishes the whole batch again on a new one (at least once).
Not supported: QoS 2, receiving messages, MQTT 5 properties, will messages, session resumption.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
from collections.abc import Sequence

_CONNECT, _CONNACK, _PUBLISH, _PUBACK = 0x10, 0x20, 0x30, 0x40
_PINGREQ, _PINGRESP, _DISCONNECT = 0xC0, 0xD0, 0xE0
_REFUSED = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


_PID = tuple(struct.pack("!H", i) for i in range(0x10000))  # packet id -> its two bytes


class MqttWireError(ConnectionError):
    """The broker refused, went away, or did not acknowledge in time."""


def _length(n: int) -> bytes:
    """The remaining-length field: 7 bits a byte, least significant first."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 0xFFFF:
        raise ValueError("an MQTT string is at most 65,535 bytes")
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, username: str | None, password: str | None, keepalive: int) -> bytes:
    flags = 0x02  # clean session
    payload = _string(client_id)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + payload
    return bytes([_CONNECT]) + _length(len(body)) + body


class MqttWire(asyncio.Protocol):
    """One broker connection (see the module docstring); made by `open`, used by one task at a time."""

    def __init__(self, window: int, timeout_s: float, keepalive: int) -> None:
        self.window = window
        self.timeout_s = timeout_s
        self.keepalive = keepalive
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = bytearray()
        self._connack: asyncio.Future[None] | None = None
        self._unacked: set[int] = set()
        self._progress: asyncio.Event = asyncio.Event()  # a PUBACK came, or the connection ended
        self._writable: asyncio.Event = asyncio.Event()
        self._writable.set()
        self._error: MqttWireError | None = None
        self._next_id = 0
        self._ping: asyncio.TimerHandle | None = None
        self._last_write = 0.0

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        keepalive: int = 30,
        window: int = 1000,
        timeout_s: float = 10.0,
    ) -> MqttWire:
        loop = asyncio.get_running_loop()
        proto = cls(window, timeout_s, keepalive)
        try:
            async with asyncio.timeout(timeout_s):
                await loop.create_connection(
                    lambda: proto, host, port, ssl=tls, server_hostname=host if tls else None
                )
                proto._connack = loop.create_future()
                proto._write(connect_packet(client_id, username, password, keepalive))
                await proto._connack
        except TimeoutError as exc:
            proto.close()
            raise MqttWireError(f"no CONNACK from {host}:{port} within {timeout_s} s") from exc
        except OSError as exc:
            proto.close()
            raise MqttWireError(f"cannot connect to {host}:{port}: {exc}") from exc
        proto._schedule_ping()
        return proto

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(MqttWireError(f"connection to the broker lost: {exc or 'closed'}"))

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        self._buf += data
        buf = self._buf
        at = 0
        try:
            while len(buf) - at >= 2:
                kind = buf[at] & 0xF0
                n, shift, i = 0, 0, at + 1
                while True:  # remaining length, at most 4 bytes
                    if i >= len(buf):
                        return self._keep(at)
                    byte = buf[i]
                    n |= (byte & 0x7F) << shift
                    i += 1
                    if not byte & 0x80:
                        break
                    shift += 7
                    if shift > 21:
                        raise MqttWireError("malformed packet length from the broker")
                if len(buf) - i < n:
                    return self._keep(at)
                body = bytes(buf[i : i + n])
                at = i + n
                self._packet(kind, body)
        except MqttWireError as exc:
            self._fail(exc)
            return None
        return self._keep(at)

    # --- publishing ---

    async def publish_many(self, topics: Sequence[str], payload: bytes, *, retain: bool = False) -> None:
        """PUBLISH `payload` to each topic at QoS 1; return once every PUBACK is in."""
        head = _PUBLISH | 0x02 | (0x01 if retain else 0)
        try:
            async with asyncio.timeout(self.timeout_s + len(topics) / 10_000):
                pending: list[bytes] = []
                heads: dict[int, bytes] = {}  # topic length -> fixed header and topic length field
                for topic in topics:
                    while len(self._unacked) >= self.window:
                        self._flush(pending)
                        await self._wait_progress()
                    pid = self._packet_id()
                    name = topic.encode()
                    start = heads.get(len(name))
                    if start is None:
                        remaining = 2 + len(name) + 2 + len(payload)
                        start = heads[len(name)] = (
                            bytes([head]) + _length(remaining) + struct.pack("!H", len(name))
                        )
                    pending.append(b"".join((start, name, _PID[pid], payload)))
                    if len(pending) >= 256:
                        self._flush(pending)
                        if not self._writable.is_set():
                            await self._writable.wait()
                    self._check()
                self._flush(pending)
                while self._unacked:
                    await self._wait_progress()
        except TimeoutError as exc:
            self._fail(MqttWireError(f"{len(self._unacked)} PUBACKs missing after {self.timeout_s} s"))
            raise MqttWireError(f"{len(self._unacked)} PUBACKs missing") from exc

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            if self._ping is not None:
                self._ping.cancel()
            if not self.transport.is_closing():
                self.transport.write(bytes([_DISCONNECT, 0]))
            self.transport.close()

    # --- internals ---

    def _packet_id(self) -> int:
        while True:
            self._next_id = self._next_id % 0xFFFF + 1  # 1..65535
            if self._next_id not in self._unacked:
                self._unacked.add(self._next_id)
                return self._next_id

    def _flush(self, pending: list[bytes]) -> None:
        self._check()
        if pending:
            self._write(b"".join(pending))
            pending.clear()

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self._last_write = asyncio.get_running_loop().time()

    async def _wait_progress(self) -> None:
        self._progress.clear()
        self._check()
        await self._progress.wait()
        self._check()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _keep(self, at: int) -> None:
        del self._buf[:at]

    def _packet(self, kind: int, body: bytes) -> None:
        if kind == _PUBACK and len(body) >= 2:
            self._unacked.discard((body[0] << 8) | body[1])
            self._progress.set()
        elif kind == _CONNACK and len(body) >= 2:
            if self._connack is None or self._connack.done():
                raise MqttWireError("unexpected CONNACK")
            if body[1] != 0:
                reason = _REFUSED.get(body[1], f"code {body[1]}")
                self._connack.set_exception(MqttWireError(f"the broker refused the connection: {reason}"))
            else:
                self._connack.set_result(None)
        elif kind == _PINGRESP:
            pass
        else:
            raise MqttWireError(f"unexpected packet type {kind >> 4} from the broker")

    def _fail(self, error: MqttWireError) -> None:
        if self._error is None:
            self._error = error
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(error)
        self._progress.set()
        self._writable.set()
        self.close()

    def _schedule_ping(self) -> None:
        if self.keepalive <= 0 or self.closed:
            return
        loop = asyncio.get_running_loop()
        self._ping = loop.call_later(self.keepalive / 2, self._maybe_ping)

    def _maybe_ping(self) -> None:
        if self.closed or self.transport is None:
            return
        if asyncio.get_running_loop().time() - self._last_write >= self.keepalive / 2 - 0.5:
            self._write(bytes([_PINGREQ, 0]))
        self._schedule_ping()
