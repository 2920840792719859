"""shared.wire.oadr3_json fast paths give exactly the answers of the slow ones they stand in for."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from shared.errors import BadRequest
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from shared.models.base import WireModel
from shared.wire import oadr3_json
from shared.wire.oadr3_json import MAX_DEPTH

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = json.loads((ROOT / "tests" / "fixtures" / "openadr3_examples.json").read_text(encoding="utf-8"))
MODELS: dict[str, type[WireModel]] = {
    "event": Event,
    "program": Program,
    "report": Report,
    "ven": Ven,
    "resource": Resource,
    "subscription": Subscription,
}


def _slow_encode(obj: WireModel) -> bytes:
    return json.dumps(obj.to_wire(), separators=(",", ":")).encode()


def _stored_objects() -> list[WireModel]:
    return [
        MODELS[e["schema"]].model_validate(e["document"]) for e in EXAMPLES["valid"] if e["schema"] in MODELS
    ]


def _floats(rng: random.Random) -> list[float]:
    specials = [
        0.0,
        -0.0,
        1e-4,
        9.99e-5,
        1e-5,
        1.5e-5,
        1e-7,
        1e15,
        1e16,
        1.2345678901234567e16,
        5e-324,
        1e308,
    ]
    return specials + [rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-12, 20) for _ in range(200)]


def test_encode_equals_json_dumps_of_to_wire() -> None:
    objects = _stored_objects()
    assert len(objects) >= 6
    for obj in objects:
        assert oadr3_json.encode(obj) == _slow_encode(obj)
    assert (
        oadr3_json.encode_list(objects)
        == json.dumps([o.to_wire() for o in objects], separators=(",", ":")).encode()
    )
    assert oadr3_json.encode_list([]) == b"[]"


def test_encode_of_a_just_stored_object_is_its_json_dumps() -> None:
    texts = oadr3_json.StoredTexts()
    for obj in _stored_objects():
        stored = texts.keep(obj)  # what vtn.storage keeps as the document
        assert json.loads(stored.text) == obj.to_wire()
        assert stored.canonical == (stored.text == _slow_encode(obj).decode())
        assert oadr3_json.encode(obj, texts) == _slow_encode(obj)
    many = [_report_with(values=[float(i)], name=f"r{i}") for i in range(600)]
    for obj in many:  # more than are kept: the oldest are forgotten, never mixed up
        texts.keep(obj)
    assert [oadr3_json.encode(o, texts) for o in many] == [_slow_encode(o) for o in many]


@pytest.mark.parametrize(
    "text", ["plain", "é", "\u2028", "\x7f", '\x01\n\t"\\/<>&', "\ud83d\ude00", "日本", "0.00001", "1e-7"]
)
def test_encode_equals_json_dumps_for_any_text(text: str) -> None:
    report = _report_with(values=[1.0], name=text)
    assert oadr3_json.encode(report) == _slow_encode(report)


def test_encode_equals_json_dumps_for_any_float() -> None:
    rng = random.Random(7)
    for value in _floats(rng):
        report = _report_with(values=[value], name="r")
        assert oadr3_json.encode(report) == _slow_encode(report), value


def _report_with(values: list[Any], name: str) -> Report:
    return Report.model_validate(
        {
            "id": "r1",
            "createdDateTime": "2024-06-01T00:00:00Z",
            "modificationDateTime": "2024-06-01T00:00:00.123456+02:00",
            "eventID": "e1",
            "clientID": "c1",
            "clientName": name,
            "resources": [
                {
                    "resourceName": name,
                    "intervals": [{"id": 0, "payloads": [{"type": "X", "values": values}]}],
                }
            ],
        }
    )


# ---------------------------------------------------------------------- parse_json


def _outcome(check: Any, doc: Any) -> str | None:
    try:
        check(doc)
    except BadRequest as exc:
        return exc.detail
    return None


def _nested(depth: int, leaf: Any, kinds: str) -> Any:
    doc = leaf
    for i in range(depth):
        doc = [doc] if kinds[i % len(kinds)] == "[" else {"k": doc}
    return doc


def _bodies() -> list[bytes]:
    out: list[bytes] = []
    for depth in range(MAX_DEPTH - 3, MAX_DEPTH + 4):
        for leaf in (1, [], {}, "x", "[[[{{{", "]]}}"):
            for kinds in ("[", "{", "[{", "{[", "[[{"):
                out.append(json.dumps(_nested(depth, leaf, kinds)).encode())
    strings = [
        "a\\u0000b",
        "\\ud800",
        "\\udc00x",
        "\\ud83d\\ude00",
        "\\\\u0000",
        'q\\"[[[',
        "\\u00e9",
        "é",
        "日",
    ]
    for s in strings:
        out.append(f'{{"{s}": ["{s}", {{"k": "{s}"}}]}}'.encode())
    out.append(b'{"k": "\xed\xa0\x80"}')  # a raw UTF-8-encoded surrogate
    out.append('{"k": "x"}'.encode("utf-16"))
    out.append(b"\xef\xbb\xbf" + b'{"k": [1, 2]}')
    return out


def test_parse_json_answers_as_the_full_walk() -> None:
    for body in _bodies():
        try:
            doc = json.loads(body)
        except ValueError:
            continue
        expected = _outcome(oadr3_json._check_document, doc)
        try:
            oadr3_json.parse_json(body)
            got = None
        except BadRequest as exc:
            got = exc.detail
        assert got == expected, body[:80]


def test_fast_check_never_passes_what_the_walk_rejects() -> None:
    rng = random.Random(11)
    for _ in range(300):
        depth = rng.randint(0, MAX_DEPTH + 3)
        kinds = "".join(rng.choice("[{") for _ in range(depth)) or "["
        leaf = rng.choice([1, "s", [], {}, "a]b}", "\\u0000"])
        body = json.dumps(_nested(depth, leaf, kinds)).encode()
        if oadr3_json._shallow_and_plain(body):
            assert _outcome(oadr3_json._check_document, json.loads(body)) is None, body[:80]


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ('{"id":"3f2b0e-4d0e-9e-1"}', True),  # ids with "0e-" inside strings: pydantic's JSON is right
        ('{"values":[0.5,1.25]}', True),
        ('{"values":[1e-05]}', False),
        ('{"values":[2,3.5e-7]}', False),
        ('{"v":-1e-05}', False),
    ],
)
def test_only_numbers_with_negative_exponents_leave_the_fast_path(text: str, fast: bool) -> None:
    # Fast: pydantic's text is used as it is; otherwise json.dumps(to_wire()) re-encodes (its
    # spelling of such floats differs). A string that merely looks like an exponent must stay fast.
    assert oadr3_json.canonical(text) is fast


def test_every_negative_exponent_in_pydantic_json_is_found() -> None:
    # Floats in every position pydantic's JSON puts a number, beside ids that hold "e-" themselves.
    rng = random.Random(5)
    for value in _floats(rng) + [-v for v in _floats(rng)]:
        report = _report_with(values=[1.0, value], name="ab0e-1e-")
        text = report.model_dump_json(by_alias=True, exclude_none=True)
        spelled = json.dumps(value)
        has_exponent = "e-" in text.replace("ab0e-1e-", "") and "e-" in spelled
        assert oadr3_json._has_negative_exponent(text) is has_exponent, (value, text[-80:])


def _parsed(parse: Any, body: bytes) -> Any:
    try:
        doc = parse(body)
    except BadRequest as exc:
        return ("error", exc.detail)
    return ("doc", json.dumps(doc, sort_keys=True))  # 1 and 1.0, -0.0 and 0.0 stay apart


def test_parse_json_answers_as_the_stdlib_parser() -> None:
    # orjson parses the common body; whatever it could read differently goes to json.loads.
    tricky = [
        b"\xef\xbb\xbf[1]",
        '{"k": 1}'.encode("utf-16"),
        b'["\\ud800"]',
        b'["\xed\xa0\x80"]',
        b"[NaN]",
        b"[Infinity]",
        b"[1e400]",
        b"[-1e400]",
        b"[12345678901234567890123]",
        b"[-9223372036854775809]",
        b"[18446744073709551616]",
        b"[9223372036854775807]",
        b"[1234567890.123456789012]",
        b"[-0.0, 0, 1.0, 1e5, 1E+2, 1.5e-7]",
        b'{"a": 1, "a": 2}',
        b'{"a":"x\ty"}',
        b"[1,]",
        b"[01]",
        b"",
        b"   ",
        b"[" * 40 + b"]" * 40,
        b"[" * 2000 + b"]" * 2000,
        b'["\\u0000"]',
        b'"\\/"',
        b"\xff",
    ]
    rng = random.Random(3)
    numbers = [
        rng.choice([rng.randint(-(2**70), 2**70), rng.uniform(-1e20, 1e20), rng.random()]) for _ in range(200)
    ]
    generated = [json.dumps({"v": n, "s": [n, str(n)]}).encode() for n in numbers]
    fast = [b for b in tricky + generated if oadr3_json._fast_parse(b) is not oadr3_json._NOT_PARSED]
    assert len(fast) > 100  # the comparison covers orjson's answers, not only the fallback's
    for body in tricky + _bodies() + generated:
        assert _parsed(oadr3_json.parse_json, body) == _parsed(_stdlib_only, body), body[:60]


def _stdlib_only(body: bytes) -> Any:
    doc = oadr3_json._stdlib_parse(body)
    if not oadr3_json._shallow_and_plain(body):
        oadr3_json._check_document(doc)
    return doc
