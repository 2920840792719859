"""Webhook POSTs of claimed outbox rows: a small HTTP/1.1 client made for this one job.

Why not aiohttp's ClientSession: a fan-out sends tens of thousands of small POSTs and needs only the
status of each. ClientSession spends about 115 µs of CPU per request on machinery unused here
(cookies, redirects, tracing hooks, compression, multipart), this client about 25 µs: on a two-core
machine, 10,000 POSTs to bench/receiver.py on loopback take 1.2 s of CPU with it and 0.3 s with this.

What it does: POST with Content-Length over keep-alive connections pooled per (scheme, host, port),
one request at a time per connection; TLS with the default verifying context (system CAs, host name
check), as aiohttp; one total timeout per request, connecting included. Only the status is used:
a Content-Length body (up to 1 MiB) is read and dropped so the connection can serve the next
request; any other framing (chunked, until close), `Connection: close` or HTTP/1.0 closes the
connection once the status line and headers are in. A request that meets a reused connection
already closed by the server (the keep-alive race) is sent once more on a new connection:
receivers de-duplicate by X-Notification-ID, and delivery is at least once anyway.
Not supported, as before: redirects (a 3xx is a failed attempt), proxies, compression, HTTP/2.

`WebhookClient(..., library=True)` (DeliveryPolicy.raw_http_client = False) sends the same requests
with aiohttp's ClientSession instead: the library path, kept as the switch back and as the reference
that tests/vtn/test_webhook_client.py compares this client with (same requests on the wire, same
statuses); docs/performance.md has the measured difference (bench/fast_paths.py).
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import cast
from urllib.parse import unquote

import aiohappyeyeballs
import aiohttp
import aiohttp.abc
from yarl import URL

from vtn.notify.callbacks import is_private_address
from vtn.storage.outbox import Claimed

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_MAX_KNOWN = 1024  # answers remembered whole are at most this long (WebhookClient._answers)
_KNOWN_ANSWERS = 64
_IDLE_S = 15.0  # an idle connection is not reused after this long (aiohttp's keepalive_timeout)
_USER_AGENT = "energy-coordination-vtn"
_Key = tuple[str, str, int]  # scheme, host, port
# A path and query that need no encoding, taken as they are (yarl would leave them unchanged too).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_NOT_PLAIN_ORIGIN = re.compile(r"[@?#\\%\s]")


class ResponseError(ConnectionError):
    """The receiver's answer is not HTTP/1.x as this client reads it."""


class Disconnected(ConnectionError):
    """The server closed the connection before it answered."""


def _parse_head(head: bytes) -> tuple[int, bool, int | None]:
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


class _Connection(asyncio.Protocol):
    """One connection: sends a request, answers (status, reusable) once the response is read."""

    def __init__(
        self, on_lost: Callable[[_Connection], None], answers: dict[bytes, tuple[int, bool]]
    ) -> None:
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
            status, keep, length = _parse_head(bytes(self._buf[:end]))
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


def _check_header_value(value: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("header value contains a line break or NUL")


class PrivateAddress(OSError):
    """The callback host resolves only to addresses callbacks may not reach."""


class _PublicResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, keeping only addresses callbacks may reach (the library path's check)."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        found = [
            r for r in await self._inner.resolve(host, port, family) if not is_private_address(r["host"])
        ]
        if not found:
            raise PrivateAddress(f"callback host {host!r} resolves to a private or loopback address")
        return found

    async def close(self) -> None:
        await self._inner.close()


class WebhookClient:
    """One keep-alive connection pool for all callbacks; `post` returns the HTTP status."""

    def __init__(
        self,
        concurrency: int,
        timeout_s: float,
        tls: ssl.SSLContext | None = None,
        *,
        library: bool = False,
        allow_private: bool = True,
    ) -> None:
        self._library = library
        self._session: aiohttp.ClientSession | None = None
        self._timeout_s = timeout_s
        self._allow_private = allow_private
        self._max_idle = concurrency
        self._tls = tls
        self._idle: dict[_Key, list[_Connection]] = {}
        self._lru: OrderedDict[_Connection, _Key] = OrderedDict()  # idle connections, oldest first
        self._open: set[_Connection] = set()
        self._targets: dict[str, tuple[_Key, bytes, str | None]] = {}
        self._origins: dict[str, tuple[_Key, bytes]] = {}  # scheme://host:port -> key, Host header
        self._busy: dict[_Connection, float] = {}  # pooled connections in flight -> deadline
        self._answers: dict[bytes, tuple[int, bool]] = {}  # see _Connection
        # Body -> its Content-Length header and bytes: a fan-out sends one body to every subscriber.
        self._tails: dict[str, bytes] = {}
        self._sweep_s = min(0.25, timeout_s / 4)
        self._sweeper: asyncio.TimerHandle | None = None

    async def post(self, item: Claimed) -> int:
        if self._library:
            return await self._post_with_aiohttp(item)
        key, head, basic = self._target(item.target)
        token = f"Bearer {item.bearer_token}" if item.bearer_token else basic
        # The header values as one string, checked once for line breaks and NULs, encoded once.
        text = "Content-Type: application/json\r\nX-Notification-ID: " + item.notification_id
        values = item.notification_id
        if token:
            text += "\r\nAuthorization: " + token
            values += token
        if item.signature:
            text += "\r\nX-Payload-Signature: " + item.signature
            values += item.signature
        if item.subscription_id:
            text += "\r\nX-Subscription-ID: " + item.subscription_id
            values += item.subscription_id
        _check_header_value(values)
        lines = [head, text.encode()]
        tail = self._tails.get(item.body)
        if tail is None:
            body = item.body.encode()
            tail = b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            if len(self._tails) >= 16:
                self._tails.clear()
            self._tails[item.body] = tail
        lines.append(tail)
        data = b"".join(lines)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        conn = self._checkout(key)
        if conn is not None:
            # The common case, a pooled connection: timed by the pool's sweep, not asyncio.timeout.
            try:
                status, reusable = await self._timed(loop, conn, data, deadline)
            except Disconnected:
                if conn.answered_bytes:
                    raise
                conn = None  # closed while idle (keep-alive race): once more, on a new one
            except BaseException:
                conn.close()
                raise
        if conn is None:
            try:
                async with asyncio.timeout_at(deadline):
                    conn = await self._connect(key)
                    status, reusable = await conn.send(data)
            except BaseException:
                if conn is not None:
                    conn.close()
                raise
        if reusable:
            self._checkin(key, conn)
        return status

    async def _timed(
        self, loop: asyncio.AbstractEventLoop, conn: _Connection, data: bytes, deadline: float
    ) -> tuple[int, bool]:
        """Send on a pooled connection, failing with TimeoutError once `deadline` (loop time) passed.

        Why a sweep: asyncio.timeout per request (a timer, a context manager, cancellation and
        uncancel) was about a tenth of the sending CPU in a fan-out. One timer for the whole pool
        checks the in-flight requests a few times per timeout instead. It fails a request whose
        deadline falls before its next run, so a request ends within the timeout, up to a quarter of
        it early, never late: the worker starts a row only if the whole attempt fits in its lease.
        """
        answer = conn.send(data)
        self._busy[conn] = deadline
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._sweep_s, self._sweep, loop)
        try:
            return await answer
        finally:
            self._busy.pop(conn, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = None
        now = loop.time()
        for conn in [c for c, deadline in self._busy.items() if deadline <= now + self._sweep_s]:
            del self._busy[conn]
            conn.expire()
        if self._busy:
            self._sweeper = loop.call_later(self._sweep_s, self._sweep, loop)

    async def _post_with_aiohttp(self, item: Claimed) -> int:
        """The same request through aiohttp's ClientSession (the library path)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_idle,
                ssl=self._tls if self._tls else True,
                resolver=None if self._allow_private else _PublicResolver(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                headers={"User-Agent": _USER_AGENT},
                auto_decompress=False,
            )
        headers = {"Content-Type": "application/json", "X-Notification-ID": item.notification_id}
        if item.bearer_token:
            headers["Authorization"] = f"Bearer {item.bearer_token}"
        if item.signature:
            headers["X-Payload-Signature"] = item.signature
        if item.subscription_id:
            headers["X-Subscription-ID"] = item.subscription_id
        for value in headers.values():
            _check_header_value(value)  # the same refusal of line breaks and NULs as the raw client
        url = URL(item.target)
        if item.bearer_token and url.raw_user is not None:
            url = url.with_user(None)  # the token wins over credentials in the URL, as in post()
        async with self._session.post(
            url, data=item.body.encode(), headers=headers, allow_redirects=False
        ) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        for conn in list(self._open):
            conn.close()
        self._idle.clear()
        self._lru.clear()

    def _target(self, target: str) -> tuple[_Key, bytes, str | None]:
        """Pool key, request line and Host header, and Basic credentials of a callback URL (cached)."""
        found = self._targets.get(target)
        if found is None:
            found = self._by_origin(target)
        if found is None:
            url = URL(target)
            if url.scheme not in ("http", "https") or not url.raw_host or url.port is None:
                raise ValueError(f"not an http(s) URL: {target!r}")
            # As aiohttp: credentials in the URL become Basic auth (a bearer token takes precedence).
            basic = None
            if url.raw_user is not None:
                pair = f"{unquote(url.raw_user)}:{unquote(url.raw_password or '')}"
                basic = "Basic " + base64.b64encode(pair.encode()).decode()
            head = (
                f"POST {url.raw_path_qs or '/'} HTTP/1.1\r\nHost: {url.host_port_subcomponent}\r\n"
                f"User-Agent: {_USER_AGENT}\r\n"
            ).encode()
            found = ((url.scheme, url.raw_host, url.port), head, basic)
            if len(self._targets) >= 100_000:
                self._targets.clear()  # a bound, not an LRU: callback URLs change rarely
            self._targets[target] = found
        return found

    def _by_origin(self, target: str) -> tuple[_Key, bytes, str | None] | None:
        """A plain URL (no credentials, a path of URL-safe ASCII) from its origin's parse, cached per
        origin: a fan-out to 100,000 subscribers has as many distinct URLs on a few origins, and
        parsing each one took a fifth of the sending CPU. None: not plain, parsed in full instead."""
        start = target.find("://") + 3
        end = target.find("/", start)
        if start < 3 or end < 0:
            return None
        path, origin = target[end:], target[:end]
        # Dot segments are normalised by yarl, credentials become Basic auth: both the full parse.
        if (
            not _PLAIN_PATH.fullmatch(path)
            or "/." in path
            or path.endswith("?")
            or _NOT_PLAIN_ORIGIN.search(origin)
        ):
            return None
        parsed = self._origins.get(origin)
        if parsed is None:
            url = URL(origin)
            if url.raw_user is not None or url.scheme not in ("http", "https") or not url.raw_host:
                return None
            if url.port is None:
                return None
            parsed = (
                (url.scheme, url.raw_host, url.port),
                f"Host: {url.host_port_subcomponent}\r\nUser-Agent: {_USER_AGENT}\r\n".encode(),
            )
            if len(self._origins) >= 10_000:
                self._origins.clear()
            self._origins[origin] = parsed
        key, host = parsed
        return key, b"POST " + path.encode() + b" HTTP/1.1\r\n" + host, None

    async def _connect(self, key: _Key) -> _Connection:
        scheme, host, port = key
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        loop = asyncio.get_running_loop()
        # Happy eyeballs as aiohttp does it (its own dependency), which works on uvloop too: uvloop's
        # create_connection has no happy_eyeballs_delay.
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not self._allow_private:
            # Checked again at delivery, on the addresses we connect to: the host may have been
            # re-pointed since its subscription was accepted (DNS rebinding).
            infos = [i for i in infos if not is_private_address(str(i[4][0]))]
            if not infos:
                raise PrivateAddress(f"callback host {host!r} resolves to a private or loopback address")
        sock = await aiohappyeyeballs.start_connection(infos, happy_eyeballs_delay=0.25, interleave=1)
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self._forget, self._answers),
                sock=sock,
                ssl=tls,
                server_hostname=host if tls is not None else None,
            )
        except BaseException:
            sock.close()
            raise
        self._open.add(conn)
        return conn

    def _checkout(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed
            self._lru.pop(conn, None)
            if not conn.closed and now - conn.idle_since < _IDLE_S:
                return conn
            conn.close()
        if idle is not None and not idle:
            del self._idle[key]
        return None

    def _checkin(self, key: _Key, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(conn)
        self._lru[conn] = key
        while len(self._lru) > self._max_idle:
            oldest, oldest_key = self._lru.popitem(last=False)
            self._idle[oldest_key].remove(oldest)
            oldest.close()

    def _forget(self, conn: _Connection) -> None:
        """A connection closed (by either side): drop it from the pool."""
        self._open.discard(conn)
        key = self._lru.pop(conn, None)
        if key is not None:
            idle = self._idle[key]
            idle.remove(conn)
            if not idle:
                del self._idle[key]
