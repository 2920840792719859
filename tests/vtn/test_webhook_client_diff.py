"""The raw webhook client against the library path (aiohttp's ClientSession, `library=True`).

The same notifications go to the same loopback server through both: each must get the same status,
and every header the raw client writes must reach the server with the same value from both (aiohttp
adds a few of its own, e.g. Accept-Encoding, which receivers ignore).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from vtn.notify.webhooks import WebhookClient
from vtn.storage.outbox import Claimed

Seen = tuple[str, str, dict[str, str], bytes]  # method, path with query, headers, body


def canned(status: int, text: str | None = None, **headers: str) -> web.RequestHandler:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=text, headers=headers)

    return handler


async def _chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=202)
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"accepted")
    await response.write_eof()
    return response


RESPONSES = {
    "/ok": canned(200, "thanks"),
    "/none": canned(204),
    "/busy": canned(503, "busy"),
    "/gone": canned(410),
    "/moved": canned(302, Location="/ok"),
    "/close": canned(200, "bye", Connection="close"),
    "/chunked": _chunked,
}


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, list[Seen]]]:
    seen: list[Seen] = []

    @web.middleware
    async def record(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
        seen.append((request.method, request.path_qs, dict(request.headers), await request.read()))
        return await handler(request)

    app = web.Application(middlewares=[record])
    for path, handler in RESPONSES.items():
        app.router.add_post(path, handler)
    async with TestServer(app, host="127.0.0.1") as running:
        yield running, seen


def items(base: str) -> list[Claimed]:
    creds = base.replace("http://", "http://us%40er:pa%3Ass@")
    out = []
    for i, path in enumerate(RESPONSES):
        out.append(
            Claimed(
                i, f"nid-{i}", f"sub:s{i}", f"s{i}", f"{base}{path}?n={i}", "tok", "sig==", '{"n":1}', 0, 0
            )
        )
    out += [
        Claimed(20, "nid-20", "sub:s", None, f"{base}/ok", None, None, '{"é":"ü"}', 0, 0),
        Claimed(21, "nid-21", "sub:s", "s", f"{creds}/ok", None, "sig", "{}", 0, 0),  # Basic auth
        Claimed(22, "nid-22", "sub:s", "s", f"{creds}/ok", "tok", None, "{}", 0, 0),  # the token wins
        Claimed(23, "nid-23", "sub:s", "s", f"{base}/ok/deeper?a=1&b=%20", "t", None, "x" * 70_000, 0, 0),
    ]
    return out


async def test_raw_client_and_aiohttp_send_the_same_and_read_the_same(
    server: tuple[TestServer, list[Seen]],
) -> None:
    running, seen = server
    base = str(running.make_url("")).rstrip("/")
    raw, library = WebhookClient(4, 5.0), WebhookClient(4, 5.0, library=True)
    try:
        for item in items(base) * 2:  # twice: the second round on kept-alive connections
            raw_status = await raw.post(item)
            raw_seen = seen[-1]
            assert await library.post(item) == raw_status, item.target
            lib_seen = seen[-1]
            assert raw_seen[:2] == lib_seen[:2] and raw_seen[3] == lib_seen[3], item.target
            sent = {k: v for k, v in raw_seen[2].items() if k not in ("Connection",)}
            assert {k: lib_seen[2].get(k) for k in sent} == sent, item.target
    finally:
        await raw.close()
        await library.close()
    basic = base64.b64encode(b"us@er:pa:ss").decode()
    assert [s[2].get("Authorization") for s in seen if s[1] == "/ok" and s[3] == b"{}"] == [
        f"Basic {basic}",
        f"Basic {basic}",
        "Bearer tok",
        "Bearer tok",
    ] * 2


async def test_header_injection_is_refused_on_both_paths() -> None:
    for client in (WebhookClient(1, 1.0), WebhookClient(1, 1.0, library=True)):
        bad = Claimed(1, "n\r\nX-Evil: 1", "sub:s", None, "http://127.0.0.1:9/h", None, None, "{}", 0, 0)
        with pytest.raises(ValueError, match="line break"):
            await client.post(bad)
        await client.close()
