"""EiOpt: availability schedules and per-event qualifications, kept per VEN in a side table.

An opt that names an event (qualifiedEventID) must name one we distributed (else 452). Opts are
stored for BL's future use; they do not yet change what is distributed.
"""

from __future__ import annotations

from shared.oadr20b import messages as m
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.parts import EiResponse
from shared.oadr20b.xml import fmt_datetime, fmt_duration
from vtn.oadr20b.context import Ctx, registered_ven


async def create_opt(ctx: Ctx, msg: m.CreateOpt) -> m.CreatedOpt:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    if msg.event is not None and await ctx.st.event_version(msg.event.event_id) is None:
        raise Oadr20bError(ResponseCode.INVALID_ID, f"unknown eventID {msg.event.event_id!r}")
    doc = {
        "marketContext": msg.market_context,
        "availability": [
            {"dtstart": fmt_datetime(w.dtstart), "duration": fmt_duration(w.duration)}
            for w in msg.availability or ()
        ],
        "resourceIDs": list(msg.target.resource_ids),
        "createdDateTime": fmt_datetime(msg.created_date_time),
    }
    await ctx.st.save_opt(
        ven.id,
        msg.opt_id,
        opt_type=msg.opt_type.value,
        opt_reason=msg.opt_reason,
        event_id=None if msg.event is None else msg.event.event_id,
        modification_number=None if msg.event is None else msg.event.modification_number,
        doc=doc,
    )
    return m.CreatedOpt(response=EiResponse(request_id=msg.request_id), opt_id=msg.opt_id)


async def cancel_opt(ctx: Ctx, msg: m.CancelOpt) -> m.CanceledOpt:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    if not await ctx.st.cancel_opt(ven.id, msg.opt_id):
        raise Oadr20bError(ResponseCode.INVALID_ID, f"unknown optID {msg.opt_id!r}")
    return m.CanceledOpt(response=EiResponse(request_id=msg.request_id), opt_id=msg.opt_id)
