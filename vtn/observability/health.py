"""/health, /ready and /metrics, on the API listener and on the optional plain health listener.

/health answers 200 while the process serves (it touches nothing else, so a slow database does not
make a load balancer kill a live process). /ready answers 200 only when the database answers, its
schema is at the migration this code ships, and the delivery worker runs (where this process runs
one); 503 with the failed checks otherwise. /metrics is the Prometheus text format (metrics.py).

With client certificates required, probes and scrapers without one cannot reach the API listener:
`health_port` opens a second, plain-HTTP listener that serves these three paths and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from vtn.observability.metrics import CONTENT_TYPE, DbGauges, DbSnapshot
from vtn.observability.state import OBSERVE, Observability
from vtn.storage import Store, gauges, migrate

log = logging.getLogger("vtn.health")
PROBE_TIMEOUT_S = 2.0
MAIN_APP = web.AppKey("vtn_main_app", web.Application)
TICKER = web.AppKey("vtn_observability_ticker", asyncio.Task)


def _main(request: web.Request) -> web.Application:
    """The VTN application (the health listener's app points at it)."""
    return request.app.get(MAIN_APP, request.app)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    app = _main(request)
    obs = app[OBSERVE]
    store = obs.store
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await gauges.ping(store)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if checks["database"] == "ok":
        checks["migrations"] = await _migrations(store, obs)
    worker = obs.worker_running
    if worker is not None:
        checks["delivery_worker"] = "ok" if worker() else "not running"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ok else "not ready", "checks": checks}, status=200 if ok else 503
    )


async def _migrations(store: Store, obs: Observability) -> str:
    if obs.schema_head is None:
        obs.schema_head = await asyncio.to_thread(migrate.head_revision)
    async with asyncio.timeout(PROBE_TIMEOUT_S):
        current = await gauges.revision_of(store)
    if current == obs.schema_head:
        return "ok"
    return f"database at {current or 'no migration'}, code at {obs.schema_head} (run `vtn db upgrade`)"


async def metrics(request: web.Request) -> web.Response:
    app = _main(request)
    obs = app[OBSERVE]
    if obs.metrics is None:
        raise web.HTTPNotFound(text="metrics are turned off (metrics = false)")
    store = app[OBSERVE].store
    sample_pool(store, obs)
    try:
        snapshot = await db_snapshot(store)
    except Exception:
        log.warning("metrics: could not read the database gauges", exc_info=True)
        extra: list[DbGauges] = []
    else:
        extra = [DbGauges(snapshot)]
    return web.Response(body=obs.metrics.exposition(extra), headers={"Content-Type": CONTENT_TYPE})


async def db_snapshot(store: Store) -> DbSnapshot:
    async with asyncio.timeout(PROBE_TIMEOUT_S):
        rows = await gauges.read_gauges(store)
    oldest = rows.outbox_oldest_us
    return DbSnapshot(
        outbox_pending=rows.outbox_pending,
        outbox_oldest_age_s=0.0 if oldest is None else max(0.0, (rows.now_us - oldest) / 1e6),
        subscriptions_unhealthy=rows.subscriptions_unhealthy,
        vens_seen_5m=rows.vens_seen_5m,
        vens_seen_60m=rows.vens_seen_60m,
    )


def sample_pool(store: Store, obs: Observability) -> None:
    pool = store.engine.pool
    checked_out = getattr(pool, "checkedout", None)
    checked_in = getattr(pool, "checkedin", None)
    if obs.metrics is not None and callable(checked_out) and callable(checked_in):
        obs.metrics.pool_sample(int(checked_out()), int(checked_in()))


def add_routes(app: web.Application) -> None:
    """The three paths on `app` (the VTN app itself, or the health listener's)."""
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)


def health_app(main: web.Application) -> web.Application:
    """The plain listener's application: /health, /ready and /metrics of `main`, nothing else."""
    app = web.Application()
    app[MAIN_APP] = main
    add_routes(app)
    return app


def install_ticker(app: web.Application, interval_s: float) -> None:
    """Record contacts and sample the pool every `interval_s` while `app` runs (and once at its end)."""

    async def start(_: web.Application) -> None:
        app[TICKER] = asyncio.create_task(_tick(app, interval_s), name="observability")

    async def stop(_: web.Application) -> None:
        app[TICKER].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app[TICKER]
        obs = app[OBSERVE]
        with contextlib.suppress(Exception):
            await obs.contacts.flush()
        if obs.metrics is not None:
            obs.metrics.process_ended()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


async def _tick(app: web.Application, interval_s: float) -> None:
    obs = app[OBSERVE]
    store = obs.store
    while True:
        await asyncio.sleep(interval_s)
        sample_pool(store, obs)
        try:
            await obs.contacts.flush()
        except Exception:  # the store may be briefly away: the contacts wait for the next round
            log.warning("could not record client contacts", exc_info=True)
