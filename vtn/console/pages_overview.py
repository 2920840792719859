"""Overview: VENs, events active now and next, outbox health, reports per minute (last hour)."""

from __future__ import annotations

import json
from datetime import datetime

from aiohttp import web

from shared.durations import to_us
from shared.enums import OperatorRole
from shared.models import Event
from vtn.console.auth import Session, guarded
from vtn.console.event_form import span
from vtn.console.view import render
from vtn.core.queries import EventFilter, Page
from vtn.core.state import state
from vtn.services import programs as svc

RECENT_EVENTS = 500  # the overview looks at the newest events only
ONLINE_WINDOW_US = 5 * 60_000_000  # a VEN that called within this is online


def now_and_next(events: list[Event], now: datetime) -> tuple[list[Event], list[Event]]:
    active, upcoming = [], []
    for event in events:
        start, end = span(event)
        if start is None or start > now:
            if start is not None:
                upcoming.append(event)
            continue
        if end is None or end > now:
            active.append(event)
    upcoming.sort(key=lambda e: span(e)[0] or now)
    return active, upcoming[:5]


@guarded(OperatorRole.VIEWER)
async def overview(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    now = core.clock()
    async with core.read() as tx:
        queries = tx.console()
        ven_count = await queries.ven_count()
        online = await queries.vens_online(to_us(now) - ONLINE_WINDOW_US)
        outbox = await queries.outbox_health()
        per_minute = await queries.reports_per_minute(to_us(now), 60)
        events = await svc.list_events(tx, EventFilter(active_at=now, page=Page(0, RECENT_EVENTS)))
    active, upcoming = now_and_next(events, now)
    oldest_age = None if outbox.oldest_pending_us is None else (to_us(now) - outbox.oldest_pending_us) / 1e6
    return render(
        request,
        session,
        "overview.html",
        page="overview",
        ven_count=ven_count,
        online=online,
        offline=ven_count - online,
        outbox=outbox,
        oldest_age=oldest_age,
        per_minute=per_minute,
        per_minute_json=json.dumps(per_minute),
        active=active,
        upcoming=upcoming,
        span=span,
    )
