"""The API's reads (vtn/storage/reads.py) against the library path and against the typed path.

Objects are written through the API; then every read shape the API uses (an object by id with an
owner or a permission, a page of each list with its filters, skips, limits and a byte budget) runs
three ways, on SQLite and PostgreSQL:
- inline (SQLite on the loop, asyncpg directly) and through SQLAlchemy (`inline_reads=False`): the
  same documents;
- the answer built from the documents (encode_stored_list) and the one built from the repositories'
  typed objects (encode_list of tx.<kind>.list, with hide_targets): the same bytes;
- the typed objects read without a transaction (`Reads.objects`, `Reads.program_of`: what
  tests/vtn/test_oadr301_reads.py checks the 3.0.1 conversions against) and the repositories': the
  same objects.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from support.api_data import bl_resource, bl_ven, create, event, lab_vtn, program, report, ven_ven
from support.harness import Api, Vtn

from shared.enums import ObjectType, Role
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from shared.wire.oadr3_json import (
    StoredDocs,
    canonical,
    encode,
    encode_list,
    encode_stored,
    encode_stored_list,
    wire_json,
)
from vtn.core.visibility import _hidden_in_text, hide_targets, hide_targets_text, hide_targets_texts
from vtn.storage import Store, Tx
from vtn.storage.engine import create_engine
from vtn.storage.filters import (
    EventFilter,
    Page,
    Permission,
    ProgramFilter,
    ReportFilter,
    ResourceFilter,
    SubscriptionFilter,
    VenFilter,
)

MODELS: dict[ObjectType, Any] = {
    ObjectType.PROGRAM: Program,
    ObjectType.EVENT: Event,
    ObjectType.VEN: Ven,
    ObjectType.RESOURCE: Resource,
    ObjectType.REPORT: Report,
    ObjectType.SUBSCRIPTION: Subscription,
}


def _subscription(name: str, objects: list[str], **extra: Any) -> dict[str, Any]:
    hook = {"objects": objects, "operations": ["CREATE"], "callbackUrl": "http://127.0.0.1:9/cb"}
    return {"clientName": name, "objectOperations": [hook], **extra}


async def _seed(bl: Api, ven_a: Api, ven_b: Api) -> dict[str, Any]:
    made: dict[str, Any] = {"programs": [], "events": [], "vens": [], "resources": []}
    for i, targets in enumerate((None, ["g1"], ["g2"], ["g1", "g2"], None)):
        extra = {} if targets is None else {"targets": targets}
        p = await create(bl, "/programs", program(f"prog-{i}", **extra))
        made["programs"].append(p["id"])
        for j in range(3):
            e = await create(bl, "/events", event(p["id"], eventName=f"e{i}-{j}", **extra))
            made["events"].append(e["id"])
    va = await create(bl, "/vens", bl_ven("ven-a", ven_a.client_id, ["g1"]))
    vb = await create(ven_b, "/vens", ven_ven("ven-b"))
    made["vens"] = [va["id"], vb["id"]]
    for k in range(4):
        r = await create(
            bl, "/resources", bl_resource(f"r{k}", va["id"], ven_a.client_id, ["g2"] if k else None)
        )
        made["resources"].append(r["id"])
        r = await create(
            ven_b,
            "/resources",
            {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": f"rb{k}", "venID": vb["id"]},
        )
        made["resources"].append(r["id"])
    made["reports"] = [
        (await create(ven_a, "/reports", report(made["events"][0], client_name=f"c{n % 2}", value=n / 7)))[
            "id"
        ]
        for n in range(3)
    ] + [(await create(ven_b, "/reports", report(made["events"][1], value=1e-7)))["id"]]
    made["subscriptions"] = [
        (await create(ven_a, "/subscriptions", _subscription(f"s{n}", objs, programID=made["programs"][0])))[
            "id"
        ]
        for n, objs in enumerate((["EVENT"], ["PROGRAM", "EVENT"], ["REPORT"]))
    ] + [(await create(bl, "/subscriptions", _subscription("bl-sub", ["PROGRAM"])))["id"]]
    return made


def _pages() -> list[Page]:
    return [
        Page(),
        Page(skip=2, limit=3),
        Page(limit=1),
        Page(skip=50),
        Page(max_bytes=4 << 20),
        Page(max_bytes=1500),
        Page(skip=1, max_bytes=1),
    ]


def _permissions(a: str, b: str) -> list[Permission]:
    return [
        Permission(),
        Permission(targets=frozenset({"g1"})),
        Permission(targets=frozenset()),
        Permission(access=frozenset()),
        Permission(access=frozenset({"g1"})),
        Permission(access=frozenset({"g1", "g2", "zz"})),
        Permission(access=frozenset({"g2"}), sandbox=a),  # type: ignore[arg-type]
        Permission(sandbox=b),  # type: ignore[arg-type]
    ]


def _filters(made: dict[str, Any], a: str, b: str) -> list[tuple[ObjectType, Any]]:
    flts: list[tuple[ObjectType, Any]] = []
    for pg in _pages():
        for perm in _permissions(a, b):
            flts.append((ObjectType.PROGRAM, ProgramFilter(permission=perm, page=pg)))
            flts.append((ObjectType.EVENT, EventFilter(permission=perm, page=pg)))
        flts.append((ObjectType.EVENT, EventFilter(program_id=made["programs"][1], page=pg)))
        for owner in (None, a, b):
            flts += [
                (ObjectType.VEN, VenFilter(owner=owner, page=pg)),  # type: ignore[arg-type]
                (ObjectType.RESOURCE, ResourceFilter(owner=owner, page=pg)),  # type: ignore[arg-type]
                (ObjectType.REPORT, ReportFilter(owner=owner, page=pg)),  # type: ignore[arg-type]
                (ObjectType.SUBSCRIPTION, SubscriptionFilter(owner=owner, page=pg)),  # type: ignore[arg-type]
            ]
    pg = Page(max_bytes=4 << 20)
    flts += [
        (
            ObjectType.EVENT,
            EventFilter(permission=Permission(access=frozenset({"g1"})), program_id=made["programs"][3]),
        ),
        (ObjectType.VEN, VenFilter(ven_name="ven-b", page=pg)),
        (ObjectType.VEN, VenFilter(targets=frozenset({"g1", "x"}), page=pg)),
        (ObjectType.RESOURCE, ResourceFilter(ven_id=made["vens"][0], page=pg)),
        (ObjectType.RESOURCE, ResourceFilter(resource_name="r1", targets=frozenset({"g2"}), page=pg)),
        (ObjectType.REPORT, ReportFilter(program_id=made["programs"][0], client_name="c1", page=pg)),
        (ObjectType.REPORT, ReportFilter(event_id=made["events"][1], page=pg)),
        (ObjectType.SUBSCRIPTION, SubscriptionFilter(program_id=made["programs"][0], page=pg)),
        (
            ObjectType.SUBSCRIPTION,
            SubscriptionFilter(objects=frozenset({ObjectType.REPORT, ObjectType.PROGRAM})),
        ),
        (ObjectType.SUBSCRIPTION, SubscriptionFilter(client_name="s1", owner=a)),  # type: ignore[arg-type]
    ]
    return flts


def _typed_list(tx: Tx, kind: ObjectType) -> Any:
    return {
        ObjectType.PROGRAM: tx.programs,
        ObjectType.EVENT: tx.events,
        ObjectType.VEN: tx.vens,
        ObjectType.RESOURCE: tx.resources,
        ObjectType.REPORT: tx.reports,
        ObjectType.SUBSCRIPTION: tx.subscriptions,
    }[kind]


async def test_inline_library_and_typed_reads_agree(db_url: str) -> None:
    async with lab_vtn(db_url) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven_a = await vtn.login("ven-a", Role.VEN)
        ven_b = await vtn.login("ven-b", Role.VEN)
        await _compare(vtn, db_url, bl, ven_a, ven_b)


async def _compare(vtn: Vtn, db_url: str, bl: Api, ven_a: Api, ven_b: Api) -> None:
    made = await _seed(bl, ven_a, ven_b)
    inline = vtn.store.reads
    assert inline.inline  # a file database or PostgreSQL: the shortcut is taken
    library = Store(create_engine(db_url), inline_reads=False)
    a, b = ven_a.client_id, ven_b.client_id
    try:
        assert not library.reads.inline
        for kind, flt in _filters(made, a, b):
            fast = await inline.page(kind, flt)
            assert fast == await library.reads.page(kind, flt), (kind, flt)
            model = MODELS[kind]
            permission = getattr(flt, "permission", None)
            async with vtn.store.read() as tx:
                typed = await _typed_list(tx, kind).list(flt)
            if permission is not None:
                typed = [hide_targets(o, permission) for o in typed]
                fast = [hide_targets_text(t, model, permission) for t in fast]
            assert encode_stored_list(fast, model) == encode_list(typed), (kind, flt)
            # The 3.0.1 API's typed reads: the same objects as the repositories' (before hiding).
            async with vtn.store.read() as tx:
                assert await inline.objects(model, kind, flt) == await _typed_list(tx, kind).list(flt)
        objects = {
            ObjectType.PROGRAM: made["programs"],
            ObjectType.EVENT: made["events"],
            ObjectType.VEN: made["vens"],
            ObjectType.RESOURCE: made["resources"],
            ObjectType.REPORT: made["reports"],
            ObjectType.SUBSCRIPTION: made["subscriptions"],
        }
        seen = 0
        for kind, ids in objects.items():
            for object_id in [*ids, "no-such-id"]:
                if kind in (ObjectType.PROGRAM, ObjectType.EVENT):
                    asks: list[dict[str, Any]] = [{"permission": p} for p in _permissions(a, b)]
                else:
                    asks = [{}, {"owner": a}, {"owner": b}]
                for ask in asks:
                    fast_one = await inline.one(kind, object_id, **ask)
                    assert fast_one == await library.reads.one(kind, object_id, **ask), (kind, object_id, ask)
                    async with vtn.store.read() as tx:
                        repo = _typed_list(tx, kind)
                        if "permission" in ask:
                            typed_one = await repo.visible(object_id, ask["permission"])
                        else:
                            typed_one = await repo.get(object_id, repo.owned(ask.get("owner")))
                    assert (fast_one is None) == (typed_one is None), (kind, object_id, ask)
                    if fast_one is not None:
                        seen += 1
                        assert encode_stored(
                            fast_one, lambda t=fast_one, m=MODELS[kind]: m.model_validate_json(t)
                        ) == encode(MODELS[kind].model_validate_json(fast_one))
        assert seen > 50
        for event_id in [*made["events"], "no-such-id"]:  # 3.0.1 reports' programID
            async with vtn.store.read() as tx:
                found = await tx.events.get(event_id)
            expected = None if found is None else found.program_id
            assert await inline.program_of(event_id) == expected == await library.reads.program_of(event_id)
            assert (expected is None) == (event_id == "no-such-id")

        for client in (a, b, "no-such-client"):
            async with vtn.store.read() as tx:
                granted = await tx.vens.granted_targets(client)
            assert await inline.granted(client) == await library.reads.granted(client) == granted, client
        assert await inline.granted(a) == {"g1", "g2"}
        assert inline.rerun == 0  # every read above ran inline: none was too long for the loop
    finally:
        await library.close()


async def test_a_list_page_too_long_for_the_loop_runs_on_the_thread(vtn: Vtn, bl: Api, db_url: str) -> None:
    """An inline statement past its step budget is interrupted and run again elsewhere: same answer."""
    p = await create(bl, "/programs", program("many"))
    for i in range(30):
        await create(bl, "/events", event(p["id"], eventName=f"n{i}", targets=[f"t{i}"]))
    reads = vtn.store.reads
    flt = EventFilter(permission=Permission(access=frozenset(f"t{i}" for i in range(0, 30, 2))))
    before = await reads.page(ObjectType.EVENT, flt)
    assert len(before) == 15
    if db_url.startswith("sqlite"):
        reads.max_steps = 0  # interrupted at the first progress call
        assert await reads.page(ObjectType.EVENT, flt._replace()) == before
        assert reads.rerun == 1


# Targets a document may spell in ways a cut of its text could get wrong: quotes, escapes, brackets,
# non-ASCII, a control character, the member name itself.
_NAMES = ["g1", "g2", 'a"b', "\u00fc", "x\\y", "{t}", "[z]", "targets", '"targets":', "\x01", "\u00e9\u2028"]


_STAMPS = {"createdDateTime": "2024-01-01T00:00:00Z", "modificationDateTime": "2024-01-01T00:00:00Z"}


def _hiding_cases() -> list[tuple[type[Event] | type[Program], Event | Program]]:
    """Events and programs whose targets, names and report descriptors' (nested, never hidden)
    targets a cut of the text could get wrong."""
    found: list[tuple[type[Event] | type[Program], Event | Program]] = []
    for top, nested, name in itertools.product(
        (None, [], [""], ["g1"], ["g1", "g2"], _NAMES, list(reversed(_NAMES)), ["targets", "g2"]),
        (None, ["g1", "zz"], ["g2"]),
        ('a "targets": [x] {y}', "plain name"),  # brackets before the member, or none
    ):
        doc: dict[str, Any] = {
            **_STAMPS,
            "id": "e1",
            "programID": "p1",
            "eventName": name,
            "intervals": [
                {"id": i, "payloads": [{"type": "PRICE", "values": [i / 7, "s[{"]}]} for i in range(3)
            ],
        }
        if top is not None:
            doc["targets"] = top
        if nested is not None:
            doc["reportDescriptors"] = [{"payloadType": "X", "targets": nested}]
        found.append((Event, Event.model_validate(doc)))
        targets = {} if top is None else {"targets": top}
        program = Program.model_validate({**_STAMPS, "id": "p1", "programName": name, **targets})
        found.append((Program, program))
    return found


_ACCESS = ([], ["g1"], ["g2", "zz"], [""], _NAMES[2:], _NAMES)


def test_hiding_targets_in_the_text_is_hiding_them_in_the_model() -> None:
    """hide_targets_text cuts a stored document's own `targets` member; the answer is byte for byte
    the model round trip's, whatever the targets, the caller's access and the report descriptors'
    own (nested, never hidden) targets."""
    cases = 0
    for model, obj in _hiding_cases():
        text = obj.model_dump_json(by_alias=True, exclude_none=True)
        for access in _ACCESS:
            permission = Permission(access=frozenset(access))
            want = hide_targets(obj, permission).model_dump_json(by_alias=True, exclude_none=True)
            assert hide_targets_text(text, model, permission) == want, (text, access)
            assert _hidden_in_text(text, permission.access or frozenset()) is not None  # no detour
            cases += 1
    assert cases > 100


def test_a_page_with_targets_hidden_is_marked_canonical_only_if_it_is() -> None:
    """hide_targets_texts hides as hide_targets_text does, document by document; a page marked
    canonical stays so, and one marked so is (a page not marked may be: unknown, checked later)."""
    for model, obj in _hiding_cases():
        text = obj.model_dump_json(by_alias=True, exclude_none=True)
        untargeted = wire_json(obj.model_copy(update={"targets": None}))
        for access in _ACCESS:
            permission = Permission(access=frozenset(access))
            for page in ([untargeted, text], [text]):
                marked = all(canonical(t) for t in page)
                hidden = hide_targets_texts(StoredDocs(page, marked), model, permission)
                assert list(hidden) == [hide_targets_text(t, model, permission) for t in page]
                if hidden.canonical:
                    assert all(canonical(t) for t in hidden), (page, access)
                assert hidden.canonical or not marked, (page, access)  # a cut keeps a canonical page so
                assert not hide_targets_texts(StoredDocs(page, False), model, permission).canonical
    everything = StoredDocs(["{}"], True)
    assert hide_targets_texts(everything, Event, Permission()) is everything  # BL: nothing to hide


def test_a_document_the_text_cut_cannot_read_goes_through_the_model() -> None:
    """Spellings wire_json never writes (spaces, a null, a duplicate member) are not cut by hand."""
    access = frozenset({"g1"})
    base = '{"id":"e1","programID":"p1",' + json.dumps(_STAMPS, separators=(",", ":"))[1:-1]
    for text in (
        base + ',"targets": ["g1","g2"]}',
        base + ',"targets":null}',
        base + ',"targets":["g2"],"targets":["g1"]}',
        base + ',"targets":["\\u0067"]}',
    ):
        assert _hidden_in_text(text, access) is None, text
        want = hide_targets(Event.model_validate_json(text), Permission(access=access))
        assert hide_targets_text(text, Event, Permission(access=access)) == want.model_dump_json(
            by_alias=True, exclude_none=True
        )
