"""`Answer`: a complete HTTP answer (status, headers, a body of bytes) as the VTN sends it.

Every answer of the JSON APIs (3.1, 3.0.1, problems) and of 2.0b is a body already encoded, of a
known length, never streamed or compressed. aiohttp's `web.Response` is built for the general case:
it parses its content type, keeps the body aside, works out length, chunking and compression in
`_prepare_headers`, buffers the serialised headers in the writer and joins them with the body when
the body comes. For the VTN's answers none of that decides anything, and it costs: bare aiohttp
answering a prebuilt ~20 KB JSON body spent 41-43 µs of CPU per request with `web.Response` and
33-34 µs with this class (wrk, 32 connections; bench/findings.md, "Answers in one write",
2026-12-06), where a cached poll costs the VTN ~70 µs in all.

What stays aiohttp's: the status line and header serialisation (`_serialize_headers`, which refuses
CR/LF in names and values), the writer (its byte counts and flow control), the keep-alive decision
(`Connection: close` when the request or the response asks for it), the Date header and the
`on_response_prepare` signals. A HEAD request gets the headers and no body. Headers set before
`prepare` (the request id, `Server`, `Retry-After`, ...) go out as with any response; unlike
aiohttp, no `Server: Python/... aiohttp/...` is added when none is set (the VTN's request stack
sets its own, vtn/middleware.py).

Past LARGE_ANSWER the headers and the body go out in two writes instead of one: joining them copies
the body once more, which costs more than the second write for bodies that large (on Python before
3.12.9 aiohttp joins them too; bench/findings.md, "Large answers", 2026-12-06).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import HttpVersion10, HttpVersion11
from aiohttp.http_writer import _serialize_headers

JSON = "application/json"
LARGE_ANSWER = 128 * 1024


class Answer(web.StreamResponse):
    """`body` (bytes, already encoded) answered with `status` as `content_type`."""

    def __init__(
        self,
        body: bytes,
        status: int = 200,
        content_type: str = JSON,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status=status, headers=headers)
        self._answer = body
        self._head = b""
        fields = self._headers
        fields[hdrs.CONTENT_TYPE] = content_type
        fields[hdrs.CONTENT_LENGTH] = str(len(body))

    @property
    def body(self) -> bytes:
        """The body as sent (what `web.Response.body` gives callers and tests)."""
        return self._answer

    @property
    def text(self) -> str:
        return self._answer.decode()

    async def _start(self, request: web.BaseRequest) -> AbstractStreamWriter:
        self._req = request
        writer = self._payload_writer = request._payload_writer
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        version = request.version
        fields = self._headers
        if hdrs.DATE not in fields:
            fields[hdrs.DATE] = rfc822_formatted_time()
        if hdrs.CONNECTION not in fields:
            if keep_alive:
                if version == HttpVersion10:
                    fields[hdrs.CONNECTION] = "keep-alive"
            elif version == HttpVersion11:
                fields[hdrs.CONNECTION] = "close"
        await request._prepare_hook(self)
        status_line = f"HTTP/{version.major}.{version.minor} {self._status} {self._reason}"
        self._head = _serialize_headers(status_line, fields)
        return writer

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("an Answer is sent whole: its body is given when it is made")

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof_sent:
            return
        writer = self._payload_writer
        request = self._req
        assert writer is not None and request is not None, "prepare() comes first"
        body = self._answer
        if request.method == hdrs.METH_HEAD or not body:
            await writer.write_eof(self._head)
        elif len(body) >= LARGE_ANSWER:
            await writer.write(self._head)
            await writer.write_eof(body)
        else:
            await writer.write_eof(self._head + body)
        self._eof_sent = True
        self._req = None
        self._body_length = writer.output_size
        self._payload_writer = None
