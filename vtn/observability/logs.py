"""Log output of `vtn serve`: plain text or one JSON object per line, with the request id.

The request id lives in a context variable set by the observing middleware, so every line logged
while a request is handled (a 500's traceback too) carries it, in both formats. Log messages never
include secrets or tokens: URLs are logged through `redact_url`, client ids but never credentials.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("vtn_request_id", default=None)
# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """logging's own format, with the date and time formatted once per second, not per line."""
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime(self.default_time_format, self.converter(second)))
        return f"{cached[1]},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            line = super().format(record)
        else:  # the format string above, without logging's general machinery (most lines)
            record.message = record.getMessage()
            record.asctime = self.formatTime(record)
            line = f"{record.asctime} {record.levelname} {record.name}: {record.message}"
        rid = REQUEST_ID.get()
        return line if rid is None or "request_id" in record.__dict__ else f"{line} [request {rid}]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `extra` fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        """ISO 8601 in UTC to the millisecond, the date and time formatted once per second."""
        second = int(created)
        cached = self._second
        if cached[0] != second:
            text = datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:-6]
            cached = self._second = (second, text)
        return f"{cached[1]}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = REQUEST_ID.get()
        if rid is not None:
            doc["request_id"] = rid
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes lines in batches: one write per `interval_s` instead of per line.

    Why: a busy VTN logs a line per request (the access log), and a write system call per line
    costs a few percent of a cached request. A line waits at most `interval_s`; a WARNING or worse
    is written at once, with the lines before it, and the process's exit writes what is left
    (logging.shutdown flushes every handler).
    """

    def __init__(self, interval_s: float = 0.2, max_lines: int = 512) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.max_lines = max_lines
        self._pending: list[str] = []
        self._timer: threading.Timer | None = None

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        # As logging's own handlers: whatever goes wrong (a closed stderr) must not reach the caller.
        try:
            self._pending.append(self.format(record))
            if record.levelno >= logging.WARNING or len(self._pending) >= self.max_lines:
                self._write()
            elif self._timer is None:
                self._timer = threading.Timer(self.interval_s, self.flush)
                self._timer.daemon = True
                self._timer.start()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Write the waiting lines (the timer, logging.shutdown); errors are dropped as in emit."""
        with self.lock or contextlib.nullcontext(), contextlib.suppress(OSError, ValueError):
            self._write()

    def _write(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if self._pending:
            text = self.terminator.join(self._pending) + self.terminator
            self._pending.clear()
            self.stream.write(text)
        super().flush()


def configure(level: str, fmt: LogFormat) -> None:
    """Set up the root logger of `vtn serve` (one handler on stderr, written in batches)."""
    handler = BatchedStreamHandler()
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def redact_url(url: str) -> str:
    """scheme://host[:port]/path of a URL: no user info, query or fragment (they may hold secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else parts.path
