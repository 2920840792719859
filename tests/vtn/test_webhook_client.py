"""The delivery worker's HTTP/1.1 client against real servers on loopback: framing, reuse, failures."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.tls import client_ssl_context, server_ssl_context
from vtn.notify.http1 import Disconnected, ResponseError
from vtn.notify.webhooks import WebhookClient
from vtn.pki import CertificateAuthority
from vtn.storage.outbox import Claimed


def item(url: str, *, token: str | None = "tok", body: str = '{"n":1}') -> Claimed:
    return Claimed(1, "nid-1", "sub:s1", "s1", url, token, "sig==", body, 0, 0)


class RawServer:
    """A TCP server answering each request with the next canned response; counts connections.

    A response is bytes, or None to close the connection without answering, or a callable that gets
    the transport (to answer and then misbehave).
    """

    def __init__(self, responses: list[bytes | None | Callable[[asyncio.Transport], None]]) -> None:
        self.responses = responses
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _RawProtocol(self), "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


class _RawProtocol(asyncio.Protocol):
    def __init__(self, owner: RawServer) -> None:
        self.owner = owner
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.owner.connections += 1

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        length = int(self.buf[:end].lower().split(b"content-length:")[1].split(b"\r\n")[0])
        if len(self.buf) < end + 4 + length:
            return
        self.owner.requests.append(self.buf[: end + 4 + length])
        self.buf = self.buf[end + 4 + length :]
        answer = self.owner.responses.pop(0)
        if answer is None:
            self.transport.close()
        elif callable(answer):
            answer(self.transport)
        else:
            self.transport.write(answer)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
async def client() -> AsyncIterator[WebhookClient]:
    c = WebhookClient(concurrency=8, timeout_s=2.0)
    yield c
    await c.close()


async def test_headers_body_and_keep_alive(client: WebhookClient) -> None:
    seen: list[tuple[dict[str, str], bytes, object]] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read(), request.transport))
        return web.Response(text="thanks")

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app, host="127.0.0.1") as server:
        url = str(server.make_url("/hook?x=1"))
        host = f"127.0.0.1:{server.port}"
        assert [await client.post(item(url)) for _ in range(3)] == [200, 200, 200]
    headers, body, first = seen[0]
    assert body == b'{"n":1}' and headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer tok" and headers["X-Payload-Signature"] == "sig=="
    assert headers["X-Notification-ID"] == "nid-1" and headers["X-Subscription-ID"] == "s1"
    assert headers["Host"] == host
    assert all(t is first for _, _, t in seen)  # one connection, kept alive


FRAMINGS = [
    (OK, 200, True),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, True),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 201, True),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, False),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 200, False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, False),
    (b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", 503, True),
    (b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", 302, True),  # not followed
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n", 200, False),  # stray bytes
]


@pytest.mark.parametrize(("response", "status", "reused"), FRAMINGS)
async def test_framing_decides_reuse(
    client: WebhookClient, response: bytes, status: int, reused: bool
) -> None:
    server = RawServer([response, OK])
    url = await server.start()
    try:
        assert await client.post(item(url)) == status
        assert await client.post(item(url)) == 200
        assert server.connections == (1 if reused else 2)
    finally:
        await server.stop()


@pytest.mark.parametrize(("response", "status", "reused"), FRAMINGS)
async def test_the_same_answer_again_reads_the_same(
    client: WebhookClient, response: bytes, status: int, reused: bool
) -> None:
    """An answer read before is recognised by its bytes: same status, same reuse decision."""
    server = RawServer([response] * 4)
    url = await server.start()
    try:
        assert [await client.post(item(url)) for _ in range(4)] == [status] * 4
        assert server.connections == (1 if reused else 4)
    finally:
        await server.stop()


async def test_a_remembered_answer_is_told_apart_from_others(client: WebhookClient) -> None:
    busy = b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    server = RawServer([OK, busy, OK, busy, closing, OK])
    url = await server.start()
    try:
        assert [await client.post(item(url)) for _ in range(6)] == [200, 503, 200, 503, 200, 200]
        assert server.connections == 2  # the Connection: close answer was not taken for OK
    finally:
        await server.stop()


async def test_a_body_in_pieces_is_read_to_its_end(client: WebhookClient) -> None:
    def slowly(transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        transport.write(b"HTTP/1.1 200 OK\r\nContent-Le")
        loop.call_later(0.05, transport.write, b"ngth: 5\r\n\r\nab")
        loop.call_later(0.1, transport.write, b"cde")

    server = RawServer([slowly, OK])
    url = await server.start()
    try:
        assert await client.post(item(url)) == 200
        assert await client.post(item(url)) == 200
        assert server.connections == 1
    finally:
        await server.stop()


async def test_a_connection_the_server_closed_while_idle_is_replaced(client: WebhookClient) -> None:
    # The server answers, then closes the connection silently; the next request meets a dead one.
    def answer_then_close(transport: asyncio.Transport) -> None:
        transport.write(OK)
        asyncio.get_running_loop().call_later(0.05, transport.close)

    server = RawServer([answer_then_close, OK])
    url = await server.start()
    try:
        assert await client.post(item(url)) == 200
        await asyncio.sleep(0.1)
        assert await client.post(item(url)) == 200
        assert server.connections == 2 and len(server.requests) == 2
    finally:
        await server.stop()


async def test_a_reused_connection_dropped_before_answering_is_retried_once(client: WebhookClient) -> None:
    server = RawServer([OK, None, OK])  # the second request finds the connection closed under it
    url = await server.start()
    try:
        assert await client.post(item(url)) == 200
        assert await client.post(item(url)) == 200
        assert server.connections == 2 and len(server.requests) == 3
    finally:
        await server.stop()


async def test_a_new_connection_dropped_or_cut_short_is_an_error(client: WebhookClient) -> None:
    def cut(transport: asyncio.Transport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        transport.close()

    server = RawServer([None, cut])
    url = await server.start()
    try:
        with pytest.raises(Disconnected):
            await client.post(item(url))
        with pytest.raises(Disconnected):
            await client.post(item(url))
        assert len(server.requests) == 2  # no retry on a fresh connection
    finally:
        await server.stop()


async def test_garbage_is_an_error(client: WebhookClient) -> None:
    server = RawServer([b"SPDY/3 200 OK\r\n\r\n"])
    url = await server.start()
    try:
        with pytest.raises(ResponseError):
            await client.post(item(url))
    finally:
        await server.stop()


async def test_silence_times_out() -> None:
    server = RawServer([lambda transport: None])
    url = await server.start()
    client = WebhookClient(concurrency=1, timeout_s=0.2)
    try:
        with pytest.raises(TimeoutError):
            await client.post(item(url))
    finally:
        await client.close()
        await server.stop()


async def test_silence_on_a_pooled_connection_times_out_and_drops_it() -> None:
    server = RawServer([OK, lambda transport: None, OK])
    url = await server.start()
    client = WebhookClient(concurrency=1, timeout_s=0.2)
    try:
        assert await client.post(item(url)) == 200
        with pytest.raises(TimeoutError):
            await client.post(item(url))  # on the pooled connection: the pool's sweep times it out
        assert await client.post(item(url)) == 200
        assert server.connections == 2  # the silent connection was not reused
    finally:
        await client.close()
        await server.stop()


async def test_header_injection_is_refused(client: WebhookClient) -> None:
    with pytest.raises(ValueError, match="line break"):
        await client.post(item("http://127.0.0.1:9/hook", token="x\r\nX-Evil: 1"))


async def test_credentials_in_the_url_become_basic_auth(client: WebhookClient) -> None:
    server = RawServer([OK, OK])
    url = (await server.start()).replace("http://", "http://us%40er:pa%3Ass@")
    try:
        assert await client.post(item(url, token=None)) == 200
        assert await client.post(item(url, token="tok")) == 200
        expected = base64.b64encode(b"us@er:pa:ss").decode()
        assert f"Authorization: Basic {expected}\r\n".encode() in server.requests[0]
        assert b"Authorization: Bearer tok\r\n" in server.requests[1]  # the token wins
    finally:
        await server.stop()


async def test_https_verifies_the_server(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca")
    cert, key = ca.issue_server("localhost", ["127.0.0.1"])
    (tmp_path / "s.crt").write_bytes(cert)
    (tmp_path / "s.key").write_bytes(key)

    async def hook(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    tls = server_ssl_context(tmp_path / "s.crt", tmp_path / "s.key")
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    port = runner.addresses[0][1]
    trusting = WebhookClient(1, 2.0, tls=client_ssl_context(ca_file=ca.cert_path))
    default = WebhookClient(1, 2.0)  # system CAs: the test CA is unknown there
    try:
        assert await trusting.post(item(f"https://127.0.0.1:{port}/hook")) == 200
        assert await trusting.post(item(f"https://localhost:{port}/hook")) == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            await default.post(item(f"https://127.0.0.1:{port}/hook"))
    finally:
        await trusting.close()
        await default.close()
        await runner.cleanup()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook/1",
        "https://Example.COM/a/b?x=1&y=2",
        "http://h:80/p",
        "http://[::1]:9/z",
        "http://h/p?q='x'",
        "http://h/a:b@c?x=a/b?c",
        "http://h/p?",
        "http://u:p@h/x",
        "http://h/a/../b",
        "http://h/a%20b",
        "http://h/x#f",
        "http://h/x/.y",
    ],
)
def test_request_head_from_the_origin_cache_equals_the_full_parse(url: str) -> None:
    """Plain URLs are built from their origin's parse (fast); the request must be what the full
    parse of the URL gives, and URLs that are not plain must take the full parse."""
    fast = WebhookClient(4, 1.0)
    full = WebhookClient(4, 1.0)
    full._by_origin = lambda target: None  # type: ignore[method-assign]
    assert fast._target(url) == full._target(url)
