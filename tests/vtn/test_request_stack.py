"""The request stack's cheaper parts behave as the plain ones did: request ids, access log records,
log lines written in batches (vtn/middleware.py, vtn/observability/)."""

from __future__ import annotations

import io
import logging

import pytest
from aiohttp.test_utils import make_mocked_request

from vtn.observability.access import AccessLog
from vtn.observability.http import RequestIds
from vtn.observability.logs import BatchedStreamHandler, TextFormatter


def test_request_ids_are_unique_hex_and_a_safe_given_id_is_kept() -> None:
    ids, other = RequestIds(), RequestIds()
    made = [ids.of(make_mocked_request("GET", "/")) for _ in range(1000)]
    made += [other.of(make_mocked_request("GET", "/")) for _ in range(1000)]
    assert len(set(made)) == len(made)
    assert all(len(rid) == 16 and int(rid, 16) >= 0 for rid in made)
    given = make_mocked_request("GET", "/", headers={"X-Request-ID": "lb-7f3a:42"})
    assert ids.of(given) == "lb-7f3a:42"
    unsafe = make_mocked_request("GET", "/", headers={"X-Request-ID": "bad id"})
    assert ids.of(unsafe) != "bad id"


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_access_records_have_what_an_ordinary_record_has() -> None:
    logger = logging.getLogger("vtn.access.test")
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        access = AccessLog(logger)
        access.write("GET", "/events", 200, 0.0123, "ven-1", "r-1")  # made the ordinary way
        access.write("POST", "/reports", 201, 0.5, None, "r-2")  # made from the first
        logger.setLevel(logging.WARNING)
        access.write("GET", "/events", 200, 0.1, None, "r-3")  # below the level: no record
    finally:
        logger.removeHandler(keep)
    first, second = keep.records
    assert first.__dict__.keys() == second.__dict__.keys()
    assert second.getMessage() == "POST /reports 201 500.0ms client=-"
    assert first.getMessage() == "GET /events 200 12.3ms client=ven-1"
    fields = {"method": "POST", "route": "/reports", "status": 201, "duration_ms": 500.0, "client_id": None}
    assert fields.items() <= second.__dict__.items()
    assert second.request_id == "r-2" and second.levelno == logging.INFO
    assert second.created >= first.created and second.relativeCreated >= first.relativeCreated
    line = TextFormatter().format(second)
    assert " INFO vtn.access.test: POST /reports 201 500.0ms client=-" in line


def test_batched_lines_keep_their_order_and_warnings_are_written_at_once() -> None:
    out = io.StringIO()
    handler = BatchedStreamHandler(interval_s=60)
    handler.setStream(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("vtn.batched.test")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("first")
        assert out.getvalue() == "WARNING first\n"
        logger.info("second")
        logger.info("third")
        assert out.getvalue() == "WARNING first\n"  # waiting for the next batch
        logger.error("fourth")
        assert out.getvalue().splitlines() == ["WARNING first", "INFO second", "INFO third", "ERROR fourth"]
        logger.info("fifth")
        handler.flush()  # what the timer, or logging.shutdown at exit, does
        assert out.getvalue().splitlines()[-1] == "INFO fifth"
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_a_closed_stream_never_breaks_whoever_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """As logging's own handlers: a request logging a warning must not fail because stderr is gone."""
    monkeypatch.setattr(logging, "raiseExceptions", False)
    out = io.StringIO()
    handler = BatchedStreamHandler(interval_s=60)
    handler.setStream(out)
    logger = logging.getLogger("vtn.closed.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("before")
        out.close()
        logger.warning("after")  # no exception
        handler.flush()
    finally:
        logger.removeHandler(handler)
