"""VENs: a name search with keyset paging (fast at 100,000 VENs), and one VEN's page."""

from __future__ import annotations

from aiohttp import web

from shared.enums import OperatorRole
from shared.errors import NotFound
from shared.models.common import VenId
from vtn.console.auth import Session, guarded
from vtn.console.state import CONSOLE
from vtn.console.view import render
from vtn.core.queries import Page, ResourceFilter, SubscriptionFilter
from vtn.core.state import state
from vtn.services import reports as report_svc
from vtn.services import vens as ven_svc


@guarded(OperatorRole.VIEWER)
async def vens(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    prefix = request.query.get("q", "").strip()
    after = request.query.get("after") or None
    async with core.read() as tx:
        page = await tx.console().ven_page(prefix, after, request.app[CONSOLE].settings.page_size)
    return render(request, session, "vens.html", page="vens", q=prefix, after=after, found=page)


@guarded(OperatorRole.VIEWER)
async def ven(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    ven_id = request.match_info["ven_id"]
    who = session.principal
    try:
        async with core.read() as tx:
            found = await ven_svc.get_ven(tx, who, ven_id)
            resources = await ven_svc.list_resources(
                tx, who, ResourceFilter(ven_id=VenId(found.id), page=Page(0, 200))
            )
            subs = await report_svc.list_subscriptions(
                tx, who, SubscriptionFilter(owner=found.client_id, page=Page(0, 50))
            )
            reports = await tx.console().last_reports(found.client_id, 10)
            contact = (await tx.console().last_contacts([found.client_id])).get(found.client_id)
    except NotFound:
        raise web.HTTPNotFound(text=f"no VEN {ven_id}") from None
    return render(
        request,
        session,
        "ven.html",
        page="vens",
        ven=found,
        resources=resources,
        subs=subs,
        reports=reports,
        last_contact=contact,
    )
