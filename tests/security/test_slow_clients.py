"""The served VTN (`vtn serve`'s runner) against slow, half-sent, aborted and malformed requests, over
raw sockets: what a real client on the network can do that aiohttp's test client cannot."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.limits.server import make_runner
from vtn.storage import open_store

TOKEN = "/openadr3/3.1.0/auth/token"


@pytest.fixture
async def port(db_url: str) -> AsyncIterator[int]:
    config = VtnConfig(
        db_url=db_url,
        delivery_worker=False,
        header_timeout_seconds=0.5,
        body_timeout_seconds=0.5,
        idle_timeout_seconds=30,
        max_connections=4,
    )
    store = open_store(db_url)
    app = await build_app(config, store)
    runner = make_runner(app, config, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()
        await store.close()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing; fails if it keeps the connection open longer."""
    return await asyncio.wait_for(reader.read(), seconds)


async def _exchange(port: int, raw: bytes) -> tuple[str, dict[str, str], Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await _closed_within(reader, 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, json.loads(body)


async def test_half_sent_request_head_is_closed_after_the_timeout(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    assert await _closed_within(reader, 3) == b""
    writer.close()


async def test_silent_connection_is_closed_after_the_head_timeout(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await _closed_within(reader, 3) == b""
    writer.close()


async def test_slow_body_is_closed_after_the_timeout_without_a_traceback(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    writer.write(head.encode() + b"Content-Length: 1000\r\n\r\ngrant_type=")
    await writer.drain()
    await _closed_within(reader, 3)
    writer.close()
    await asyncio.sleep(0.1)  # let the handler see the disconnection and log it
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_aborted_uploads_write_no_tracebacks(port: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        writer.write(head.encode() + b"Content-Length: 100000\r\n\r\n{" + b" " * 5000)
        await writer.drain()
        writer.transport.abort()
    # A request afterwards still works, and by then every aborted one has been handled.
    status, _, _ = await _exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await asyncio.sleep(0.1)
    assert status.startswith("HTTP/1.1 200")
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not noisy, [r.getMessage() for r in noisy]


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
        b"G(T /health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ids=["header-over-8190", "nul-in-header", "bad-method", "cl-and-te"],
)
async def test_aiohttp_own_400s_are_problems(port: int, raw: bytes) -> None:
    status, headers, doc = await _exchange(port, raw)
    assert status.split()[1] == "400", status
    assert headers["content-type"].startswith("application/problem+json")
    assert doc["status"] == 400 and doc["title"] == "Bad Request"
    assert doc["instance"].startswith("urn:uuid:")
    assert "aiohttp" not in headers.get("server", "")


async def test_connections_over_the_cap_are_closed(port: int) -> None:
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await _closed_within(reader, 0.4) == b""  # closed at once, before the head timeout
    writer.close()
    for _, w in held:
        w.close()


async def _answer(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await asyncio.wait_for(reader.readexactly(length), 5)
    return head


async def test_kept_alive_connection_with_timely_heads_stays_open(port: int) -> None:
    """Requests every 0.2 s for longer than the head timeout (0.5 s): each head is in time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(5):
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await _answer(reader)).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(0.2)
    writer.close()


async def test_half_sent_head_on_a_kept_alive_connection_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await _answer(reader)).startswith(b"HTTP/1.1 200")
    await asyncio.sleep(0.3)  # the next head begins while the first one's timer is still pending
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    assert await _closed_within(reader, 3) == b""
    writer.close()
