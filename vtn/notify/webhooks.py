"""Webhook POSTs of claimed outbox rows: a small HTTP/1.1 client made for this one job.

Why not aiohttp's ClientSession: a fan-out sends tens of thousands of small POSTs and needs only the
status of each. ClientSession spends about 115 µs of CPU per request on machinery unused here
(cookies, redirects, tracing hooks, compression, multipart), this client about 25 µs: on a two-core
machine, 10,000 POSTs to bench/receiver.py on loopback take 1.2 s of CPU with it and 0.3 s with this.

What it does: POST with Content-Length over keep-alive connections pooled per (scheme, host, port),
one request at a time per connection, or (`post_many`) several pipelined in one write on a connection
that already served one; TLS with the default verifying context (system CAs, host name
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
from urllib.parse import unquote

import aiohappyeyeballs
from yarl import URL

from vtn.notify._library import USER_AGENT, LibraryClient, PrivateAddress, check_header_value
from vtn.notify.callbacks import is_private_address
from vtn.notify.http1 import Answers, Connection, Disconnected
from vtn.storage.outbox import Claimed

_IDLE_S = 15.0  # an idle connection is not reused after this long (aiohttp's keepalive_timeout)
_Key = tuple[str, str, int]  # scheme, host, port
# A path and query that need no encoding, taken as they are (yarl would leave them unchanged too).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_NOT_PLAIN_ORIGIN = re.compile(r"[@?#\\%\s]")


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
        self._session = (
            LibraryClient(concurrency, timeout_s, tls, allow_private=allow_private) if library else None
        )
        self._timeout_s = timeout_s
        self._allow_private = allow_private
        self._max_idle = concurrency
        self._tls = tls
        self._idle: dict[_Key, list[Connection]] = {}
        self._lru: OrderedDict[Connection, _Key] = OrderedDict()  # idle connections, oldest first
        self._open: set[Connection] = set()
        self._targets: dict[str, tuple[_Key, bytes, str | None]] = {}
        self._origins: dict[str, tuple[_Key, bytes]] = {}  # scheme://host:port -> key, Host header
        self._busy: dict[Connection, float] = {}  # pooled connections in flight -> deadline
        self._serial: set[_Key] = set()  # pools whose server dropped a pipelined batch unanswered
        self._answers: dict[bytes, tuple[int, bool]] = {}  # see Connection
        # Body -> its Content-Length header and bytes: a fan-out sends one body to every subscriber.
        self._tails: dict[str, bytes] = {}
        self._sweep_s = min(0.25, timeout_s / 4)
        self._sweeper: asyncio.TimerHandle | None = None

    async def post(self, item: Claimed) -> int:
        if self._library:
            assert self._session is not None
            return await self._session.post(item)
        key, data = self._request(item)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        sent = loop.time()
        conn = self._checkout(key)
        if conn is not None:
            # The common case, a pooled connection: timed by the pool's sweep, not asyncio.timeout.
            try:
                statuses, reusable, _ = await self._timed(loop, conn, data, 1, deadline)
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
                    statuses, reusable, _ = await conn.send(data)
            except BaseException:
                if conn is not None:
                    conn.close()
                raise
        if reusable:
            conn.pace = loop.time() - sent
            self._checkin(key, conn)
        return statuses[0]

    def pool_key(self, item: Claimed) -> _Key | None:
        """The connection pool a webhook row goes through (None: the library client, no pools).
        Rows of one pool may go out together (`post_many`)."""
        return None if self._library else self._target(item.target)[0]

    def depth(self, key: _Key | None, most: int) -> int:
        """How many rows `post_many` would pipeline to `key` now (up to `most`): several only on an
        idle connection that served a request before (keep-alive proven), to a server that answered
        its last request quickly enough that `most` of them in a row fit in a quarter of the timeout
        (a server working through pipelined requests one by one delays each by all those before)."""
        idle = self._idle.get(key) if key is not None else None
        if not idle or key in self._serial:
            return 1
        conn = idle[-1]  # the one _checkout gives
        if not conn.served or conn.pace * most * 4 >= self._timeout_s:
            return 1
        return most

    async def post_many(self, items: list[Claimed]) -> list[int | BaseException | None]:
        """POST rows of one pool (`pool_key`) pipelined on one keep-alive connection, in one write.

        Each row's outcome: its status; the exception that ended its attempt; or None when it was
        not answered because the server closed the connection after answering earlier rows (a
        keep-alive limit): the caller gives such rows back unattempted. The first request on a new
        connection goes alone: a server proves it keeps connections alive before it is sent several.
        Pipelining POSTs (RFC 9112, 9.3.2) is safe here: a failed batch is retried, and receivers
        de-duplicate by X-Notification-ID. A server that drops a pipelined batch unanswered is sent
        one request at a time from then on.
        """
        if len(items) == 1 or self._library:
            return await self._one_by_one(items)
        key = self._target(items[0].target)[0]
        conn = self._checkout(key) if key not in self._serial else None
        if conn is None or conn.served == 0:
            if conn is not None:
                self._checkin(key, conn)
            return await self._one_by_one(items)
        try:
            data = b"".join([self._request(item)[1] for item in items])
        except ValueError:  # a row's own fault: the rows one by one, each with its outcome
            self._checkin(key, conn)
            return await self._one_by_one(items)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            statuses, reusable, rest = await self._timed(loop, conn, data, len(items), sent + self._timeout_s)
        except Disconnected as exc:
            conn.close()
            if conn.answered_bytes:
                return [exc] * len(items)
            # Closed while idle (the keep-alive race) or the pipelined batch dropped unanswered:
            # these go one at a time, and from now on too if the connection had not been idle long.
            if time.monotonic() - conn.idle_since < 1.0:
                self._serial.add(key)
            return await self._one_by_one(items)
        except Exception as exc:
            conn.close()
            return [exc] * len(items)
        except BaseException:
            conn.close()
            raise
        if reusable:
            conn.pace = (loop.time() - sent) / len(items)
            self._checkin(key, conn)
        done: list[int | BaseException | None] = list(statuses)
        unanswered = None if isinstance(rest, Disconnected) else rest
        return done + [unanswered] * (len(items) - len(done))

    async def _one_by_one(self, items: list[Claimed]) -> list[int | BaseException | None]:
        """A new connection, or a server that does not pipeline: one request after the other."""
        out: list[int | BaseException | None] = []
        for item in items:
            try:
                out.append(await self.post(item))
            except OSError as exc:  # connecting, timeouts, disconnects, TLS: the host's failure
                # The others would meet the same failure.
                return out + [exc] * (len(items) - len(out))
            except Exception as exc:  # this row's own (a header value it may not carry)
                out.append(exc)
        return out

    def _request(self, item: Claimed) -> tuple[_Key, bytes]:
        """A row's pool key and its request's bytes."""
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
        check_header_value(values)
        tail = self._tails.get(item.body)
        if tail is None:
            body = item.body.encode()
            tail = b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            if len(self._tails) >= 16:
                self._tails.clear()
            self._tails[item.body] = tail
        return key, b"".join((head, text.encode(), tail))

    async def _timed(
        self, loop: asyncio.AbstractEventLoop, conn: Connection, data: bytes, count: int, deadline: float
    ) -> Answers:
        """Send on a pooled connection, failing with TimeoutError once `deadline` (loop time) passed.

        Why a sweep: asyncio.timeout per request (a timer, a context manager, cancellation and
        uncancel) was about a tenth of the sending CPU in a fan-out. One timer for the whole pool
        checks the in-flight requests a few times per timeout instead. It fails a request whose
        deadline falls before its next run, so a request ends within the timeout, up to a quarter of
        it early, never late: the worker starts a row only if the whole attempt fits in its lease.
        """
        answer = conn.send(data, count)
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

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._session is not None:
            await self._session.close()
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
                f"User-Agent: {USER_AGENT}\r\n"
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
                f"Host: {url.host_port_subcomponent}\r\nUser-Agent: {USER_AGENT}\r\n".encode(),
            )
            if len(self._origins) >= 10_000:
                self._origins.clear()
            self._origins[origin] = parsed
        key, host = parsed
        return key, b"POST " + path.encode() + b" HTTP/1.1\r\n" + host, None

    async def _connect(self, key: _Key) -> Connection:
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
                lambda: Connection(self._forget, self._answers),
                sock=sock,
                ssl=tls,
                server_hostname=host if tls is not None else None,
            )
        except BaseException:
            sock.close()
            raise
        self._open.add(conn)
        return conn

    def _checkout(self, key: _Key) -> Connection | None:
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

    def _checkin(self, key: _Key, conn: Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(conn)
        self._lru[conn] = key
        while len(self._lru) > self._max_idle:
            oldest, oldest_key = self._lru.popitem(last=False)
            self._idle[oldest_key].remove(oldest)
            oldest.close()

    def _forget(self, conn: Connection) -> None:
        """A connection closed (by either side): drop it from the pool."""
        self._open.discard(conn)
        key = self._lru.pop(conn, None)
        if key is not None:
            idle = self._idle[key]
            idle.remove(conn)
            if not idle:
                del self._idle[key]
