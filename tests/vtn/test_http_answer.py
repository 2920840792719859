"""Answers (vtn/http_answer.py `Answer`) are on the wire what aiohttp's own Response sends: for GET and
HEAD, small and past LARGE_ANSWER (headers and body in two writes), HTTP/1.1 and 1.0, kept alive or
closed, with extra headers; and a 3.0.1 list that large is still the conversion of the 3.1 objects,
byte for byte."""

# ruff: noqa: F811  (the shared 3.0.1 fixtures are imported from support.oadr301 and used as arguments)

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from support.api_data import bl_ven, create, ok_json
from support.harness import Api
from support.oadr301 import Api301, vtn  # noqa: F401

from shared.models import Ven
from shared.wire.oadr3_json import encode_doc, joined
from vtn.handlers.http_io import json_answer
from vtn.http_answer import JSON, LARGE_ANSWER, Answer
from vtn.oadr301 import outbound

BIG = json.dumps(["x" * 100] * (LARGE_ANSWER // 100)).encode()
SMALL = b'[{"id":"a"}]'


def test_json_answer_keeps_body_status_and_type() -> None:
    for body, status in ((BIG, 201), (SMALL, 200)):
        answer = json_answer(body, status)
        assert type(answer) is Answer
        assert (answer.body, answer.status, answer.content_type) == (body, status, JSON)


@pytest.mark.parametrize("docs", [[], [{}], [{"a": 1}], [{"a": 1}, {"b": "é"}, {"c": [1, 2]}]])
def test_joined_is_the_json_list_of_the_documents(docs: list[dict[str, object]]) -> None:
    texts = [json.dumps(d, separators=(",", ":")) for d in docs]
    assert joined(texts) == encode_doc(docs)
    assert joined(tuple(texts)) == encode_doc(docs)


HEADERS = {"Retry-After": "3", "X-Request-Id": "abc", "Server": "test"}


@pytest.fixture
async def served() -> AsyncIterator[int]:
    """A server answering /answer/{size} with Answer and /plain/{size} with aiohttp's Response, the
    same body (BIG or SMALL) and headers; /closed/... asks for the connection to be closed."""

    def parts(request: web.Request) -> tuple[bytes, int]:
        return (BIG if request.match_info["size"] == "big" else SMALL), int(request.query.get("status", 200))

    async def answer(request: web.Request) -> web.StreamResponse:
        body, status = parts(request)
        return Answer(body, status, headers=HEADERS)

    async def plain(request: web.Request) -> web.StreamResponse:
        body, status = parts(request)
        return web.Response(body=body, status=status, content_type=JSON, headers=HEADERS)

    async def closed(request: web.Request) -> web.StreamResponse:
        response = await (answer if request.match_info["kind"] == "answer" else plain)(request)
        response.force_close()
        return response

    app = web.Application()
    app.router.add_get("/answer/{size}", answer)
    app.router.add_get("/plain/{size}", plain)
    app.router.add_get("/closed/{kind}/{size}", closed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


async def _raw(port: int, request: str) -> tuple[list[bytes], bytes]:
    """The answer to one request as its status line, its header lines sorted (Date left out: it
    changes), and its body (as long as Content-Length says; none for HEAD)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request.encode())
    head = (await reader.readuntil(b"\r\n\r\n"))[:-4]
    status, *lines = head.split(b"\r\n")
    length = next(int(line[16:]) for line in lines if line.startswith(b"Content-Length: "))
    body = b"" if request.startswith("HEAD") else await reader.readexactly(length)
    writer.close()
    return [status, *sorted(line for line in lines if not line.startswith(b"Date:"))], body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("size", ["big", "small"])
@pytest.mark.parametrize(
    "version, connection", [("1.1", "close"), ("1.1", "keep-alive"), ("1.0", "keep-alive"), ("1.0", "")]
)
async def test_an_answer_is_sent_as_a_response_is(
    served: int, method: str, size: str, version: str, connection: str
) -> None:
    header = f"Connection: {connection}\r\n" if connection else ""
    ask = f"{method} /{{}}/{size}?status=201 HTTP/{version}\r\nHost: x\r\n{header}\r\n"
    head, body = await _raw(served, ask.format("answer"))
    assert (head, body) == await _raw(served, ask.format("plain"))
    assert head[0] == f"HTTP/{version} 201 Created".encode()
    expected = BIG if size == "big" else SMALL
    assert f"Content-Length: {len(expected)}".encode() in head
    assert b"Retry-After: 3" in head
    assert body == (expected if method == "GET" else b"")


@pytest.mark.parametrize("size", ["big", "small"])
async def test_a_closed_answer_says_so(served: int, size: str) -> None:
    ask = f"GET /closed/{{}}/{size} HTTP/1.1\r\nHost: x\r\n\r\n"
    head, body = await _raw(served, ask.format("answer"))
    assert (head, body) == await _raw(served, ask.format("plain"))
    assert b"Connection: close" in head


async def test_answers_on_one_connection_follow_each_other(served: int) -> None:
    # Pipelined: a small answer after a big one after a HEAD, each whole and in order.
    one = "{} /answer/{} HTTP/1.1\r\nHost: x\r\n\r\n"
    asks = one.format("HEAD", "big") + one.format("GET", "big") + one.format("GET", "small")
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write((asks + "GET /closed/answer/small HTTP/1.1\r\nHost: x\r\n\r\n").encode())
    everything = await reader.read()
    writer.close()
    bodies = []
    while everything:
        head, _, rest = everything.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n"), head[:40]
        length = int(
            next(v for k, _, v in (h.partition(b": ") for h in head.split(b"\r\n")) if k == b"Content-Length")
        )
        length = 0 if not bodies else length  # the first answer is the HEAD's
        bodies.append(rest[:length])
        everything = rest[length:]
    assert bodies == [b"", BIG, SMALL, SMALL]


async def test_a_large_301_list_is_the_conversion_of_the_31_objects(bl: Api, ven_a: Api) -> None:
    # Three vens with ~60 KB of attributes each: a 3.0.1 list past LARGE_ANSWER.
    for i in range(3):
        attributes = [{"type": "NOTE", "values": [f"{i}" * 60_000]}]
        await create(bl, "/vens", bl_ven(f"big-{i}", ven_a.client_id, attributes=attributes))
    vens = [Ven.model_validate(v) for v in await ok_json(await bl.get("/vens"))]
    expected = encode_doc([outbound.ven(ven, []) for ven in vens])
    assert len(expected) >= LARGE_ANSWER
    for _ in range(2):  # converted, then remembered
        listed = await Api301(bl).get("/vens")
        assert listed.status == 200
        assert listed.headers["Content-Length"] == str(len(expected))
        assert await listed.read() == expected
