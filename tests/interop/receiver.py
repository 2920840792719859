"""A tiny webhook receiver for the interop drivers (stdlib only, in a thread of the pytest process).

- `GET <any path>?echo=X` answers `X` (the 3.1 echo challenge); other GETs answer `ok`.
- `POST <any path>` records the request and answers 200.
- `GET /received` returns every recorded POST as JSON: [{path, authorization, body}], so a driver in
  another process can wait for its notification.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
        return

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        if parts.path == "/received":
            with self.server.lock:
                doc = json.dumps(self.server.received).encode()
            self._answer(200, doc, "application/json")
            return
        echo = parse_qs(parts.query).get("echo")
        self._answer(200, (echo[0] if echo else "ok").encode())

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        with self.server.lock:
            self.server.received.append(
                {"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}
            )
        self._answer(200, b"ok")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []


class Receiver:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def received(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return list(self._server.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
