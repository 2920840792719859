"""create_app: the VTN as an aiohttp application, built from a config and its collaborators.

The route table below is the one place that says which operations exist and which scope each needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import web

from shared.enums import Scope
from shared.oadr20b import Oadr20bSchema
from shared.validation import SchemaRegistry
from vtn import apidocs
from vtn.audit import retention as audit_retention
from vtn.auth.login import LOGINS, LoginGuard
from vtn.auth.revocation import CLIENTS, ClientDirectory
from vtn.auth.tokens import TokenService
from vtn.config import VtnConfig, callback_policy, delivery_policy
from vtn.console.app import add_routes as add_console_routes
from vtn.core.core import Core
from vtn.core.state import STATE, Handler, VtnState
from vtn.handlers import audit as audit_api
from vtn.handlers import auth, events, meta, notifiers, programs, reports, resources, subscriptions, vens
from vtn.handlers.certificates import get_request as get_cert_request
from vtn.handlers.certificates import submit_request as submit_cert_request
from vtn.intake.pool import IntakePool
from vtn.limits.middleware import LIMITS, RequestLimits
from vtn.limits.query import QUERY_RULES, query_rules
from vtn.limits.quotas import OBJECT_QUOTAS, QUOTAS, ObjectQuotas, ReportQuotas
from vtn.limits.rate import RateLimiter
from vtn.middleware import REQUEST_STACK, ROUTE_SCOPES, RequestStack
from vtn.notify.mqtt import mqtt_binding
from vtn.notify.worker import DeliveryWorker
from vtn.oadr20b.routes import SERVICE as OADR20B_SERVICE
from vtn.oadr20b.routes import add_routes as add_oadr20b_routes
from vtn.oadr301.routes import add_routes as add_301_routes
from vtn.oadr301.routes import base_path as oadr301_base
from vtn.observability import wiring
from vtn.observability.health import install_ticker
from vtn.observability.state import OBSERVE
from vtn.programs.routes import add_routes as add_program_routes
from vtn.programs.scheduler import ProgramScheduler
from vtn.sandbox import routes as sandbox
from vtn.services.notifier import Notifier
from vtn.services.read_cache import ReadCache
from vtn.storage import Store, versions
from vtn.storage.logins import LockoutPolicy

S = Scope
READ_TARGETS = frozenset({S.READ_ALL, S.READ_TARGETS})
READ_VEN_OBJECTS = frozenset({S.READ_ALL, S.READ_VEN_OBJECTS})
ANY_READ = frozenset({S.READ_ALL, S.READ_TARGETS, S.READ_VEN_OBJECTS})
READ_BL = frozenset({S.READ_ALL, S.READ_BL})
ANY_CLIENT = frozenset(Scope)
PUBLIC = None
WORKER = web.AppKey("vtn_delivery_worker", DeliveryWorker)
PROGRAMS = web.AppKey("vtn_program_scheduler", ProgramScheduler)
log = logging.getLogger("vtn")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    scopes: frozenset[Scope] | None


def _crud(
    collection: str, id_name: str, module: object, noun: str, read: frozenset[Scope], write: Scope
) -> list[Route]:
    h = {name: getattr(module, f"{name}_{noun}") for name in ("get", "create", "update", "delete")}
    plural = f"{noun}s"
    w = frozenset({write})
    return [
        Route("GET", f"/{collection}", getattr(module, f"list_{plural}"), read),
        Route("POST", f"/{collection}", h["create"], w),
        Route("GET", f"/{collection}/{{{id_name}}}", h["get"], read),
        Route("PUT", f"/{collection}/{{{id_name}}}", h["update"], w),
        Route("DELETE", f"/{collection}/{{{id_name}}}", h["delete"], w),
    ]


ROUTES: list[Route] = [
    *_crud("programs", "programID", programs, "program", READ_TARGETS, S.WRITE_PROGRAMS),
    *_crud("events", "eventID", events, "event", READ_TARGETS, S.WRITE_EVENTS),
    *_crud("reports", "reportID", reports, "report", READ_VEN_OBJECTS, S.WRITE_REPORTS),
    *_crud(
        "subscriptions",
        "subscriptionID",
        subscriptions,
        "subscription",
        READ_VEN_OBJECTS,
        S.WRITE_SUBSCRIPTIONS,
    ),
    *_crud("vens", "venID", vens, "ven", READ_VEN_OBJECTS, S.WRITE_VENS),
    *_crud("resources", "resourceID", resources, "resource", READ_VEN_OBJECTS, S.WRITE_VENS),
    Route(
        "GET", "/subscriptions/{subscriptionID}/deliveries", subscriptions.list_deliveries, READ_VEN_OBJECTS
    ),
    Route("GET", "/auth/server", auth.auth_server, PUBLIC),
    Route("POST", "/auth/token", auth.token, PUBLIC),
    # The spec says read_all, which 3.1 VENs do not hold; any authenticated client may discover notifiers.
    Route("GET", "/notifiers", notifiers.notifiers, ANY_READ),
    *[
        Route("GET", path, handler, READ_BL if bl_only else READ_VEN_OBJECTS)
        for path, handler, bl_only in notifiers.TOPIC_ROUTES
    ],
    Route("GET", "/openapi.json", meta.openapi, PUBLIC),
    # Our extension: the audit log, for BL (docs/security.md).
    Route("GET", "/audit", audit_api.list_audit, READ_BL),
    # Our extension: certificate onboarding (docs/onboarding.md); 404 unless ca_dir is configured.
    Route("POST", "/certificates/requests", submit_cert_request, ANY_CLIENT),
    Route("GET", "/certificates/requests/{requestID}", get_cert_request, ANY_CLIENT),
    # Our extension: the partner sandbox (docs/sandbox.md); the handlers refuse non-sandbox clients.
    Route("POST", "/sandbox/events", sandbox.create_event, ANY_CLIENT),
    Route("POST", "/sandbox/subscriptions/{subscriptionID}/test", sandbox.test_notification, ANY_CLIENT),
]


def create_app(
    config: VtnConfig,
    store: Store,
    registry: SchemaRegistry,
    tokens: TokenService,
    notifier: Notifier,
    intake: IntakePool | None = None,
    *,
    oadr20b_schema: Oadr20bSchema | None = None,
) -> web.Application:
    """Build the application around its collaborators; the caller owns the store's lifetime.

    The compiled schemas (`registry`, `oadr20b_schema`) are read-only once built, so a process that
    builds many apps (the test suite) may share one of each; by default each app compiles its own.
    """
    app = web.Application(client_max_size=config.max_body_bytes)
    # The request stack (vtn/middleware.py): request id, limits, certificate guard, problems,
    # metrics and access log in `front`, which sees every answer, and token checks.
    stack = app[REQUEST_STACK] = RequestStack(app)
    app.middlewares.append(stack.front)
    cache = ReadCache(
        answer_ttl_s=config.read_cache_seconds,
        stable_ttl_s=max(config.read_cache_max_seconds, config.read_cache_seconds)
        if config.read_cache_seconds > 0
        else 0.0,
        grant_ttl_s=config.grant_cache_seconds,
    )
    app[STATE] = VtnState(
        config=config,
        core=Core(store, notifier, cache),
        registry=registry,
        tokens=tokens,
        callbacks=callback_policy(config),
        intake=intake,
    )
    quotas = app[QUOTAS] = ReportQuotas(config.ven_max_reports, config.ven_max_report_bytes)
    app[OBJECT_QUOTAS] = ObjectQuotas(
        config.ven_max_vens, config.ven_max_resources, config.ven_max_subscriptions
    )

    async def stop_quotas(_: web.Application) -> None:
        await quotas.close()

    app.on_cleanup.append(stop_quotas)
    app[LOGINS] = LoginGuard(
        store,
        LockoutPolicy(config.lockout_after_failures, config.lockout_base_seconds, config.lockout_max_seconds),
        RateLimiter(config.token_rate_per_address, config.token_burst_per_address),
        store.clock,
    )
    scopes: dict[object, frozenset[Scope]] = {}
    base = config.base_path.rstrip("/")
    for route in ROUTES:
        added = app.router.add_route(route.method, base + route.path, route.handler)
        if route.scopes is not None:
            scopes[added] = route.scopes
    app[ROUTE_SCOPES] = scopes
    # The OpenADR 3.0.1 API and the 2.0b XML profile, over the same store.
    add_301_routes(app)
    add_oadr20b_routes(app, schema=oadr20b_schema)
    # Swagger UI for both API versions (public, like /openapi.json).
    apidocs.add_routes(app, base, "3.1.0", registry)
    apidocs.add_routes(app, oadr301_base(app), "3.0.1", registry)
    # /health, /ready, /metrics (public, like the API docs) and the metric hooks.
    wiring.attach(app, wiring.observability(config, store), app.get(OADR20B_SERVICE))
    # Our extension: grid areas and event verification (program automation, docs/programs.md).
    add_program_routes(app)
    # Our extension: the partner sandbox (docs/sandbox.md).
    sandbox.install(app)
    # The operator console (people with passwords, not OAuth clients) at /console/.
    add_console_routes(app)
    # Every authenticated route of the JSON APIs (3.1.0 and 3.0.1) takes JSON bodies only.
    json_routes: frozenset[object] = frozenset(app[ROUTE_SCOPES].keys())
    app[LIMITS] = RequestLimits.from_config(config, json_routes)
    app[QUERY_RULES] = query_rules(app, registry, base)
    return app


async def build_app(
    config: VtnConfig,
    store: Store,
    registry: SchemaRegistry | None = None,
    *,
    oadr20b_schema: Oadr20bSchema | None = None,
) -> web.Application:
    """create_app with everything made from the config: tokens, notifier and its delivery worker."""
    directory = ClientDirectory()
    async with store.transaction() as tx:
        key = await tx.clients.signing_key()
        await directory.stamps_seen(tx, await tx.stamps.read((versions.CLIENTS,)))
    tokens = TokenService(
        key, ttl_seconds=config.token_ttl_seconds, clock=store.clock, external=config.external_issuer
    )
    tokens.client_exists = directory.exists
    mqtt = mqtt_binding(config)
    publisher = mqtt[1] if mqtt else None
    worker = DeliveryWorker(store, delivery_policy(config), clock=store.clock, publisher=publisher)
    notifier = Notifier(store.clock, wake=worker.wake)
    if mqtt:
        # Enqueue MQTT rows even on API-only replicas: whichever process runs a worker publishes them.
        notifier.extra_sinks.append(mqtt[0])
    registry = registry or SchemaRegistry()
    intake = None
    if config.intake_workers:
        intake = IntakePool(config.intake_workers, registry, store.new_id, store.clock)
    app = create_app(config, store, registry, tokens, notifier, intake, oadr20b_schema=oadr20b_schema)
    app[CLIENTS] = directory
    if intake is not None:
        pool = intake

        async def start_intake(_: web.Application) -> None:
            await pool.start()

        async def stop_intake(_: web.Application) -> None:
            await pool.close()

        app.on_startup.append(start_intake)
        app.on_cleanup.append(stop_intake)
    jobs = (*config.programs_prices, *config.programs_capacity)
    if jobs:
        programs = ProgramScheduler(
            app[STATE].core,
            jobs,
            lease_s=config.programs_lease_seconds,
            check_s=config.programs_check_seconds,
        )

        async def start_programs(_: web.Application) -> None:
            await programs.start()

        async def stop_programs(_: web.Application) -> None:
            await programs.stop()

        app[PROGRAMS] = programs
        app.on_startup.append(start_programs)
        app.on_cleanup.append(stop_programs)
    app.on_startup.append(_start_cache_poller)
    app.on_cleanup.append(_stop_cache_poller)
    install_ticker(app, config.contacts_flush_seconds)
    app.on_startup.append(audit_retention.start)
    app.on_cleanup.append(audit_retention.stop)
    if config.delivery_worker:
        app[WORKER] = worker
        wiring.attach_worker(app[OBSERVE], worker)

        async def start(_: web.Application) -> None:
            await worker.start()

        async def stop(_: web.Application) -> None:
            await worker.stop()
            if publisher is not None:
                await publisher.close()

        app.on_startup.append(start)
        app.on_cleanup.append(stop)
    return app


CACHE_POLLER = web.AppKey("vtn_cache_poller", asyncio.Task)


async def _start_cache_poller(app: web.Application) -> None:
    app[CACHE_POLLER] = asyncio.create_task(_poll_change_stamps(app), name="cache-stamps")


async def _stop_cache_poller(app: web.Application) -> None:
    app[CACHE_POLLER].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app[CACHE_POLLER]
    await app[STATE].core.visibility.close()


async def _poll_change_stamps(app: web.Application) -> None:
    """Other VTN processes' writes invalidate this one's read cache within `cache_poll_seconds`."""
    st = app[STATE]
    while True:
        try:
            directory = app.get(CLIENTS)
            stamps = await st.core.poll_stamps((versions.CLIENTS,) if directory is not None else ())
            # A second read only when the clients moved: the reload reads its stamp with the ids.
            if directory is not None and directory.moved(stamps):
                async with st.core.read() as tx:
                    await directory.stamps_seen(tx, await tx.stamps.read((versions.CLIENTS,)))
        except asyncio.CancelledError:
            raise
        except Exception:  # the store may be briefly away; the TTLs still bound staleness
            log.warning("could not read the cache change stamps", exc_info=True)
        await asyncio.sleep(st.config.cache_poll_seconds)
