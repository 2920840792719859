"""The 3.0.1 API's reads convert the stored 3.1 text at the JSON level (vtn/oadr301/outbound.py's
*_doc functions over oadr3_json.load_stored, encoded by encode_loaded): the same bytes as the
conversion of the typed objects (outbound.program(...) etc. encoded by encode_doc), whatever the
documents hold; a page's programIDs (Reads.programs_of) and vens' resources (Reads.resources_of),
each read in one statement, are what the per-object reads give, inline and through SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from support.api_data import (
    bl_resource,
    bl_ven,
    create,
    event,
    lab_vtn,
    program,
    report,
    subscription,
    ven_ven,
)
from support.harness import Api

from shared.enums import ObjectType, Role
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from shared.wire.oadr3_json import encode_doc, encode_loaded, joined_encoded, load_stored
from vtn.oadr301 import converted, outbound
from vtn.oadr301.converted import Converted
from vtn.storage import Store
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

# Text whose spelling json.dumps and orjson differ on, or that a text cut could get wrong.
_ODD = ["\u00fc\u2028", 'a"b', "x\\y", "\x01\x7f", "VEN_NAME:v1", "0.00001", "1e-07"]


async def _seed(bl: Api, ven_a: Api, ven_b: Api) -> dict[str, Any]:
    made: dict[str, Any] = {}
    attributes = [{"type": "PROGRAM_TYPE", "values": ["PRICING"]}, {"type": "COUNTRY", "values": ["\u00d6"]}]
    p = await create(
        bl, "/programs", program("p-\u00e9", attributes=attributes, targets=["g1", "VEN_NAME:x"])
    )
    q = await create(bl, "/programs", program("q", intervalPeriod={"duration": "PT1H"}))
    made["programs"] = [p["id"], q["id"]]
    values: list[Any] = [1e-7, 1e-05, 1e16, 12345678901234567890123, -0.0, 0.1, "\u00fc", True]
    descriptors = [
        {"payloadType": "USAGE", "targets": ["g2", "RESOURCE_NAME:r"], "reportIntervals": "INTERVALS"}
    ]
    made["events"] = [
        (await create(bl, "/events", event(p["id"], eventName="e0", targets=["g1", "g2"])))["id"],
        (
            await create(
                bl,
                "/events",
                event(
                    q["id"],
                    eventName="\u00e9v\x7f",
                    duration="PT2H",
                    intervalPeriod={"duration": "PT1H"},
                    reportDescriptors=descriptors,
                    intervals=[
                        {"id": i, "payloads": [{"type": "X_TEST", "values": [v]}]}
                        for i, v in enumerate(values)
                    ]
                    + [
                        {
                            "id": 99,
                            "intervalPeriod": {"duration": "PT5M"},
                            "payloads": [{"type": "X", "values": [1]}],
                        }
                    ],
                ),
            )
        )["id"],
    ]
    va = await create(bl, "/vens", bl_ven("ven-a", ven_a.client_id, ["g1", *_ODD]))
    vb = await create(ven_b, "/vens", ven_ven("ven-b"))
    made["vens"] = [va["id"], vb["id"]]
    for k in range(3):
        await create(bl, "/resources", bl_resource(f"r{k}", va["id"], ven_a.client_id, _ODD[k:]))
        body = {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": f"rb\u00fc{k}", "venID": vb["id"]}
        await create(ven_b, "/resources", body)
    for n, value in enumerate((1e-7, 0.5, 1e22)):
        await create(ven_a, "/reports", report(made["events"][n % 2], client_name=_ODD[n], value=value))
    await create(ven_b, "/reports", report(made["events"][1]))
    await create(ven_a, "/subscriptions", subscription("s\u00e9", ["EVENT", "REPORT"], ["GET", "POST"]))
    await create(bl, "/subscriptions", subscription("bl", ["PROGRAM"], targets=["g1", *_ODD]))
    return made


def _same(fast: Any, typed: Any) -> None:
    assert encode_loaded(fast) == encode_doc(typed)


def _same_texts(convert: Callable[[list[str]], list[bytes] | bytes], texts: list[str], typed: Any) -> None:
    """What the handlers send (vtn/oadr301/converted.py), converted and then remembered: the typed bytes."""
    for _ in range(2):
        sent = convert([t.encode().decode() for t in texts])  # texts equal, not the same objects
        assert (sent if isinstance(sent, bytes) else joined_encoded(sent)) == encode_doc(typed)


async def test_stored_text_converts_as_the_typed_objects_do(db_url: str) -> None:
    async with lab_vtn(db_url) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven_a = await vtn.login("ven-a", Role.VEN)
        ven_b = await vtn.login("ven-b", Role.VEN)
        made = await _seed(bl, ven_a, ven_b)
        reads = vtn.store.reads
        library = Store(create_engine(db_url), inline_reads=False)
        try:
            everything = Permission()
            texts = await reads.page(ObjectType.PROGRAM, ProgramFilter(permission=everything))
            typed_p = [Program.model_validate_json(t) for t in texts]
            _same(
                [outbound.program_doc(load_stored(t)) for t in texts], [outbound.program(o) for o in typed_p]
            )
            conv = Converted()
            _same_texts(partial(converted.programs, conv), texts, [outbound.program(o) for o in typed_p])
            texts = await reads.page(ObjectType.EVENT, EventFilter(permission=everything))
            typed_e = [Event.model_validate_json(t) for t in texts]
            _same([outbound.event_doc(load_stored(t)) for t in texts], [outbound.event(o) for o in typed_e])
            _same_texts(partial(converted.events, conv), texts, [outbound.event(o) for o in typed_e])
            texts = await reads.page(ObjectType.SUBSCRIPTION, SubscriptionFilter())
            typed_s = [Subscription.model_validate_json(t) for t in texts]
            fast_s = [outbound.subscription_doc(load_stored(t)) for t in texts]
            _same(fast_s, [outbound.subscription(o) for o in typed_s])
            _same_texts(
                partial(converted.subscriptions, conv), texts, [outbound.subscription(o) for o in typed_s]
            )
            assert len(texts) == 2

            # Reports: the programIDs of a page's events in one statement, as event by event.
            texts = await reads.page(ObjectType.REPORT, ReportFilter())
            assert len(texts) == 4
            typed_r = [Report.model_validate_json(t) for t in texts]
            asked = frozenset([*made["events"], "no-such-event"])
            programs = await reads.programs_of(asked)
            assert programs == await library.reads.programs_of(asked)
            assert programs == {e: await reads.program_of(e) for e in made["events"]}
            assert await reads.programs_of(frozenset()) == {}
            fast_r = [
                outbound.report_doc(load_stored(t), programs.get(o.event_id))
                for t, o in zip(texts, typed_r, strict=True)
            ]
            typed_reports = [outbound.report(o, await reads.program_of(o.event_id)) for o in typed_r]
            _same(fast_r, typed_reports)
            assert [converted.member(t, "eventID") for t in texts] == [o.event_id for o in typed_r]
            # ... and in the page's own statement (Reads.report_rows), as the handlers read them.
            rows = await reads.report_rows(ReportFilter())
            assert [tuple(r) for r in rows] == [
                tuple(r) for r in await library.reads.report_rows(ReportFilter())
            ]
            expected = [(t, o.id, programs.get(o.event_id)) for t, o in zip(texts, typed_r, strict=True)]
            assert [(r[0], r[2], r[3]) for r in rows] == expected
            _same_texts(
                lambda ts: converted.reports(conv, [(t, *r[1:]) for r, t in zip(rows, ts, strict=True)]),
                texts,
                typed_reports,
            )
            for r, typed_report in zip(rows, typed_reports, strict=True):
                assert converted.report(conv, (r[0], None, r[2], r[3])) == encode_doc(typed_report)

            # Vens: each one's resources in one statement, as ven by ven (owner and limit kept),
            # with the stamp the page's vens carry.
            texts = await reads.page(ObjectType.VEN, VenFilter())
            typed_v = [Ven.model_validate_json(t) for t in texts]
            ven_rows = await reads.ven_rows(VenFilter())
            assert [tuple(r) for r in ven_rows] == [
                tuple(r) for r in await library.reads.ven_rows(VenFilter())
            ]
            assert [(r[0], r[2]) for r in ven_rows] == [
                (t, v.id) for t, v in zip(texts, typed_v, strict=True)
            ]
            stamps = {r[2]: r[3] for r in ven_rows}
            ven_ids = frozenset([*made["vens"], "no-such-ven"])
            for owner in (None, ven_a.client_id, ven_b.client_id):
                for limit in (500, 2, 1):  # 1: more rows than the cap, ven by ven (no stamp)
                    found = await reads.resources_of(ven_ids, owner=owner, limit=limit)
                    assert found == await library.reads.resources_of(ven_ids, owner=owner, limit=limit)
                    for ven_id in ven_ids:
                        flt = ResourceFilter(ven_id=ven_id, owner=owner, page=Page(limit=limit))
                        page_docs = await reads.page(ObjectType.RESOURCE, flt)
                        assert found[ven_id].docs == page_docs, (owner, limit)
                        assert found[ven_id].stamp == (stamps.get(ven_id) if limit > 1 else None)
            found = await reads.resources_of(ven_ids, owner=None, limit=500)
            assert sum(len(r.docs) for r in found.values()) == 6
            fast_v = [
                outbound.ven_doc(load_stored(t), [load_stored(r) for r in found[v.id].docs])
                for t, v in zip(texts, typed_v, strict=True)
            ]
            typed_ven_docs = [
                outbound.ven(v, [Resource.model_validate_json(r) for r in found[v.id].docs]) for v in typed_v
            ]
            _same(fast_v, typed_ven_docs)
            assert [converted.member(t, "id") for t in texts] == [v.id for v in typed_v]
            for resources in (found, {v: r._replace(stamp=None) for v, r in found.items()}):
                _same_texts(
                    lambda ts, res=resources: [
                        converted.ven(conv, v.id, t, None, res[v.id])
                        for t, v in zip(ts, typed_v, strict=True)
                    ],
                    texts,
                    typed_ven_docs,
                )
            known = converted.known_vens(conv, ven_rows, None)
            assert known == [encode_doc(d) for d in typed_ven_docs]
            assert converted.vens(conv, ven_rows, None, known) == encode_doc(typed_ven_docs)  # type: ignore[arg-type]
            assert converted.known_vens(conv, ven_rows, ven_a.client_id) == [None, None]
            resource_texts = found[made["vens"][0]].docs
            typed_res = [outbound.resource(Resource.model_validate_json(r)) for r in resource_texts]
            _same_texts(partial(converted.resources, conv), resource_texts, typed_res)
            assert reads.rerun == 0
        finally:
            await library.close()


def test_encode_loaded_spells_as_json_dumps() -> None:
    """orjson's text where it equals json.dumps', json.dumps' elsewhere: never another spelling."""
    docs: list[Any] = [
        {"a": [1, 2.5, None, True, "x"]},
        {"f": [1e-7, 1e-05, 0.0001, 1e16, 1e22, 5e-324, -0.0, 123.456]},
        {"big": 12345678901234567890123, "s": "\u00fc\u2028"},
        {"ctl": "".join(chr(i) for i in range(128))},
        ["0.00001 in a string", "e-5", "4d0e-1"],
    ]
    for doc in docs:
        assert encode_loaded(doc) == json.dumps(doc, separators=(",", ":")).encode(), doc
        text = json.dumps(doc, separators=(",", ":"))
        assert load_stored(text) == json.loads(text)
    assert load_stored('{"n":12345678901234567890123}') == {"n": 12345678901234567890123}


def test_member_reads_a_top_level_member_or_parses() -> None:
    text = '{"id":"a\\"b","name":"x \\"id\\": y","n":{"k":1}}'
    assert converted.member(text, "id") == 'a"b'
    assert converted.member(text, "n") == {"k": 1}
    nested = '{"r":[{"id":"inner"}],"id":"outer"}'  # twice: parsed, the top level's
    assert converted.member(nested, "id") == "outer"


def test_a_page_joined_before_is_sent_again_only_for_the_same_answers() -> None:
    conv = Converted()
    a, b = b'{"a":1}', b'{"b":2}'
    first = conv.joined("k", [a, b], [])
    assert first == b'[{"a":1},{"b":2}]'
    assert conv.joined("k", [a, b], []) is first
    equal = b'{"b":'.decode().encode() + b"2}"  # equal to b, another object: joined again
    assert conv.joined("k", [a, equal], []) == first and conv.joined("k", [a, equal], []) is not first
    assert conv.joined("k", [a], []) == b'[{"a":1}]'
    assert conv.joined("k", [], []) == b"[]"


def test_a_page_is_answered_again_only_for_equal_rows() -> None:
    """same_page: the list joined for rows equal to these (text, flag, id, extra: all of them, in
    order), under the same key; None for any other rows or key."""
    conv = Converted()
    rows = [('{"id":"r1"}', 1, "r1", "p1"), ('{"id":"r2"}', 1, "r2", None)]
    assert conv.same_page("k", rows) is None
    answers = [b"1", b"2"]
    body = conv.joined("k", answers, rows)
    again = [(t.encode().decode(), c, i, e) for t, c, i, e in rows]  # equal, not the same objects
    assert conv.same_page("k", again) is body
    assert conv.same_page("other", again) is None
    for changed in (
        [rows[0], ('{"id":"r2","x":1}', 1, "r2", None)],  # a text
        [rows[0], ('{"id":"r2"}', 1, "r2", "p2")],  # an extra (programID, resources' stamp)
        [rows[0], ('{"id":"r2"}', 0, "r2", None)],  # the flag
        [rows[1], rows[0]],  # the order
        rows[:1],
        [*rows, rows[0]],
    ):
        assert conv.same_page("k", changed) is None, changed
    # The same answers joined for other rows (e.g. only a flag changed): those rows are kept.
    assert conv.joined("k", answers, again[:1] + [('{"id":"r2"}', 0, "r2", None)]) is body
    assert conv.same_page("k", again) is None
    assert conv.same_page("k", again[:1] + [('{"id":"r2"}', 0, "r2", None)]) is body


def test_converted_texts_stay_within_their_bound() -> None:
    conv = Converted(max_chars=100)
    calls: list[int] = []

    def convert(n: int) -> Any:
        calls.append(n)
        return {"n": n}

    for n in (1, 2, 1):
        assert conv.text(("k", n), 30, convert, n) == f'{{"n":{n}}}'.encode()
    assert calls == [1, 2]  # the third was remembered
    for n in range(3, 10):
        conv.text(("k", n), 30, convert, n)
    conv.text(("k", 1), 30, convert, 1)
    assert calls[-1] == 1  # dropped when the bound was passed, converted again
