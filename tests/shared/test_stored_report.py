"""The stored document written straight from a report body equals the typed model's, byte for byte."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter

from shared.errors import OadrError
from shared.models import ReportRequest
from shared.validation import SchemaRegistry
from shared.wire import oadr3_json, stored_report
from vtn.services.reports import prepare_report, prepare_report_body

NOW = datetime(2026, 12, 4, 21, 42, 11, 599976, tzinfo=UTC)
REGISTRY = SchemaRegistry()


def _base() -> dict[str, Any]:
    return {
        "eventID": "4506d75e-a6bc-4108-bb12-48d68cf7519d",
        "clientName": "bench-ven-000001",
        "reportName": "usage-1",
        "payloadDescriptors": [
            {
                "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                "payloadType": "USAGE",
                "readingType": "DIRECT_READ",
                "units": "KWH",
            }
        ],
        "resources": [
            {
                "resourceName": "res-00",
                "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
                "intervals": [
                    {"id": i, "payloads": [{"type": "USAGE", "values": [0.5 + i / 10]}]} for i in range(24)
                ],
            }
        ],
    }


# Spots of the body and what may be put there: each is what some client might send.
_VALUES: list[Any] = [
    0,
    1,
    -1,
    1.5,
    0.1,
    -0.0,
    1e-7,
    1e-4,
    2.5e-5,
    1e15,
    1e16,
    123456789.125,
    2**63,
    2**70,
    True,
    False,
    "x",
    "",
    "Zähler ☀",
    'a"b',
    "\u2028",
    {"x": 1, "y": 2.5},
    {"x": 1.5, "y": 2, "z": 0},
    None,
    [1],
    1.0,
]
_STARTS = [
    "2030-01-01T00:00:00Z",
    "2030-01-01T00:00:00.5Z",
    "2030-01-01T00:00:00+00:00",
    "2030-01-01T01:00:00+01:00",
    "2030-02-30T00:00:00Z",
    "2030-01-01T24:00:00Z",
    "2030-01-01",
    "x",
    5,
    None,
]
_NAMES = ["n", "", "Zähler ☀ \u2028", "tab\there", 'quote"', "back\\slash", 7, None]


def _mutate(rng: random.Random, doc: dict[str, Any]) -> None:
    resource = doc["resources"][0]
    interval = resource["intervals"][rng.randrange(len(resource["intervals"]))]
    descriptor = doc.get("payloadDescriptors", [{}])[0]
    choice = rng.randrange(16)
    if choice == 0:
        interval["payloads"][0]["values"] = [rng.choice(_VALUES) for _ in range(rng.randrange(3))]
    elif choice == 1:
        resource.setdefault("intervalPeriod", {})["start"] = rng.choice(_STARTS)
    elif choice == 2:
        interval["intervalPeriod"] = {"start": rng.choice(_STARTS), "duration": rng.choice(["PT1H", None, 3])}
    elif choice == 3:
        doc[rng.choice(["reportName", "clientName", "eventID", "id"])] = rng.choice(_NAMES)
    elif choice == 4:
        descriptor[rng.choice(["accuracy", "confidence"])] = rng.choice(
            [1, 1.5, 0.25, True, "1", 1e-9, None, 2.0]
        )
    elif choice == 5:
        descriptor["objectType"] = rng.choice(["EVENT_PAYLOAD_DESCRIPTOR", "X", None])
    elif choice == 6:
        descriptor.pop("objectType", None)
    elif choice == 7:
        rng.choice([doc, resource, interval, descriptor, interval["payloads"][0]])["extra"] = rng.choice(
            [1, "x", None]
        )
    elif choice == 8:
        doc["report_name"] = "snake"  # populate_by_name: the model reads python names too
        if rng.random() < 0.5:
            doc.pop("reportName", None)
    elif choice == 9:
        interval["id"] = rng.choice([1.0, True, -1, 2**40, "1"])
    elif choice == 10:
        doc.pop("payloadDescriptors", None)
    elif choice == 11:
        resource.pop("intervalPeriod", None)
    elif choice == 12:
        resource.setdefault("intervalPeriod", {})["randomizeStart"] = rng.choice(["PT5M", None, ""])
    elif choice == 13:
        interval["payloads"].append(
            {"type": rng.choice(["PRICE", "USAGE", "X_PRIVATE"]), "values": [rng.choice(_VALUES)]}
        )
    elif choice == 14:
        doc["id"] = rng.choice(["client-chosen-1", "", None])
    else:
        resource["resourceName"] = rng.choice(_NAMES)


def _bodies() -> list[bytes]:
    rng = random.Random(20261204)
    found = [json.dumps(_base()).encode(), json.dumps(_base(), ensure_ascii=False).encode()]
    for _ in range(3000):
        doc = copy.deepcopy(_base())
        for _ in range(rng.randrange(1, 4)):
            _mutate(rng, doc)
        found.append(json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode())
    return found


def _by_model(body: bytes, now: datetime, scope: str | None = "client-a") -> tuple[str, Any]:
    try:
        req = oadr3_json.decode(REGISTRY, "reportRequest", ReportRequest, body)
    except OadrError as exc:
        return "error", (type(exc), str(exc), getattr(exc, "pointer", None))
    return "ok", prepare_report(req, "id-1", now, "client-a", scope)


def _by_body(body: bytes, now: datetime, scope: str | None = "client-a") -> tuple[str, Any]:
    try:
        return "ok", prepare_report_body(REGISTRY, body, "id-1", now, "client-a", scope)
    except OadrError as exc:
        return "error", (type(exc), str(exc), getattr(exc, "pointer", None))


@pytest.mark.parametrize("scope", ["client-a", None])  # a VEN's chosen id is a key; BL's is kept
def test_every_body_gives_the_models_document_or_its_error(scope: str | None) -> None:
    plain = 0
    for body in _bodies():
        expected = _by_model(body, NOW, scope)
        assert _by_body(body, NOW, scope) == expected, body
        if expected[0] == "ok":
            valid = oadr3_json.validated(REGISTRY, "reportRequest", body)
            plain += stored_report.stored_doc(body, valid, "id-1", NOW, "client-a") is not None
    assert plain > 500  # the plain form is common, the comparison above is not all fallbacks


@pytest.mark.parametrize(
    "now",
    [NOW, NOW.replace(microsecond=0), datetime(2026, 12, 4, 22, 0, tzinfo=timezone(timedelta(hours=1)))],
)
def test_the_stamped_time_is_spelled_as_the_model_spells_it(now: datetime) -> None:
    body = json.dumps(_base()).encode()
    assert _by_body(body, now) == _by_model(body, now)
    doc = oadr3_json.validated(REGISTRY, "reportRequest", body)
    assert stored_report.stored_doc(body, doc, "id-1", now, "client-a") is not None


def test_instants_are_spelled_as_pydantic_spells_them() -> None:
    """stored_report.instant_json builds a UTC instant's text itself: pydantic's, microseconds
    (trailing zeros, none, one), other offsets, naive and early years included."""
    adapter = TypeAdapter(datetime)
    rng = random.Random(20261206)
    moments = [
        NOW,
        NOW.replace(microsecond=0),
        NOW.replace(microsecond=120000),
        NOW.replace(microsecond=5),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 4, 22, 0, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 12, 4, 22, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 22, 0),
    ]
    moments += [
        datetime.fromtimestamp(rng.randrange(0, 2**34) + rng.randrange(1_000_000) / 1e6, UTC)
        for _ in range(500)
    ]
    for moment in moments:
        assert stored_report.instant_json(moment) == adapter.dump_json(moment), moment


def test_a_body_with_escapes_takes_the_model_path() -> None:
    body = json.dumps({**_base(), "reportName": "a\\u00e9"}).encode()
    doc = oadr3_json.validated(REGISTRY, "reportRequest", body)
    assert stored_report.stored_doc(body, doc, "id-1", NOW, "client-a") is None
    assert _by_body(body, NOW) == _by_model(body, NOW)
