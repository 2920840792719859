"""How the app factory puts the observing parts in: one call per collaborator, nothing global."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Role
from vtn.config import VtnConfig
from vtn.notify.worker import DeliveryWorker
from vtn.oadr20b.service import Oadr20bService
from vtn.observability import health
from vtn.observability.contacts import ContactTracker
from vtn.observability.metrics import VtnMetrics
from vtn.observability.state import OBSERVE, Observability
from vtn.storage import Store
from vtn.tls_runtime import TLS_REFUSALS

POLL = "oadrPoll"
UPDATE_REPORT = "oadrUpdateReport"


def observability(config: VtnConfig, store: Store) -> Observability:
    metrics = VtnMetrics() if config.metrics else None
    first_seen = metrics.vens_first_seen.inc if metrics is not None else None
    return Observability(
        store=store, metrics=metrics, contacts=ContactTracker(store, first_seen), access_log=config.access_log
    )


def attach(app: web.Application, obs: Observability, oadr20b: Oadr20bService | None) -> None:
    """Mount /health, /ready, /metrics and route the TLS and 2.0b hooks to `obs` (in create_app)."""
    app[OBSERVE] = obs
    health.add_routes(app)
    m = obs.metrics
    if m is not None:
        refusals = m.tls_refusals

        def count_refusal(label: str) -> None:
            refusals.labels(label).inc()

        app[TLS_REFUSALS] = count_refusal
    if oadr20b is not None:

        def admitted(tag: str, client_id: str | None) -> None:
            if client_id is not None:
                obs.contacts.note(client_id, Role.VEN)
            if m is not None:
                if tag == POLL:
                    m.oadr20b_polls.inc()
                elif tag == UPDATE_REPORT:
                    m.reports.labels("2.0b").inc()

        oadr20b.on_admitted = admitted


def attach_worker(obs: Observability, worker: DeliveryWorker) -> None:
    """The delivery worker of this process: counted, and part of readiness."""
    obs.worker_running = lambda: worker.running
    m = obs.metrics
    if m is not None:
        deliveries = m.deliveries

        def count(kind: str, outcome: str, n: int) -> None:
            deliveries.labels(kind, outcome).inc(n)

        worker.on_outcomes = count
