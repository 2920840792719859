"""Answers past LARGE_ANSWER go out headers first (vtn/handlers/http_io.py HeadFirst): on the wire
they are the same bytes as aiohttp's own Response sends, for GET and HEAD, and a 3.0.1 list that
large is still the conversion of the 3.1 objects, byte for byte."""

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
from vtn.handlers.http_io import JSON, LARGE_ANSWER, HeadFirst, json_answer
from vtn.oadr301 import outbound

BIG = json.dumps(["x" * 100] * (LARGE_ANSWER // 100)).encode()
SMALL = b'[{"id":"a"}]'


def test_large_answers_only_are_sent_headers_first() -> None:
    assert type(json_answer(BIG)) is HeadFirst
    assert type(json_answer(BIG[: LARGE_ANSWER - 1])) is web.Response
    assert type(json_answer(SMALL, 201)) is web.Response
    answer = json_answer(BIG, 201)
    assert (answer.body, answer.status, answer.content_type) == (BIG, 201, JSON)


@pytest.mark.parametrize("docs", [[], [{}], [{"a": 1}], [{"a": 1}, {"b": "é"}, {"c": [1, 2]}]])
def test_joined_is_the_json_list_of_the_documents(docs: list[dict[str, object]]) -> None:
    texts = [json.dumps(d, separators=(",", ":")) for d in docs]
    assert joined(texts) == encode_doc(docs)
    assert joined(tuple(texts)) == encode_doc(docs)


@pytest.fixture
async def served() -> AsyncIterator[int]:
    """A server answering /head-first with HeadFirst and /plain with aiohttp's Response, both BIG."""

    async def head_first(_: web.Request) -> web.Response:
        return json_answer(BIG)

    async def plain(_: web.Request) -> web.Response:
        return web.Response(body=BIG, content_type=JSON)

    app = web.Application()
    app.router.add_get("/head-first", head_first)
    app.router.add_get("/plain", plain)
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


async def _raw(port: int, method: str, path: str) -> tuple[list[bytes], bytes]:
    """The answer to one request as its header lines (Date left out: it changes) and its body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return [line for line in head.split(b"\r\n") if not line.startswith(b"Date:")], body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_headers_first_sends_what_a_response_sends(served: int, method: str) -> None:
    head, body = await _raw(served, method, "/head-first")
    assert (head, body) == await _raw(served, method, "/plain")
    assert f"Content-Length: {len(BIG)}".encode() in head
    assert body == (BIG if method == "GET" else b"")


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
