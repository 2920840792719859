"""Rejected input: problem+json answers, JSON pointers, size limits, and no 500 for hostile bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.api_data import PROBLEM, counts, create, event, lab_vtn, ok_json, problem, program
from support.harness import BASE, Api, Vtn

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    """This module's VTN: webhook checks relaxed so subscription bodies reach their validation."""
    async with lab_vtn(db_url) as running:
        yield running


async def _post_raw(api: Api, path: str, raw: bytes) -> Any:
    return await api.post(path, data=raw, headers=JSON_HEADERS)


async def test_malformed_json_is_a_problem(vtn: Vtn, bl: Api) -> None:
    resp = await _post_raw(bl, "/programs", b'{"programName": "x",')
    assert resp.content_type == PROBLEM
    doc = await problem(resp, 400)
    assert set(doc) >= {"type", "title", "status", "detail", "instance"}
    assert doc["instance"].startswith("urn:uuid:")
    assert "malformed JSON" in doc["detail"]
    assert await vtn.count("programs") == 0


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/programs", {}, "/programName"),
        ("/programs", {"programName": 5}, "/programName"),
        ("/programs", {"programName": ""}, "/programName"),
        ("/programs", {"programName": "p", "targets": "g1"}, "/targets"),
        ("/programs", {"programName": "p", "targets": [1]}, "/targets/0"),
        ("/programs", {"programName": "p", "programDescriptions": [{}]}, "/programDescriptions/0/URL"),
        ("/events", {}, "/programID"),
        ("/events", {"programID": "p", "priority": "high"}, "/priority"),
        ("/events", {"programID": "p", "priority": -1}, "/priority"),
        ("/events", {"programID": "p", "duration": "PT1X"}, "/duration"),
        ("/events", {"programID": "p", "intervalPeriod": {"duration": "PT1X"}}, "/intervalPeriod/duration"),
        (
            "/events",
            {"programID": "p", "intervalPeriod": {"start": "2030-01-01T00:00:00"}},
            "/intervalPeriod/start",
        ),
        ("/events", {"programID": "p", "intervals": [{"id": "x", "payloads": []}]}, "/intervals/0/id"),
        ("/events", {"programID": "p", "intervals": [{"id": 0}]}, "/intervals/0/payloads"),
        ("/events", {"programID": "bad id"}, "/programID"),
        ("/vens", {"objectType": "VEN_VEN_REQUEST"}, "/venName"),
        ("/vens", {"venName": "v"}, "/objectType"),
        ("/vens", {"objectType": "PROGRAM", "venName": "v"}, "/objectType"),
        ("/resources", {"objectType": "VEN_RESOURCE_REQUEST", "venID": "v"}, "/resourceName"),
        ("/reports", {"eventID": "e", "clientName": "c"}, "/resources"),
        ("/subscriptions", {"clientName": "c"}, "/objectOperations"),
    ],
)
async def test_schema_violations_name_the_member(
    vtn: Vtn, ven_a: Api, bl: Api, path: str, body: dict[str, Any], pointer: str
) -> None:
    api = ven_a if path in ("/vens", "/resources", "/reports", "/subscriptions") else bl
    before = await counts(vtn)
    doc = await problem(await api.post(path, json=body), 400, pointer=pointer)
    assert doc["detail"]
    assert await counts(vtn) == before


async def test_schema_violation_on_put_changes_nothing(vtn: Vtn, bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    e = await create(bl, "/events", event(p["id"]))
    before = await counts(vtn)
    await problem(await bl.put(f"/programs/{p['id']}", json={"programName": 7}), 400, "/programName")
    bad = event(p["id"], intervalPeriod={"start": "2030-01-01T00:00:00", "duration": "PT1H"})
    await problem(await bl.put(f"/events/{e['id']}", json=bad), 400, "/intervalPeriod/start")
    assert await counts(vtn) == before
    assert await ok_json(await bl.get(f"/events/{e['id']}")) == e
    assert await ok_json(await bl.get(f"/programs/{p['id']}")) == p


async def test_body_over_one_mebibyte_is_413(vtn: Vtn, bl: Api) -> None:
    raw = json.dumps({"programName": "big", "attributes": [{"type": "X", "values": ["a" * (1 << 20)]}]})
    resp = await _post_raw(bl, "/programs", raw.encode())
    doc = await problem(resp, 413)
    assert doc["instance"].startswith("urn:uuid:")
    assert await vtn.count("programs") == 0
    # Just under the limit is fine.
    fits = json.dumps({"programName": "fits", "attributes": [{"type": "X", "values": ["a" * 1_000_000]}]})
    assert (await _post_raw(bl, "/programs", fits.encode())).status == 201


@pytest.mark.parametrize("raw", [b"", b"[]", b'[{"programName": "p"}]', b"null", b"42", b'"p"', b"true"])
async def test_body_must_be_a_json_object(vtn: Vtn, bl: Api, raw: bytes) -> None:
    await problem(await _post_raw(bl, "/programs", raw), 400)
    assert await vtn.count("programs") == 0


async def test_body_that_is_not_utf8_is_400(vtn: Vtn, bl: Api) -> None:
    await problem(await _post_raw(bl, "/programs", b'{"programName": "\xff\xfe"}'), 400)
    assert await vtn.count("programs") == 0


async def test_unknown_route_is_a_404_problem(vtn: Vtn, bl: Api) -> None:
    doc = await problem(await bl.get("/nothing-here"), 404)
    assert doc["instance"].startswith("urn:uuid:")
    await problem(await vtn.client.get("/openadr3/9.9.9/programs"), 404)
    await problem(await bl.get("/programs/a/b"), 404)


async def test_wrong_method_is_a_405_problem(vtn: Vtn, bl: Api) -> None:
    resp = await bl.client.patch(BASE + "/programs", json={"programName": "p"})
    await problem(resp, 405)
    assert "POST" in resp.headers["Allow"] and "GET" in resp.headers["Allow"]
    await problem(await bl.post("/programs/some-id", json={"programName": "p"}), 405)
    await problem(await bl.delete("/programs"), 405)
    assert await vtn.count("programs") == 0


# ---------------------------------------------------------------------- hostile bodies

DEEP = b"[" * 10_000 + b"]" * 10_000
MEDIUM_DEEP = b'{"programName": "deep", "attributes": ' + b"[" * 600 + b"]" * 600 + b"}"
EV = '{"programID": "%s", "intervalPeriod": {"start": "%s", "duration": "%s"}, "intervals": []}'


def _p(raw: str | bytes, path: str = "/programs") -> tuple[str, bytes]:
    return path, raw if isinstance(raw, bytes) else raw.encode()


HOSTILE: dict[str, tuple[str, bytes]] = {
    "deep-array-10000": _p(DEEP),
    "deep-object-10000": _p(b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
    "deep-member-600": _p(MEDIUM_DEEP),
    "huge-number-1e400": _p('{"programName": "n1", "attributes": [{"type": "X", "values": [1e400]}]}'),
    "nan-literal": _p('{"programName": "n2", "attributes": [{"type": "X", "values": [NaN]}]}'),
    "huge-integer": _p('{"programID": "p", "priority": 1%s}' % ("0" * 400), "/events"),
    "huge-interval-id": _p('{"programID": "p", "intervals": [{"id": 1e300, "payloads": []}]}', "/events"),
    "nul-in-name": _p('{"programName": "a\\u0000b"}'),
    "lone-surrogate": _p('{"programName": "\\ud800"}'),
    "unicode-name": _p('{"programName": "\\u30d7\\u30ed\\u30b0\\u30e9\\u30e0 \\ud83d\\ude80 \\u202e"}'),
    "bom-prefixed": _p(b'\xef\xbb\xbf{"programName": "bom"}'),
    "duplicate-keys": _p('{"programName": "dup-1", "programName": "dup-2"}'),
    "object-as-name": _p('{"programName": {"$gt": ""}}'),
    "long-name": _p('{"programName": "%s"}' % ("x" * 100_000)),
    "wrong-object-type": _p('{"objectType": "PROGRAM", "venName": "v"}', "/vens"),
    "bool-priority": _p('{"programID": "p", "priority": true}', "/events"),
    "null-in-array": _p('{"programName": "nul", "targets": [null]}'),
    "huge-duration": _p(
        '{"programID": "p", "duration": "P99999999Y", "intervalPeriod": {"start": "2030-01-01T00:00:00Z"}}',
        "/events",
    ),
    "huge-randomize": _p('{"programID": "p", "intervalPeriod": {"randomizeStart": "P99999999Y"}}', "/events"),
    "end-after-year-9999": _p(EV % ("p", "9999-12-31T23:59:59Z", "PT2H"), "/events"),
    "now-sentinel": _p(EV % ("p", "0001-01-01", "PT1H"), "/events"),
    "many-values": _p(
        json.dumps({"programName": "many", "attributes": [{"type": "X", "values": [1] * 50_000}]})
    ),
    "report-no-event": _p('{"eventID": "\\u0000", "clientName": "c", "resources": []}', "/reports"),
    "subscription-garbage": _p(
        '{"clientName": "c", "objectOperations": [{"objects": [[]]}]}', "/subscriptions"
    ),
}

# Known failures: case -> (reason, stores). Empty since the hardening of parse_json, durations,
# skip and path ids; a new entry marks a strict xfail until fixed.
HOSTILE_BUGS: dict[str, tuple[str, set[str]]] = {}


def _known_bug(request: pytest.FixtureRequest, db_url: str, case: str) -> None:
    store = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    if case in HOSTILE_BUGS and store in HOSTILE_BUGS[case][1]:
        request.applymarker(pytest.mark.xfail(reason=f"BUG: {HOSTILE_BUGS[case][0]}", strict=True))


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_body_is_never_a_500(
    request: pytest.FixtureRequest, db_url: str, vtn: Vtn, bl: Api, ven_a: Api, case: str
) -> None:
    _known_bug(request, db_url, case)
    host = await create(bl, "/programs", program("host"))
    path, raw = HOSTILE[case]
    raw = raw.replace(b'"programID": "p"', b'"programID": "%s"' % host["id"].encode())
    api = ven_a if path in ("/reports", "/subscriptions", "/vens") else bl
    resp = await _post_raw(api, path, raw)
    assert resp.status < 500, await resp.text()
    if resp.status >= 400:
        assert resp.content_type == PROBLEM
    # Whatever was accepted must read back.
    for kind in ("programs", "events", "vens", "reports", "subscriptions"):
        reader = ven_a if kind in ("vens", "reports", "subscriptions") else bl
        listed = await reader.get(f"/{kind}")
        assert listed.status == 200, await listed.text()
        await listed.json()


HOSTILE_QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "query-skip-huge": ("/programs", {"skip": "99999999999999999999"}),
    "query-limit-huge": ("/programs", {"limit": "99999999999999999999"}),
    "query-programID-nul": ("/events", {"programID": "\u0000"}),
    "query-targets-nul": ("/events", {"targets": "\u0000"}),
    "query-active-nul": ("/events", {"active": "\u0000"}),
    "query-venName-emoji": ("/vens", {"venName": "\ud83d\ude80"}),
    "query-clientName-long": ("/reports", {"clientName": "x" * 5000}),
    "query-objects-nul": ("/subscriptions", {"objects": "\u0000"}),
}


@pytest.mark.parametrize("case", list(HOSTILE_QUERIES))
async def test_hostile_query_is_never_a_500(
    request: pytest.FixtureRequest, db_url: str, bl: Api, case: str
) -> None:
    _known_bug(request, db_url, case)
    path, params = HOSTILE_QUERIES[case]
    resp = await bl.get(path, params=params)
    assert resp.status < 500, await resp.text()


@pytest.mark.parametrize("object_id", ["%00", "x" * 3000, "%F0%9F%9A%80", "..", "a%2Fb"])
@pytest.mark.parametrize("kind", ["programs", "events", "vens", "resources", "reports", "subscriptions"])
async def test_hostile_path_id_is_never_a_500(
    request: pytest.FixtureRequest, db_url: str, vtn: Vtn, bl: Api, kind: str, object_id: str
) -> None:
    _known_bug(request, db_url, f"path-{object_id}")
    url = f"{BASE}/{kind}/{object_id}"
    resp = await vtn.client.get(url, headers={"Authorization": f"Bearer {bl.token}"})
    assert resp.status < 500, await resp.text()
    resp = await vtn.client.delete(url, headers={"Authorization": f"Bearer {bl.token}"})
    assert resp.status < 500, await resp.text()
