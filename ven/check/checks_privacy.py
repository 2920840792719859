"""3.x checks of targeting and object privacy between VENs (Definition, Object Privacy).

The standard API cannot make a second VEN client, so privacy is checked with what BL may do: BL
makes a ven object for another client and events targeted at targets granted only to it, and the
VEN under test must see none of them. Given a second VEN's credentials (--ven2-*), the objects
the first VEN made in this run (ven, report, subscription) must be invisible to the second.
"""

from __future__ import annotations

from typing import Any

from ven.check.ctx3 import NEEDS_BL, Ctx3
from ven.check.http3 import Answer, Http3, expect_list
from ven.check.model import Fail, Skip
from ven.check.runner import Check

NO_PRIVACY_301 = "3.0.1 defines no object privacy between VENs (its VEN tokens carry read_all)"


def _ids(docs: list[dict[str, Any]]) -> set[str]:
    return {str(d.get("id")) for d in docs}


async def _event(ctx: Ctx3, what: str, targets: list[str]) -> dict[str, Any]:
    program = await ctx.program()
    return await ctx.create(
        ctx.bl, "/events", ctx.dialect.event(program["id"], ctx.name(what), targets), "event"
    )


def _hidden(answer: Answer, what: str) -> None:
    """A VEN's read of an object it may not see: 404 (or 403), or an empty 200 list."""
    if answer.status in (403, 404):
        return
    if answer.status == 200 and answer.doc in ([], None):
        return
    raise Fail(f"{answer.what} answered {answer.status} for {what}: {answer.excerpt()}")


async def targeting(ctx: Ctx3) -> str:
    granted = await ctx.grant()
    program = await ctx.program()
    e_in = await _event(ctx, "targeted-in", [granted[0]])
    e_out = await _event(ctx, "targeted-out", [ctx.name("not-granted")])
    query = [("programID", program["id"]), *ctx.dialect.target_query([granted[0]])]
    seen = _ids(expect_list(await ctx.ven.get("/events", query)))
    if e_in["id"] not in seen:
        raise Fail(
            f"GET /events with granted target {granted[0]} leaves out event {e_in['id']} targeted at it"
        )
    if e_out["id"] in seen:
        raise Fail(
            f"GET /events?targets={granted[0]} returned event {e_out['id']} targeted at another target"
        )
    if not ctx.dialect.is_310:
        return "the targets filter returns the event targeted at the granted target and not the other"
    # Without a targets query the Definition's AND of request and granted targets is empty; a VTN
    # that shows the VEN its granted events anyway leaks nothing (the VEN holds the grant): noted.
    plain = _ids(expect_list(await ctx.ven.get("/events", [("programID", program["id"])])))
    if e_out["id"] in plain:
        raise Fail(
            f"GET /events without targets returned event {e_out['id']} targeted at a target not granted"
        )
    note = (
        ""
        if e_in["id"] not in plain
        else " (note: without a targets query the VEN is shown its granted events)"
    )
    asked = [("programID", program["id"]), *ctx.dialect.target_query([ctx.name("not-granted")])]
    if e_out["id"] in _ids(expect_list(await ctx.ven.get("/events", asked))):
        raise Fail(f"a VEN asking for a target it was not granted sees event {e_out['id']}")
    _hidden(await ctx.ven.get(f"/events/{e_out['id']}"), f"event {e_out['id']} targeted elsewhere")
    return "granted target: visible; ungranted target (asked, unasked, by id): hidden" + note


async def target_hiding(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip("target hiding is a 3.1.0 rule")
    granted = await ctx.grant()
    program = await ctx.program()
    secret = ctx.name("secret-target")
    event = await _event(ctx, "two-targets", [granted[0], secret])
    query = [("programID", program["id"]), *ctx.dialect.target_query([granted[0]])]
    found = [e for e in expect_list(await ctx.ven.get("/events", query)) if e.get("id") == event["id"]]
    if not found:
        raise Fail(
            f"event {event['id']} targeted at {granted[0]} and another is not visible with {granted[0]}"
        )
    shown = ctx.dialect.target_values(found[0])
    if secret in shown or not shown <= {granted[0]}:
        raise Fail(f"event {event['id']} shows targets the VEN did not ask for: {sorted(shown)}")
    return f"only the requested target is shown ({sorted(shown)})"


async def privacy_bl(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip(NO_PRIVACY_301)
    if ctx.bl_client is None:
        raise Skip(NEEDS_BL)
    other_target = ctx.name("other-ven-target")
    other = await ctx.create(
        ctx.bl,
        "/vens",
        ctx.dialect.ven_by_bl(ctx.name("other-ven"), ctx.name("other-client"), [other_target]),
        "ven",
    )
    vens = expect_list(await ctx.ven.get("/vens"))
    if other["id"] in _ids(vens):
        raise Fail(f"GET /vens as the VEN lists ven {other['id']} that BL made for another client")
    leaked = [v.get("id") for v in vens if v.get("clientID") not in (None, ctx.options.client_id)]
    if leaked:
        raise Fail(f"GET /vens as the VEN lists vens of other clients: {', '.join(map(str, leaked))}")
    _hidden(await ctx.ven.get(f"/vens/{other['id']}"), f"ven {other['id']} of another client")
    event = await _event(ctx, "other-ven-event", [other_target])
    program = await ctx.program()
    asked = [("programID", program["id"]), *ctx.dialect.target_query([other_target])]
    if event["id"] in _ids(expect_list(await ctx.ven.get("/events", asked))):
        raise Fail(f"event {event['id']} targeted at another VEN's target is visible to this VEN")
    return "another client's ven, and an event targeted at it, are invisible to the VEN"


async def privacy_ven2(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip(NO_PRIVACY_301)
    other: Http3 | None = ctx.ven2_client
    if other is None:
        raise Skip("needs a second VEN's credentials (--ven2-client-id, --ven2-client-secret)")
    mine: list[tuple[str, str]] = [("vens", (await ctx.own_ven())["id"])]
    for key, collection in (("report", "reports"), ("subscription", "subscriptions")):
        made = ctx.made(key)
        if made is not None:
            mine.append((collection, made["id"]))
    for collection, oid in mine:
        listed = expect_list(await other.get(f"/{collection}"))
        if oid in _ids(listed):
            raise Fail(f"GET /{collection} as the second VEN lists {collection[:-1]} {oid} of the first VEN")
        _hidden(await other.get(f"/{collection}/{oid}"), f"the first VEN's {collection[:-1]} {oid}")
        changed = await other.delete(f"/{collection}/{oid}")
        if changed.status in (200, 204):
            raise Fail(f"the second VEN deleted the first VEN's {collection[:-1]} {oid}")
    return (
        "the second VEN can neither list, read nor delete "
        + ", ".join(c[:-1] for c, _ in mine)
        + " of the first"
    )


CHECKS: tuple[Check[Ctx3], ...] = (
    Check(
        "targeting.events",
        "events reach only granted targets",
        "Definition, Object Privacy: program and event objects - targeting; searchAllEvents targets",
        targeting,
    ),
    Check("targeting.hiding", "target hiding", "Definition, Object Privacy: Target hiding", target_hiding),
    Check(
        "privacy.other-client",
        "another client's objects (made by BL)",
        "Definition, Object Privacy: BL created object privacy",
        privacy_bl,
    ),
)
CHECKS_LAST: tuple[Check[Ctx3], ...] = (
    Check(
        "privacy.second-ven",
        "a second VEN's view of the first's objects",
        "Definition, Object Privacy: VEN created object privacy",
        privacy_ven2,
    ),
)
