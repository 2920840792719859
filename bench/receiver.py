"""Webhook receiver for the fan-out scenario: counts notification POSTs as cheaply as possible.

A bare asyncio protocol (HTTP/1.1 keep-alive, no framework) so that the receiver costs little CPU
next to the VTN on a small machine. `GET /stats` answers {"count", "distinct", "first", "last",
"bad"}: POSTs received, distinct callback paths, wall-clock time of the first and last POST, and
POSTs missing the bearer token or signature header; with `?full=1` also every arrival time.
`GET /...?echo=X` answers X (the 3.1 challenge).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import parse_qs, urlsplit


class Stats:
    def __init__(self) -> None:
        self.count = 0
        self.bad = 0
        self.paths: set[str] = set()
        self.arrivals: list[float] = []
        self.first: float | None = None
        self.last: float | None = None

    def doc(self, full: bool = False) -> bytes:
        out: dict[str, object] = {
            "count": self.count,
            "distinct": len(self.paths),
            "first": self.first,
            "last": self.last,
            "bad": self.bad,
        }
        if full:
            out["arrivals"] = self.arrivals
        return json.dumps(out).encode()


STATS = Stats()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def _answer(body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Http(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out: list[bytes] = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < end + 4 + length:
                break
            self.buf = self.buf[end + 4 + length :]
            method, target = head[0].split(" ")[:2]
            out.append(self.handle(method, target, headers))
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    @staticmethod
    def handle(method: str, target: str, headers: dict[str, str]) -> bytes:
        if method == "POST":
            now = time.time()
            STATS.count += 1
            STATS.paths.add(target)
            STATS.first = STATS.first or now
            STATS.last = now
            STATS.arrivals.append(now)
            if (
                not headers.get("authorization", "").startswith("Bearer ")
                or "x-payload-signature" not in headers
            ):
                STATS.bad += 1
            return OK
        parts = urlsplit(target)
        if parts.path == "/stats":
            return _answer(STATS.doc(full="full=1" in parts.query))
        if parts.path == "/reset":
            STATS.__init__()  # type: ignore[misc]
            return _answer(STATS.doc())
        echo = parse_qs(parts.query).get("echo")
        return _answer(echo[0].encode() if echo else b"", "text/plain")


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
