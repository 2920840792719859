"""The VTN's Prometheus metrics: one `VtnMetrics` per application, built by the app factory.

Counters and histograms are kept by prometheus_client. One `vtn serve` process keeps them in memory
(a per-app CollectorRegistry); several processes sharing a port (`--reuse-port`) each write them to
memory-mapped files in one directory (prometheus_client's multiprocess mode, chosen per process by
`enable_multiprocess` before the app is built), and whichever process answers a scrape adds them up.

What the database knows (outbox depth and age, unhealthy subscriptions, VENs seen) is the same for
every process: it is read at scrape time (`DbGauges`), never kept in the files. The connection pool
is per process: each process samples its own into a `livesum` gauge.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: API answers are mostly a few milliseconds; report bursts and slow databases reach seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


def enable_multiprocess(directory: str | Path) -> Path:
    """Switch this process to prometheus_client's multiprocess mode, writing under `directory`.

    Process-wide by prometheus_client's design (the value class is chosen per process): `vtn serve`
    calls it once, before building the app. Files of processes that ended stay, so that counters
    never go backwards while other processes still serve.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    _prune_dead_live_gauges(path)
    os.environ[MULTIPROC_ENV] = str(path)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return path


def _prune_dead_live_gauges(path: Path) -> None:
    """Live gauges of processes that died without cleaning up would stay in the sums forever."""
    for file in path.glob("gauge_live*_*.db"):
        pid = file.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), str(path))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def multiprocess_dir() -> Path | None:
    """The directory of this process's multiprocess mode, None when metrics are in memory."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        return None
    found = os.environ.get(MULTIPROC_ENV)
    return Path(found) if found else None


@dataclass(frozen=True)
class DbSnapshot:
    """Gauges read from the database at scrape time (the same whichever process answers)."""

    outbox_pending: int
    outbox_oldest_age_s: float
    subscriptions_unhealthy: int
    vens_seen_5m: int
    vens_seen_60m: int


class DbGauges:
    """A collector for one scrape: the database gauges of `snapshot`."""

    def __init__(self, snapshot: DbSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        yield GaugeMetricFamily(
            "vtn_outbox_pending", "Notifications waiting to be delivered", value=s.outbox_pending
        )
        yield GaugeMetricFamily(
            "vtn_outbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting to be delivered (0 when none waits)",
            value=s.outbox_oldest_age_s,
        )
        yield GaugeMetricFamily(
            "vtn_subscriptions_unhealthy",
            "Subscriptions whose deliveries keep failing",
            value=s.subscriptions_unhealthy,
        )
        seen = GaugeMetricFamily(
            "vtn_vens_seen", "VEN clients that called the VTN within the window", labels=["window"]
        )
        seen.add_metric(["5m"], s.vens_seen_5m)
        seen.add_metric(["60m"], s.vens_seen_60m)
        yield seen


class _Pending:
    """Request observations of one labelled histogram child not yet handed to prometheus_client:
    a count per bucket (the last one is +Inf) and their sum."""

    __slots__ = ("buckets", "child", "total")

    def __init__(self, child: Histogram) -> None:
        self.child = child
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def flush(self) -> None:
        child = self.child
        for i, n in enumerate(self.buckets):
            if n:
                child._buckets[i].inc(n)
                self.buckets[i] = 0
        if self.total:
            child._sum.inc(self.total)
            self.total = 0.0


class VtnMetrics:
    """The metric objects of one application.

    Request latencies are counted in per-child bucket arrays and handed to prometheus_client when
    the metrics are read (`exposition`), in memory mode: `Histogram.observe` takes a lock and walks
    the buckets in Python for every request, a few µs of each cached poll. In multiprocess mode
    another process may answer the scrape, so each request is observed at once, as before.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Histogram(
            "vtn_http_request_duration_seconds",
            "HTTP requests by route template, method and status, with their latency",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "vtn_token_requests",
            "Token requests at /auth/token: granted, or refused with the reason",
            ["outcome", "reason"],
            registry=r,
        )
        self.tls_refusals = Counter(
            "vtn_tls_refusals",
            "Client certificates and bound tokens refused, by reason",
            ["reason"],
            registry=r,
        )
        self.deliveries = Counter(
            "vtn_deliveries",
            "Notification delivery attempts by sink kind and outcome",
            ["sink", "outcome"],
            registry=r,
        )
        self.reports = Counter("vtn_reports_ingested", "Reports stored, by API version", ["api"], registry=r)
        self.oadr20b_polls = Counter("vtn_oadr20b_polls", "OpenADR 2.0b oadrPoll requests", registry=r)
        self.vens_first_seen = Counter(
            "vtn_vens_first_seen", "VEN clients seen for the first time by this VTN", registry=r
        )
        # Children of `requests` by (route, method, status): all three labels take bounded values.
        self._request_children: dict[tuple[str, str, int], _Pending] = {}
        self._batched = multiprocess_dir() is None
        self.pool = Gauge(
            "vtn_db_pool_connections",
            "Database connections of the VTN processes, by state",
            ["state"],
            multiprocess_mode="livesum",
            registry=r,
        )

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request; the labelled child is looked up once (`labels()` costs as much as `observe`)."""
        key = (route, method, status)
        pending = self._request_children.get(key)
        if pending is None:
            child = self.requests.labels(route, method, str(status))
            pending = self._request_children[key] = _Pending(child)
        if not self._batched:
            pending.child.observe(seconds)
            return
        # Histogram.observe's rule: the first bucket whose upper bound is >= the value.
        pending.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        pending.total += seconds

    def flush(self) -> None:
        """Hand the request observations counted so far to prometheus_client."""
        for pending in self._request_children.values():
            pending.flush()

    def pool_sample(self, checked_out: int, idle: int) -> None:
        self.pool.labels("in_use").set(checked_out)
        self.pool.labels("idle").set(idle)

    def exposition(self, extra: Iterable[DbGauges] = ()) -> bytes:
        """The text format of every process's metrics, then the database gauges."""
        self.flush()
        directory = multiprocess_dir()
        if directory is None:
            out = generate_latest(self.registry)
        else:
            merged = CollectorRegistry()
            MultiProcessCollector(merged, str(directory))  # type: ignore[no-untyped-call]
            out = generate_latest(merged)
        return out + b"".join(generate_latest(collector) for collector in extra)

    @staticmethod
    def process_ended() -> None:
        """This process stops serving: its live gauges leave the sums (counters stay)."""
        directory = multiprocess_dir()
        if directory is not None:
            mark_process_dead(os.getpid(), str(directory))  # type: ignore[no-untyped-call]
