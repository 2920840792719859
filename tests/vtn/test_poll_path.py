"""The cached poll's cheaper parts behave as the plain ones did: request latencies counted in bucket
arrays (vtn/observability/metrics.py), query readings kept per raw path (vtn/core/state.py
QueryMemo), query checks kept per method and raw path (vtn/middleware.py)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from support.harness import Api

from shared.errors import BadRequest
from vtn.core.state import QueryMemo
from vtn.observability.metrics import LATENCY_BUCKETS, VtnMetrics

# On, between and beyond the bucket bounds, zero included.
SECONDS = [0.0, 0.0005, 0.001, 0.0010001, 0.0025, 0.003, 0.05, 0.7, 10.0, 11.0, 99.0]


def _samples(text: bytes, name: str) -> list[str]:
    """The histogram's lines but its `_created` timestamps (they differ between two histograms)."""
    lines = text.decode().splitlines()
    return [line for line in lines if line.startswith(name) and not line.startswith(f"{name}created")]


def test_batched_request_latencies_read_as_observed_ones() -> None:
    metrics = VtnMetrics()
    plain = Histogram(
        "vtn_http_request_duration_seconds",
        "plain",
        ["route", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=(registry := CollectorRegistry()),
    )
    for s in SECONDS:
        metrics.request_done("/events", "GET", 200, s)
        plain.labels("/events", "GET", "200").observe(s)
    metrics.request_done("/events", "GET", 404, 0.002)
    plain.labels("/events", "GET", "404").observe(0.002)
    name = "vtn_http_request_duration_seconds_"
    ours = metrics.exposition()
    assert _samples(ours, name) == _samples(generate_latest(registry), name)
    assert _samples(metrics.exposition(), name) == _samples(ours, name)  # flushed once, not twice
    metrics.request_done("/events", "GET", 200, 0.3)
    assert 'vtn_http_request_duration_seconds_count{method="GET",route="/events",status="200"} 12.0' in (
        metrics.exposition().decode()
    )


def test_query_memo_keeps_readings_per_reader_and_raw_path_never_refusals() -> None:
    memo = QueryMemo(max_entries=2)
    calls: list[str] = []

    def skip(request: web.Request) -> str:
        value = make_query(request)
        calls.append(value)
        if value == "bad":
            raise BadRequest("bad skip")
        return value

    def make_query(request: web.Request) -> str:
        return request.query.get("skip", "")

    def other(request: web.Request) -> int:
        return len(request.raw_path)

    one = make_mocked_request("GET", "/events?skip=1")
    assert memo.read(one, skip) == "1"
    assert memo.read(make_mocked_request("GET", "/events?skip=1"), skip) == "1"
    assert calls == ["1"]
    assert memo.read(make_mocked_request("GET", "/events?skip=1"), other) == len("/events?skip=1")
    for _ in range(2):
        with pytest.raises(BadRequest):
            memo.read(make_mocked_request("GET", "/events?skip=bad"), skip)
    assert calls == ["1", "bad", "bad"]  # a refusal is read again each time
    assert memo.read(make_mocked_request("GET", "/events?skip=2"), skip) == "2"
    assert memo.read(make_mocked_request("GET", "/events?skip=3"), skip) == "3"  # full: cleared
    assert memo.read(make_mocked_request("GET", "/events?skip=1"), skip) == "1"
    assert calls == ["1", "bad", "bad", "2", "3", "1"]


async def test_a_refused_query_stays_refused_and_a_kept_one_answers_as_before(bl: Api, ven_a: Api) -> None:
    for _ in range(3):  # refusals are never kept: each is checked and refused again
        bad = await ven_a.get("/events?limit=x")
        assert bad.status == 400
        bad = await ven_a.get("/events?targets=a%00b")
        assert bad.status == 400
    first = await ven_a.get("/events?limit=5&skip=0")
    again = await ven_a.get("/events?limit=5&skip=0")
    assert first.status == again.status == 200
    assert await first.read() == await again.read()
    # The same URL by another caller reads the same query, but its own permission.
    as_bl = await bl.get("/events?limit=5&skip=0")
    assert as_bl.status == 200
