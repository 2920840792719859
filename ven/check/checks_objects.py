"""3.x checks of object metadata, POST/PUT rules, name uniqueness and paging."""

from __future__ import annotations

from ven.check.ctx3 import Ctx3, visible_event
from ven.check.http3 import expect_list, expect_object, expect_problem
from ven.check.model import Fail
from ven.check.runner import Check

PAGE_OBJECTS = 3


async def metadata(ctx: Ctx3) -> str:
    body = {
        **ctx.dialect.program(ctx.name("meta")),
        "id": "client-chosen-id",
        "createdDateTime": "2000-01-01T00:00:00Z",
    }
    doc = await ctx.create(ctx.bl, "/programs", body, "program")
    if doc["id"] == "client-chosen-id" or str(doc["createdDateTime"]).startswith("2000-01-01"):
        raise Fail("the VTN kept the id / createdDateTime of the request instead of populating its own")
    return (
        f"program {doc['id']} has id, createdDateTime, modificationDateTime, objectType {doc['objectType']}"
    )


async def update(ctx: Ctx3) -> str:
    program = await ctx.program()
    described = [{"URL": "https://example.com/ven-check"}]
    body = {**ctx.dialect.program(program["programName"]), "programDescriptions": described}
    answer = await ctx.bl.put(f"/programs/{program['id']}", body)
    doc = expect_object(answer, 200)
    ctx.shape("program", doc, answer.what)
    if doc["id"] != program["id"] or doc["createdDateTime"] != program["createdDateTime"]:
        raise Fail(f"{answer.what}: PUT changed the id or createdDateTime")
    if doc.get("programDescriptions") != described:
        raise Fail(
            f"{answer.what}: update not applied (programDescriptions {doc.get('programDescriptions')!r})"
        )
    if str(doc["modificationDateTime"]) < str(program["modificationDateTime"]):
        raise Fail(f"{answer.what}: modificationDateTime went backwards")
    return "PUT /programs/{id}: 200, update applied, id and createdDateTime kept"


async def unique_names(ctx: Ctx3) -> str:
    program = await ctx.program()
    answer = await ctx.bl.post("/programs", ctx.dialect.program(program["programName"]))
    if answer.status == 201 and isinstance(answer.doc, dict) and answer.doc.get("id"):
        pid = answer.doc["id"]
        ctx.on_cleanup(lambda: ctx.bl.delete(f"/programs/{pid}"))
    title = expect_problem(answer, 409)
    return f"a second program named {program['programName']}: 409 problem ({title})"


async def paging(ctx: Ctx3) -> str:
    made = [
        await ctx.create(ctx.bl, "/programs", ctx.dialect.program(ctx.name(f"page-{i}")), "program")
        for i in range(PAGE_OBJECTS)
    ]
    ours = {p["id"] for p in made}
    seen: list[str] = []
    skip = 0
    for _ in range(1000):  # at most 1000 pages of 2
        answer = await ctx.bl.get("/programs", [("skip", str(skip)), ("limit", "2")])
        page = expect_list(answer)
        if len(page) > 2:
            raise Fail(f"{answer.what}?limit=2 returned {len(page)} objects")
        seen.extend(str(p.get("id")) for p in page)
        if len(page) < 2:
            break
        skip += len(page)
    if len(seen) != len(set(seen)):
        raise Fail("paging with skip/limit returned some programs twice")
    missing = ours - set(seen)
    if missing:
        raise Fail(f"paging with skip/limit never returned program(s) {', '.join(sorted(missing))}")
    return f"{len(seen)} programs in pages of 2 (skip/limit), none twice, none missing"


async def ven_reads_event(ctx: Ctx3) -> str:
    event = await visible_event(ctx)
    answer = await ctx.ven.get(f"/events/{event['id']}")
    doc = expect_object(answer, 200)
    ctx.shape("event", doc, answer.what)
    listed = expect_list(await ctx.ven.get("/events", [("programID", event["programID"])]))
    if event["id"] not in {e.get("id") for e in listed}:
        raise Fail(
            f"GET /events?programID={event['programID']} as the VEN leaves out untargeted event {event['id']}"
        )
    other = expect_list(await ctx.ven.get("/events", [("programID", ctx.name("no-such-program"))]))
    if any(e.get("id") == event["id"] for e in other):
        raise Fail(
            "GET /events?programID=<another program> returned the event: the programID filter is ignored"
        )
    return f"untargeted event {event['id']} readable by the VEN, by id and filtered by programID"


async def ven_sees_no_bl_only_write(ctx: Ctx3) -> str:
    event = await ctx.event()
    answer = await ctx.ven.delete(f"/events/{event['id']}")
    if answer.status in (200, 204):
        raise Fail(f"{answer.what} with a VEN token deleted a BL event (write_events is BL only)")
    title = expect_problem(answer, 403)
    return f"DELETE /events/{{id}} with a VEN token: 403 problem ({title})"


CHECKS: tuple[Check[Ctx3], ...] = (
    Check(
        "objects.metadata",
        "VTN populates object metadata",
        "Definition, Object Metadata; POST and PUT",
        metadata,
    ),
    Check("objects.update", "PUT updates in place", "Definition, POST and PUT; updateProgram", update),
    Check(
        "objects.unique-names",
        "programName is unique",
        "Definition, Object names; createProgram 409",
        unique_names,
    ),
    Check(
        "paging.skip-limit",
        "paging with skip and limit",
        "Definition, Response Filtering (limit and skip SHALL be supported)",
        paging,
    ),
    Check(
        "events.read",
        "VEN reads events",
        "searchAllEvents, searchEventsByID; Definition, Response Filtering",
        ven_reads_event,
    ),
    Check(
        "auth.ven-cannot-delete-events",
        "VEN may not delete events",
        "Definition, OpenAPI Specification (scopes); deleteEvent write_events",
        ven_sees_no_bl_only_write,
    ),
)
