"""Programs and events: list and timeline; create, edit, cancel through the core; an event's reports chart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from shared.durations import parse_duration
from shared.enums import Operation, OperatorRole
from shared.errors import NotFound, OadrError
from shared.models import Event, Report
from shared.models.common import EventId
from vtn.console import audit
from vtn.console.auth import BASE, Session, guarded
from vtn.console.event_form import SIGNALS, EventForm, curve, span
from vtn.console.view import render
from vtn.core.queries import EventFilter, Page, Permission, ProgramFilter, ReportFilter, Tx
from vtn.core.state import state
from vtn.services import programs as svc
from vtn.services import reports as report_svc

LISTED = 200
TIMELINE_HOURS = 48


def _timeline(events: list[Event], now: datetime) -> list[dict[str, Any]]:
    """Bars over the next TIMELINE_HOURS (from an hour ago), in percent of the width."""
    begin, width = now - timedelta(hours=1), timedelta(hours=TIMELINE_HOURS)
    bars = []
    for event in events:
        start, end = span(event)
        if start is None:
            continue
        end = end or begin + width
        if end < begin or start > begin + width:
            continue
        left = max(0.0, (start - begin) / width)
        right = min(1.0, (end - begin) / width)
        bars.append(
            {"event": event, "left": round(left * 100, 2), "width": round(max(0.5, (right - left) * 100), 2)}
        )
    return bars


@guarded(OperatorRole.VIEWER)
async def events(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    now = core.clock()
    async with core.read() as tx:
        programs = await svc.list_programs(tx, ProgramFilter(page=Page(0, LISTED)))
        found = await svc.list_events(tx, EventFilter(page=Page(0, LISTED)))
    names = {p.id: p.program_name for p in programs}
    return render(
        request,
        session,
        "events.html",
        page="events",
        programs=programs,
        events=found,
        names=names,
        span=span,
        bars=_timeline(found, now),
        hours=TIMELINE_HOURS,
        now=now,
    )


async def _form_page(
    request: web.Request, session: Session, form: EventForm, event: Event | None, status: int = 200
) -> web.Response:
    core = state(request).core
    async with core.read() as tx:
        programs = await svc.list_programs(tx, ProgramFilter(page=Page(0, LISTED)))
    return render(
        request,
        session,
        "event_form.html",
        status=status,
        page="events",
        form=form,
        event=event,
        programs=programs,
        signals=SIGNALS,
    )


async def _permission(request: web.Request, session: Session) -> Permission:
    return await state(request).core.permission(session.principal)


async def _event(tx: Tx, permission: Permission, event_id: str) -> Event:
    try:
        return await svc.get_event(tx, permission, event_id)
    except NotFound:
        raise web.HTTPNotFound(text=f"no event {event_id}") from None


@guarded(OperatorRole.OPERATOR)
async def new_event(request: web.Request, session: Session) -> web.StreamResponse:
    return await _form_page(request, session, EventForm(), None)


@guarded(OperatorRole.OPERATOR)
async def edit_event(request: web.Request, session: Session) -> web.StreamResponse:
    permission = await _permission(request, session)
    async with state(request).core.read() as tx:
        event = await _event(tx, permission, request.match_info["event_id"])
    return await _form_page(request, session, EventForm.of_event(event), event)


@guarded(OperatorRole.OPERATOR)
async def save_event(request: web.Request, session: Session) -> web.StreamResponse:
    """POST of the form: create (no event_id in the path) or replace, through the core's write path."""
    st = state(request)
    event_id = request.match_info.get("event_id")
    form = EventForm.of(await request.post())
    req = form.request(st.registry)
    existing: Event | None = None
    if event_id is not None:
        permission = await _permission(request, session)
        async with st.core.read() as tx:
            existing = await _event(tx, permission, event_id)
    if req is None:
        return await _form_page(request, session, form, existing, 422)
    valid = req

    async def create(tx: Tx) -> Event:
        made = await svc.create_event(tx, valid)
        await audit.record(tx, session, "event.create", made.id)
        return made

    async def replace(tx: Tx) -> Event:
        assert event_id is not None
        made = await svc.replace_event(tx, event_id, valid)
        await audit.record(tx, session, "event.update", made.id)
        return made

    try:
        if event_id is None:
            saved = await st.core.write(session.principal, Operation.CREATE, create)
        else:
            saved = await st.core.write(session.principal, Operation.UPDATE, replace)
    except OadrError as exc:
        form.errors["program_id" if "program" in (exc.detail or "").lower() else "form"] = (
            exc.detail or exc.title
        )
        return await _form_page(request, session, form, existing, 422)
    raise web.HTTPFound(f"{BASE}/events/{saved.id}")


@guarded(OperatorRole.OPERATOR)
async def cancel_event(request: web.Request, session: Session) -> web.StreamResponse:
    """Cancel = delete (OpenADR 3 has no cancelled state); subscribers hear a DELETE."""
    event_id = request.match_info["event_id"]

    async def cancel(tx: Tx) -> Event:
        gone = await svc.delete_event(tx, event_id)
        await audit.record(tx, session, "event.cancel", event_id)
        return gone

    try:
        await state(request).core.write(session.principal, Operation.DELETE, cancel)
    except NotFound:
        raise web.HTTPNotFound(text=f"no event {event_id}") from None
    raise web.HTTPFound(f"{BASE}/events")


@guarded(OperatorRole.VIEWER)
async def event_page(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    permission = await _permission(request, session)
    async with core.read() as tx:
        event = await _event(tx, permission, request.match_info["event_id"])
        reports = await _reports_of(tx, session, event.id)
    return render(request, session, "event.html", page="events", event=event, span=span, reports=reports)


async def _reports_of(tx: Tx, session: Session, event_id: str) -> list[Report]:
    found: list[Report] = []
    while True:  # every report of the event, a page at a time
        batch = await report_svc.list_reports(
            tx, session.principal, ReportFilter(event_id=EventId(event_id), page=Page(len(found), 500))
        )
        found.extend(batch)
        if len(batch) < 500 or len(found) >= 20_000:
            return found


def series(event: Event, reports: list[Report]) -> dict[str, Any]:
    """The event's signal and each resource's reported values, as uPlot-ready columns."""
    xs, ys = curve(event)
    start, _ = span(event)
    period = event.interval_period
    step = parse_duration(period.duration).total_seconds() if period and period.duration else 3600.0
    per_resource: dict[str, dict[float, float]] = {}
    for report in reports:
        for resource in report.resources:
            base = (
                resource.interval_period.start
                if resource.interval_period and resource.interval_period.start
                else start
            )
            r_step = (
                parse_duration(resource.interval_period.duration).total_seconds()
                if resource.interval_period and resource.interval_period.duration
                else step
            )
            points = per_resource.setdefault(f"{report.client_name}/{resource.resource_name}", {})
            for interval in resource.intervals:
                own = (
                    interval.interval_period.start
                    if interval.interval_period and interval.interval_period.start
                    else None
                )
                at = own.timestamp() if own else (base.timestamp() + interval.id * r_step if base else None)
                value = (
                    interval.payloads[0].values[0]
                    if interval.payloads and interval.payloads[0].values
                    else None
                )
                if at is not None and isinstance(value, int | float) and not isinstance(value, bool):
                    points[at] = float(value)
    stamps = sorted(set(xs).union(*(p.keys() for p in per_resource.values())))
    signal = dict(zip(xs, ys, strict=True))
    columns: list[list[float | None]] = [list(stamps), _stepped(stamps, signal)]
    names = ["signal"]
    for name, points in sorted(per_resource.items()):
        names.append(name)
        columns.append([points.get(t) for t in stamps])
    return {"names": names, "columns": columns}


def _stepped(stamps: list[float], signal: dict[float, float | None]) -> list[float | None]:
    """The signal at every stamp: the value of the interval the stamp falls in (a step curve)."""
    out: list[float | None] = []
    current: float | None = None
    keys = sorted(signal)
    i = 0
    for t in stamps:
        while i < len(keys) and keys[i] <= t:
            current = signal[keys[i]]
            i += 1
        out.append(current if keys and keys[0] <= t <= keys[-1] else None)
    return out


@guarded(OperatorRole.VIEWER)
async def event_data(request: web.Request, session: Session) -> web.StreamResponse:
    permission = await _permission(request, session)
    async with state(request).core.read() as tx:
        event = await _event(tx, permission, request.match_info["event_id"])
        reports = await _reports_of(tx, session, event.id)
    return web.json_response(series(event, reports), dumps=json.dumps)
