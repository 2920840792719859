"""What the observing parts of one application share, built by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

from vtn.observability.contacts import ContactTracker
from vtn.observability.metrics import VtnMetrics
from vtn.storage import Store


class RouteKind(StrEnum):
    OTHER = "other"
    TOKEN = "token"
    REPORTS = "reports"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    template: str
    kind: RouteKind
    api: str  # the OpenADR API version of the route ("" outside the 3.x APIs)


@dataclass
class Observability:
    # The store the probes and gauges read (through vtn.storage.gauges; no SQL here).
    store: Store
    metrics: VtnMetrics | None  # None: metrics turned off (`metrics = false`)
    contacts: ContactTracker
    access_log: bool
    # Is the delivery worker running? None: this process runs none (`delivery_worker = false`).
    worker_running: Callable[[], bool] | None = None
    # The migration this code ships, read once (the readiness check compares the database's to it).
    schema_head: str | None = None


OBSERVE = web.AppKey("vtn_observability", Observability)
