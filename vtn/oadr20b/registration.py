"""EiRegisterParty: query, create (and re-create), cancel.

Admission by certificate (admission.py: the TLS client certificate, or a verified signature by a
registered one): the VEN registers as the ven object of its client: the one named oadrVenName
(or venID), else the client's only one; a client without any gets one named after oadrVenName
(or the client id), owned by the client, as a 3.1 VEN's own POST /vens would. Several ven objects
and no name that picks one: 452. A query names the VEN's registration, if it has one.

Admission over plain HTTP (labs): a VEN is admitted when BL has created a ven object whose venName
is the oadrVenName it registers with (unless that ven's client registered a certificate); with
`open_registration` any name is admitted and its ven object is created (owned by
OPEN_REGISTRATION_CLIENT_ID, so only BL sees it). Otherwise the answer is 463.

The 2.0b venID *is* the ven object's id; a VEN that sends a venID or registrationID that does not
match gets 452. Every successful registration issues a fresh registrationID and forgets what the
previous one set up (event deliveries, report registrations and requests, queued messages): the
VEN re-registers its reports and re-requests events right after, as 2.0b demands.
"""

from __future__ import annotations

import uuid

from shared.models import Ven
from shared.models.common import ClientId
from shared.oadr20b import messages as m
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.parts import EiResponse
from vtn.core.oadr20b_records import Registration
from vtn.core.queries import Page, VenFilter
from vtn.oadr20b.context import Ctx, check_owner
from vtn.oadr20b.settings import OPEN_REGISTRATION_CLIENT_ID

_MAX_OWNED = 100


def created_registration(
    ctx: Ctx,
    request_id: str,
    reg: Registration | None,
    code: ResponseCode = ResponseCode.OK,
    text: str = "OK",
) -> m.CreatedPartyRegistration:
    return m.CreatedPartyRegistration(
        response=EiResponse(code=int(code), description=text, request_id=request_id),
        vtn_id=ctx.settings.vtn_id,
        registration_id=None if reg is None else reg.registration_id,
        ven_id=None if reg is None else reg.ven_id,
        poll_freq=ctx.settings.poll_freq,
    )


async def query(ctx: Ctx, msg: m.QueryRegistration) -> m.CreatedPartyRegistration:
    # Without a certificate the query names no VEN, so it is answered as for an unregistered one.
    owner = ctx.caller.client_id
    if owner is None:
        return created_registration(ctx, msg.request_id, None)
    owned = await ctx.tx.vens.list(VenFilter(owner=ClientId(owner), page=Page(skip=0, limit=2)))
    reg = await ctx.st.registration(owned[0].id) if len(owned) == 1 else None
    return created_registration(ctx, msg.request_id, reg)


async def _ven_named(ctx: Ctx, name: str) -> Ven | None:
    found = await ctx.tx.vens.list(VenFilter(ven_name=name, page=Page(skip=0, limit=1)))
    return found[0] if found else None


async def create(ctx: Ctx, msg: m.CreatePartyRegistration) -> m.CreatedPartyRegistration:
    if msg.profile_name != "2.0b" or msg.transport_name != "simpleHttp":
        raise Oadr20bError(
            ResponseCode.NOT_ALLOWED, f"only profile 2.0b over simpleHttp is offered, not {msg.profile_name}"
        )
    if msg.http_pull_model is False:
        raise Oadr20bError(ResponseCode.NOT_ALLOWED, "only the pull model is offered")
    ven = await _admit(ctx, msg)
    old = await ctx.st.registration(ven.id)
    if msg.registration_id is not None and (old is None or old.registration_id != msg.registration_id):
        raise Oadr20bError(ResponseCode.INVALID_ID, f"unknown registrationID {msg.registration_id!r}")
    reg = Registration(
        ven_id=ven.id,
        registration_id=str(uuid.uuid4()),
        ven_name=ven.ven_name,
        report_only=msg.report_only,
        xml_signature=msg.xml_signature,
        http_pull=msg.http_pull_model,
        transport_address=None if msg.transport_address in (None, "None") else msg.transport_address,
    )
    await ctx.st.forget_ven(ven.id, keep_registration=True)
    await ctx.st.save_registration(reg)
    return created_registration(ctx, msg.request_id, reg)


async def _admit(ctx: Ctx, msg: m.CreatePartyRegistration) -> Ven:
    if ctx.caller.client_id is not None:
        return await _admit_client(ctx, msg, ctx.caller.client_id)
    if not msg.ven_name:
        raise Oadr20bError(
            ResponseCode.NOT_REGISTERED_OR_AUTHORIZED, "oadrVenName is required over plain HTTP"
        )
    ven = await _ven_named(ctx, msg.ven_name)
    if ven is None and ctx.settings.open_registration:
        now = ctx.tx.vens.clock()
        ven = Ven(
            id=ctx.tx.vens.new_id(),
            created_date_time=now,
            modification_date_time=now,
            client_id=OPEN_REGISTRATION_CLIENT_ID,
            ven_name=msg.ven_name,
        )
        await ctx.tx.vens.insert(ven)
        ctx.ven_created()
    if ven is None:
        raise Oadr20bError(
            ResponseCode.NOT_REGISTERED_OR_AUTHORIZED,
            f"no ven object named {msg.ven_name!r}: BL must create it through the 3.1 API first",
        )
    if msg.ven_id is not None and msg.ven_id != ven.id:
        raise Oadr20bError(
            ResponseCode.INVALID_ID, f"venID {msg.ven_id!r} does not belong to {msg.ven_name!r}"
        )
    await check_owner(ctx, ven)
    return ven


async def _admit_client(ctx: Ctx, msg: m.CreatePartyRegistration, owner: str) -> Ven:
    owned = await ctx.tx.vens.list(VenFilter(owner=ClientId(owner), page=Page(skip=0, limit=_MAX_OWNED)))
    chosen: Ven | None = None
    if msg.ven_id is not None:
        chosen = next((v for v in owned if v.id == msg.ven_id), None)
        if chosen is None:
            raise Oadr20bError(ResponseCode.INVALID_ID, f"venID {msg.ven_id!r} is not a ven of this client")
    elif msg.ven_name and msg.ven_name != "None":
        chosen = next((v for v in owned if v.ven_name == msg.ven_name), None)
    if chosen is None and len(owned) == 1 and msg.ven_id is None:
        chosen = owned[0]
    if chosen is not None:
        return chosen
    if owned:
        raise Oadr20bError(
            ResponseCode.INVALID_ID, "this client has several ven objects: name one with oadrVenName or venID"
        )
    now = ctx.tx.vens.clock()
    ven = Ven(
        id=ctx.tx.vens.new_id(),
        created_date_time=now,
        modification_date_time=now,
        client_id=owner,
        ven_name=msg.ven_name or owner,
    )
    await ctx.tx.vens.insert(ven)
    ctx.ven_created()
    return ven


async def cancel(ctx: Ctx, msg: m.CancelPartyRegistration) -> m.CanceledPartyRegistration:
    ven_id = msg.ven_id
    reg = await ctx.st.registration(ven_id) if ven_id else None
    if reg is None or reg.registration_id != msg.registration_id:
        raise Oadr20bError(ResponseCode.INVALID_ID, f"unknown registrationID {msg.registration_id!r}")
    ven = await ctx.tx.vens.get(reg.ven_id)
    if ven is not None:
        await check_owner(ctx, ven)
    await ctx.st.forget_ven(reg.ven_id)
    return m.CanceledPartyRegistration(
        response=EiResponse(request_id=msg.request_id), registration_id=reg.registration_id, ven_id=reg.ven_id
    )


async def canceled(ctx: Ctx, msg: m.CanceledPartyRegistration) -> m.Response:
    """The VEN confirms a VTN-initiated cancellation (delivered through the poll queue)."""
    if msg.ven_id:
        reg = await ctx.st.registration(msg.ven_id)
        if reg is not None and reg.registration_id == msg.registration_id:
            ven = await ctx.tx.vens.get(reg.ven_id)
            if ven is not None:
                await check_owner(ctx, ven)
            await ctx.st.forget_ven(reg.ven_id)
    return m.Response(response=EiResponse(request_id=msg.response.request_id), ven_id=msg.ven_id)


async def request_cancellation(ctx: Ctx, ven_id: str) -> None:
    """VTN side: queue oadrCancelPartyRegistration for the VEN's next poll."""
    reg = await ctx.st.registration(ven_id)
    if reg is None:
        raise Oadr20bError(ResponseCode.NOT_REGISTERED_OR_AUTHORIZED, f"venID {ven_id!r} is not registered")
    msg = m.CancelPartyRegistration(
        request_id=str(uuid.uuid4()), registration_id=reg.registration_id, ven_id=ven_id
    )
    await ctx.st.enqueue(ven_id, msg.TAG, ctx.codec.build(msg))


async def request_reregistration(ctx: Ctx, ven_id: str) -> None:
    """VTN side: queue oadrRequestReregistration for the VEN's next poll."""
    msg = m.RequestReregistration(ven_id=ven_id)
    await ctx.st.enqueue(ven_id, msg.TAG, ctx.codec.build(msg))
