"""Grid areas: list them with their members; operators add an area and add or remove a member VEN.

Every change goes through vtn/programs/areas.py (the functions the CLI and the API extension use),
so membership stays the OpenADR target grant written by the core, audited in the same transaction.
"""

from __future__ import annotations

from aiohttp import web

from shared.enums import OperatorRole
from shared.errors import BadRequest, OadrError
from vtn.console import audit
from vtn.console.auth import Session, guarded
from vtn.console.view import render
from vtn.core.queries import Tx
from vtn.core.state import state
from vtn.programs import areas as area_svc


async def _page(request: web.Request, session: Session, error: str | None, done: str | None) -> web.Response:
    core = state(request).core
    found = await area_svc.list_areas(core)
    members = {a.name: await area_svc.members(core, a.name) for a in found}
    return render(
        request,
        session,
        "areas.html",
        status=200 if error is None else 422,
        page="areas",
        areas=found,
        members=members,
        kinds=list(area_svc.AreaKind),
        error=error,
        done=done,
    )


@guarded(OperatorRole.VIEWER)
async def areas(request: web.Request, session: Session) -> web.StreamResponse:
    return await _page(request, session, None, None)


def _kw(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadRequest(f"{what} must be a number of kW, not {text!r}") from None


@guarded(OperatorRole.OPERATOR)
async def add_area(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    name, kind, imp, exp = (str(form.get(k, "")).strip() for k in ("name", "kind", "import_kw", "export_kw"))

    async def noted(tx: Tx) -> None:
        await audit.record(tx, session, "area.add", f"{name} ({kind})")

    try:
        if kind not in {k.value for k in area_svc.AreaKind}:
            raise BadRequest(f"the kind must be one of {', '.join(area_svc.AreaKind)}")
        await area_svc.add_area(
            state(request).core,
            name,
            area_svc.AreaKind(kind),
            _kw(imp, "import capacity"),
            _kw(exp, "export capacity"),
            also=noted,
        )
    except OadrError as exc:
        return await _page(request, session, exc.detail or exc.title, None)
    return await _page(request, session, None, f"area {name} added")


@guarded(OperatorRole.OPERATOR)
async def set_member(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    area, ven_name, action = (str(form.get(k, "")).strip() for k in ("area", "ven_name", "action"))
    member = action == "add"

    async def noted(tx: Tx) -> None:
        await audit.record(tx, session, f"area.member.{'add' if member else 'remove'}", f"{area}: {ven_name}")

    try:
        if action not in {"add", "remove"} or not ven_name:
            raise BadRequest("name a VEN and whether to add or remove it")
        await area_svc.set_member(
            state(request).core, area, area_svc.MemberKind.VEN, ven_name, member=member, also=noted
        )
    except OadrError as exc:
        return await _page(request, session, exc.detail or exc.title, None)
    verb = "added to" if member else "removed from"
    return await _page(request, session, None, f"VEN {ven_name} {verb} area {area}")
