"""EiEvent and OadrPoll: 3.1 events reach 2.0b VENs as oadrDistributeEvent; opts come back.

Which events: those a 3.1 VEN owning this ven object would see, i.e. untargeted events and events
whose targets overlap the targets BL granted on the ven object and its resources, that have not
yet ended. Every distribute carries all of them (2.0b: a missing event is an implied cancel).

Versions: each 3.1 event gets a 2.0b modificationNumber from the side table (0 when first
distributed, +1 whenever its modificationDateTime changed). A deleted event is sent once more
with status `cancelled` and the next number, until the VEN answers that version or its end passes.

Poll: queued VTN messages first (oldest first), then an oadrDistributeEvent when some event is new
or changed since the last distribute to this VEN, else oadrResponse.

oadrCreatedEvent: each eventResponse is stored per VEN and event (side table), and written as a
3.1 report BL can read: reportName OADR20B_OPT, clientName = venName, eventID = the event, one
resource AGGREGATED_REPORT whose single interval has payloads OPT = ["optIn"|"optOut"] and
MODIFICATION_NUMBER = [n]. One report per VEN and event (id `<venID>-opt-<eventID>`), updated in
place when the VEN answers a later version.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from shared.enums import Operation
from shared.models import Event as Event31
from shared.models import Report as Report31
from shared.models import Ven
from shared.models.common import Interval, ReportPayloadDescriptor, ValuesMap, VenId
from shared.models.report import AGGREGATED_REPORT, ReportResource
from shared.oadr20b import messages as m
from shared.oadr20b.errors import ResponseCode
from shared.oadr20b.parts import EiResponse, Event
from vtn.core.queries import EventFilter, Page, ResourceFilter
from vtn.core.visibility import targeting
from vtn.oadr20b.context import Ctx, registered_ven
from vtn.oadr20b.mapping import market_context, to_oadr20b

OPT_REPORT_NAME = "OADR20B_OPT"
_BATCH = 500


async def _grants(ctx: Ctx, ven: Ven) -> frozenset[str]:
    known = ctx.known.grants(ven.id, ctx.caller.client_id) if ctx.known is not None else None
    if known is not None:
        return known
    granted = set(ven.targets or ())
    skip = 0
    while True:
        flt = ResourceFilter(ven_id=VenId(ven.id), page=Page(skip=skip, limit=_BATCH))
        if ctx.docs is None:
            batch = await ctx.tx.resources.list(flt)
        else:  # decoded once per stored version
            batch = ctx.docs.resources.of(await ctx.tx.resources.list_docs(flt))
        for resource in batch:
            granted.update(resource.targets or ())
        skip += len(batch)
        if len(batch) < _BATCH:  # a short page is the last: no query for an empty one
            if ctx.known is not None:
                ctx.known.keep_grants(ven.id, ctx.caller.client_id, frozenset(granted))
            return frozenset(granted)


@dataclass(frozen=True)
class Current:
    """All events for a VEN as 2.0b events, and the ids of those it was not yet sent in this version."""

    events: list[Event]
    unsent: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.unsent)


async def current_events(ctx: Ctx, ven: Ven) -> Current:
    """All events for the VEN as 2.0b events, and which are new or changed since the last send."""
    grants = await _grants(ctx, ven)
    found: list[Event31] = []
    while True:
        flt = EventFilter(
            permission=targeting(grants), active_at=ctx.now, page=Page(skip=len(found), limit=_BATCH)
        )
        if ctx.docs is None:
            batch = await ctx.tx.events.list(flt)
        else:  # decoded once per stored version
            batch = ctx.docs.events.of(await ctx.tx.events.list_docs(flt))
        found.extend(batch)
        if len(batch) < _BATCH:
            break
    deliveries = await ctx.st.deliveries(ven.id)
    known = await ctx.st.known_versions([e.id for e in found])
    markets: dict[str, str] = {}
    out: list[Event] = []
    unsent: set[str] = set()
    for event in found:
        if event.program_id not in markets:
            markets[event.program_id] = market_context(await ctx.tx.programs.get(event.program_id))
        market = markets[event.program_id]
        number = ctx.st.unchanged(known.get(event.id), event.modification_date_time)
        if number is None:  # new or modified: counted (a write), with the document a cancel needs
            number = await ctx.st.track_event(
                event.id, event.modification_date_time, event.model_dump_json(by_alias=True), market
            )
        shown = [t for t in event.targets or () if t in grants]
        mapped = to_oadr20b(
            event,
            modification_number=number,
            market=market,
            ven_id=ven.id,
            shown_targets=shown,
            now=ctx.now,
            shapes=ctx.shapes,
        )
        if mapped is None:
            continue
        out.append(mapped)
        delivered = deliveries.get(event.id)
        if delivered is None or delivered.delivered_mod != number:
            unsent.add(event.id)
    seen = {e.event_id for e in out}
    for event_id, delivered in deliveries.items():
        if event_id in seen:
            continue
        cancelled = await _cancelled(ctx, ven, event_id, delivered.opt_mod)
        if cancelled is None:
            await ctx.st.drop_delivery(ven.id, event_id)
            continue
        out.append(cancelled)
        if delivered.delivered_mod != cancelled.modification_number:
            unsent.add(event_id)
    return Current(out, frozenset(unsent))


async def _cancelled(ctx: Ctx, ven: Ven, event_id: str, answered_mod: int | None) -> Event | None:
    """The cancelled version of a deleted event still owed to the VEN, else None (drop the delivery)."""
    if await ctx.tx.events.get(event_id) is not None:
        return None  # still there but no longer for this VEN, or ended: an implied cancel suffices
    version = await ctx.st.cancel_event(event_id)
    if version is None or answered_mod == version.modification_number:
        return None
    event = Event31.model_validate_json(version.doc)
    mapped = to_oadr20b(
        event,
        modification_number=version.modification_number,
        market=version.market_context,
        ven_id=ven.id,
        shown_targets=(),
        now=ctx.now,
        cancelled=True,
    )
    if mapped is None or (mapped.active_period.dtstart + mapped.active_period.duration) <= ctx.now:
        return None
    return mapped


async def distribute(
    ctx: Ctx, ven: Ven, request_id: str, limit: int | None = None, current: Current | None = None
) -> m.DistributeEvent:
    """oadrDistributeEvent of the VEN's events; records only versions it was not sent yet, so a
    repeated oadrRequestEvent writes nothing (and runs read-only, service.py)."""
    if current is None:
        current = await current_events(ctx, ven)
    events = current.events
    if limit is not None and limit > 0:
        events = events[:limit]
    for event in events:
        if event.event_id in current.unsent:
            await ctx.st.mark_delivered(ven.id, event.event_id, event.modification_number)
    return m.DistributeEvent(
        response=EiResponse(request_id=request_id),
        request_id=request_id,
        vtn_id=ctx.settings.vtn_id,
        events=tuple(events),
    )


async def request_event(ctx: Ctx, msg: m.RequestEvent) -> m.DistributeEvent:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    return await distribute(ctx, ven, msg.request_id, msg.reply_limit)


async def poll(ctx: Ctx, msg: m.Poll) -> m.Message | bytes:
    """The next queued message (already built, as bytes), a distribute, or an empty oadrResponse."""
    ven, _ = await registered_ven(ctx, msg.ven_id)
    queued = await ctx.st.take_next(ven.id)
    if queued is not None:
        return queued.body
    current = await current_events(ctx, ven)
    if current.changed:
        return await distribute(ctx, ven, str(uuid.uuid4()), current=current)
    return m.Response(response=EiResponse(), ven_id=ven.id)


async def created_event(ctx: Ctx, msg: m.CreatedEvent) -> m.Response:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    unknown: list[str] = []
    for answer in msg.event_responses:
        event_id = answer.event.event_id
        version = await ctx.st.event_version(event_id)
        if version is None:
            unknown.append(event_id)
            continue
        number = answer.event.modification_number
        await ctx.st.record_answer(ven.id, event_id, number, answer.opt_type.value, answer.code)
        if not version.cancelled:
            await _opt_report(ctx, ven, event_id, answer.opt_type.value, number)
    response = EiResponse(request_id=msg.response.request_id)
    if unknown:
        response = EiResponse(
            code=int(ResponseCode.INVALID_ID),
            description=f"unknown eventID {', '.join(unknown)}",
            request_id=msg.response.request_id,
        )
    return m.Response(response=response, ven_id=ven.id)


def opt_report_id(ven_id: str, event_id: str) -> str:
    plain = f"{ven_id}-opt-{event_id}"
    return plain if len(plain) <= 128 else "opt-" + hashlib.sha256(plain.encode()).hexdigest()[:60]


async def _opt_report(ctx: Ctx, ven: Ven, event_id: str, opt: str, number: int) -> None:
    report_id = opt_report_id(ven.id, event_id)
    old = await ctx.tx.reports.get(report_id)
    now = ctx.tx.reports.clock()
    report = Report31(
        id=report_id,
        created_date_time=now if old is None else old.created_date_time,
        modification_date_time=now,
        event_id=event_id,
        client_id=ven.client_id,
        client_name=ven.ven_name,
        report_name=OPT_REPORT_NAME,
        payload_descriptors=[
            ReportPayloadDescriptor(payload_type="OPT"),
            ReportPayloadDescriptor(payload_type="MODIFICATION_NUMBER"),
        ],
        resources=[
            ReportResource(
                resource_name=AGGREGATED_REPORT,
                intervals=[
                    Interval(
                        id=0,
                        payloads=[
                            ValuesMap(type="OPT", values=[opt]),
                            ValuesMap(type="MODIFICATION_NUMBER", values=[number]),
                        ],
                    )
                ],
            )
        ],
    )
    program_id = await ctx.tx.events.program_of(event_id)
    if old is None:
        await ctx.tx.reports.insert(report, {"program_id": program_id})
        await ctx.notify(Operation.CREATE, report)
    else:
        await ctx.tx.reports.replace(report, {"program_id": program_id})
        await ctx.notify(Operation.UPDATE, report)
