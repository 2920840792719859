"""3.0.1 POST /reports writes the report prepared from the translated body (no typed model, as 3.1
reports are): the same stored document and the same answer as the model path, byte for byte."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

from shared.errors import OadrError
from shared.models import ReportRequest
from shared.validation import SchemaRegistry
from shared.wire import oadr3_json
from shared.wire.oadr3_json import encode_doc, encode_loaded
from vtn.oadr301 import inbound, outbound
from vtn.oadr301.schema import RequestSchemas
from vtn.services.reports import _stamped, prepare_report, prepare_report_doc

NOW = datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=UTC)
REGISTRY = SchemaRegistry()
SCHEMAS = RequestSchemas()


def _base() -> dict[str, Any]:
    return {
        "eventID": "4506d75e-a6bc-4108-bb12-48d68cf7519d",
        "programID": "p-1",
        "clientName": "bench-ven-000001",
        "reportName": "usage-1",
        "payloadDescriptors": [{"payloadType": "USAGE", "readingType": "DIRECT_READ", "units": "KWH"}],
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


_STARTS = ["2030-01-01T00:00:00Z", "2030-01-01T00:00", "0000-00-00T00:00:00Z", "2030-01-01T00:00:00.5Z"]
_VALUES: list[Any] = [1, 2.5, -0.0, 1e-7, 2**70, "x", True, None, {"x": 1, "y": 2}]
_NAMES: list[Any] = ["n", "", "Zähler ☀", 'q"', "back\\slash", None]


def _mutate(rng: random.Random, doc: dict[str, Any]) -> None:
    resource = doc["resources"][0]
    interval = resource["intervals"][rng.randrange(len(resource["intervals"]))]
    choice = rng.randrange(9)
    if choice == 0:
        interval["payloads"][0]["values"] = [rng.choice(_VALUES)]
    elif choice == 1:
        resource["intervalPeriod"]["start"] = rng.choice(_STARTS)
    elif choice == 2:
        interval["intervalPeriod"] = {"start": rng.choice(_STARTS), "duration": "PT1H"}
    elif choice == 3:
        interval["intervalPeriod"] = {"duration": "PT1H"}  # 3.0.1 answers give it a start
    elif choice == 4:
        doc[rng.choice(["reportName", "clientName"])] = rng.choice(_NAMES)
    elif choice == 5:
        for descriptor in doc.get("payloadDescriptors", []):
            descriptor["objectType"] = "REPORT_PAYLOAD_DESCRIPTOR"
    elif choice == 6:
        doc.pop("payloadDescriptors", None)
    elif choice == 7:
        doc[rng.choice(["id", "createdDateTime", "objectType"])] = "ignored"
    else:
        doc.pop("programID", None)


def _bodies() -> list[bytes]:
    rng = random.Random(20261205)
    found = [json.dumps(_base()).encode()]
    for _ in range(600):
        doc = copy.deepcopy(_base())
        for _ in range(rng.randrange(1, 4)):
            _mutate(rng, doc)
        found.append(json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode())
    return found


def _outcome(body: bytes, prepared: bool) -> tuple[str, Any]:
    try:
        doc = SCHEMAS.validate("report", json.loads(body), nulls=b"null" in body if prepared else True)
        translated = inbound.report(doc)
        if prepared:
            report = prepare_report_doc(REGISTRY, body, translated, "id-1", NOW, "client-a", "client-a")
            # The handler's answer: spliced from the stored text where it can be, else encode_loaded
            # of the converted document (orjson where it spells as json.dumps); both the same bytes.
            answer = outbound.stored_report_answer(report.doc, "client-a", "p-1", report.canonical)
            assert answer == encode_loaded(outbound.stored_report(report.doc, "p-1"))
            return "ok", (report, answer)
        # The model path 3.0.1 POST /reports took before: decode, stamp, answer from the model.
        req = oadr3_json.decode_doc(REGISTRY, "reportRequest", ReportRequest, translated)
        stamp = {"id": "id-1", "created_date_time": NOW, "modification_date_time": NOW}
        answer = encode_doc(outbound.report(_stamped(req, stamp, "client-a"), "p-1"))
        return "ok", (prepare_report(req, "id-1", NOW, "client-a", "client-a"), answer)
    except OadrError as exc:
        return "error", (type(exc), str(exc), getattr(exc, "pointer", None))


def test_prepared_301_reports_store_and_answer_what_the_model_path_did() -> None:
    ok = 0
    for body in _bodies():
        expected = _outcome(body, prepared=False)
        assert _outcome(body, prepared=True) == expected, body
        ok += expected[0] == "ok"
    assert ok > 200


def _prepared(doc: dict[str, Any], client_id: str = "client-a") -> Any:
    body = json.dumps(doc).encode()
    valid = SCHEMAS.validate("report", json.loads(body))
    return prepare_report_doc(REGISTRY, body, inbound.report(valid), "id-1", NOW, client_id, client_id)


def test_answer_spliced_from_the_stored_text_is_the_converted_answer() -> None:
    """Each case the splice must leave to the long way (a start to add, no programID, odd spellings of
    the clientID or programID), and the plain case, answer the converted document's bytes."""
    starts_missing = _base()
    starts_missing["resources"][0]["intervals"][3]["intervalPeriod"] = {"duration": "PT1H"}
    odd_name = _base()
    odd_name["reportName"] = 'x\\"intervalPeriod":{"start":'
    cases = [
        (_base(), "client-a"),
        (starts_missing, "client-a"),
        (odd_name, "client-a"),
        (_base(), 'c"\\é\x7f'),
    ]
    spliced = 0
    for doc, client in cases:
        report = _prepared(doc, client)
        for program_id in ("p-1", None, 'p"\\ü\x01', "p\x7f"):
            expected = encode_loaded(outbound.stored_report(report.doc, program_id))
            answer = outbound.stored_report_answer(report.doc, client, program_id, report.canonical)
            assert answer == expected, (doc, client, program_id)
            # A text its writer did not find canonical is never spliced.
            assert outbound.stored_report_answer(report.doc, client, program_id, False) == expected
            spliced += answer.endswith(b'"programID":"p-1"}') and b'"clientID"' not in answer
    assert spliced >= 2  # the plain case (and the odd reportName) took the splice
