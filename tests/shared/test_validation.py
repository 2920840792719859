"""shared.validation: our OpenADR 3.1.0 schemas, error pointers, nulls and enumerations."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from shared.errors import SchemaViolation
from shared.validation import SchemaRegistry, json_pointer, strip_nulls

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "shared" / "schemas"
OPENAPI = SCHEMAS / "openadr3" / "3.1.0" / "openapi.json"
ENUMERATIONS = SCHEMAS / "openadr3" / "3.1.0" / "enumerations"
EXAMPLES = json.loads((ROOT / "tests" / "fixtures" / "openadr3_examples.json").read_text(encoding="utf-8"))

T0 = "2024-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry()


def violation(registry: SchemaRegistry, schema: str, doc: Any) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as info:
        registry.validate(schema, doc)
    return info.value


# ---------------------------------------------------------------------- documents


def interval(i: int, payload_type: str = "PRICE", values: list[Any] | None = None) -> dict[str, Any]:
    return {"id": i, "payloads": [{"type": payload_type, "values": values if values is not None else [0.1]}]}


MINIMAL: dict[str, Any] = {
    "programRequest": {"programName": "p1"},
    "eventRequest": {"programID": "program-1"},
    "reportRequest": {"eventID": "event-1", "clientName": "ven-1", "resources": []},
    "subscriptionRequest": {"clientName": "ven-1", "objectOperations": []},
    "BlVenRequest": {"objectType": "BL_VEN_REQUEST", "clientID": "client-1", "venName": "ven-1"},
    "VenVenRequest": {"objectType": "VEN_VEN_REQUEST", "venName": "ven-1"},
    "BlResourceRequest": {
        "objectType": "BL_RESOURCE_REQUEST",
        "clientID": "client-1",
        "resourceName": "r1",
        "venID": "ven-1",
    },
    "VenResourceRequest": {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "r1", "venID": "ven-1"},
    "clientCredentialRequest": {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"},
}
MINIMAL["venRequest"] = MINIMAL["VenVenRequest"]
MINIMAL["resourceRequest"] = MINIMAL["VenResourceRequest"]

PERIOD = {"start": T0, "duration": "PT1H", "randomizeStart": "PT5M"}
ATTRIBUTES = [{"type": "LOCATION", "values": [40.57, -73.96]}, {"type": "DESCRIPTION", "values": ["meter"]}]

FULL: dict[str, Any] = {
    "programRequest": {
        "programName": "p1",
        "intervalPeriod": PERIOD,
        "programDescriptions": [{"URL": "https://example.com/program"}],
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "PRICE",
                "units": "KWH",
                "currency": "USD",
            },
            {
                "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                "payloadType": "USAGE",
                "readingType": "DIRECT_READ",
                "units": "KWH",
                "accuracy": 0.5,
                "confidence": 100,
            },
        ],
        "attributes": [{"type": "BINDING_EVENTS", "values": [True]}],
        "targets": ["group-1", "group-2"],
    },
    "eventRequest": {
        "programID": "program-1",
        "eventName": "day-ahead",
        "duration": "P9999Y",
        "priority": 0,
        "targets": ["group-1"],
        "reportDescriptors": [
            {
                "payloadType": "USAGE",
                "readingType": "DIRECT_READ",
                "units": "KWH",
                "targets": ["group-1"],
                "aggregate": False,
                "startInterval": -1,
                "numIntervals": -1,
                "historical": True,
                "frequency": -1,
                "repeat": 1,
                "reportIntervals": "SUB_INTERVALS",
            }
        ],
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "PRICE",
                "units": "KWH",
                "currency": "USD",
            }
        ],
        "intervalPeriod": {"start": "0001-01-01", "duration": "PT1H"},
        "intervals": [
            {"id": 0, "intervalPeriod": PERIOD, "payloads": [{"type": "PRICE", "values": [0.17, 0.2]}]},
            {"id": 7, "payloads": [{"type": "CURVE", "values": [{"x": 1.0, "y": 2}, {"x": 2, "y": 3.5}]}]},
            {"id": -3, "payloads": [{"type": "PRIVATE", "values": ["a", 1, 2.5, True]}]},
        ],
    },
    "reportRequest": {
        "eventID": "event-1",
        "clientName": "ven-1",
        "reportName": "usage",
        "payloadDescriptors": [
            {
                "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                "payloadType": "USAGE",
                "readingType": "DIRECT_READ",
                "units": "KWH",
                "accuracy": 0.0,
                "confidence": 0,
            }
        ],
        "resources": [
            {
                "resourceName": "AGGREGATED_REPORT",
                "intervalPeriod": PERIOD,
                "intervals": [interval(0, "USAGE", [1.5]), interval(1, "DATA_QUALITY", ["MISSING"])],
            }
        ],
    },
    "subscriptionRequest": {
        "clientName": "ven-1",
        "programID": "program-1",
        "objectOperations": [
            {
                "objects": ["PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE"],
                "operations": ["READ", "CREATE", "UPDATE", "DELETE", "GET", "POST", "PUT"],
                "callbackUrl": "https://ven.example.com/callback",
                "bearerToken": "token",
            }
        ],
        "targets": ["group-1"],
        "secret": "x" * 256,
    },
    "BlVenRequest": {
        "objectType": "BL_VEN_REQUEST",
        "id": "ven-1",
        "clientID": "client-1",
        "targets": ["group-1"],
        "venName": "ven-1",
        "attributes": ATTRIBUTES,
    },
    "VenVenRequest": {
        "objectType": "VEN_VEN_REQUEST",
        "id": "ven_1",
        "venName": "ven-1",
        "attributes": ATTRIBUTES,
    },
    "BlResourceRequest": {
        "objectType": "BL_RESOURCE_REQUEST",
        "id": "r-1",
        "clientID": "client-1",
        "targets": ["t"],
        "resourceName": "r1",
        "venID": "ven-1",
        "attributes": ATTRIBUTES,
    },
    "VenResourceRequest": {
        "objectType": "VEN_RESOURCE_REQUEST",
        "id": "R" * 128,
        "resourceName": "r1",
        "venID": "ven-1",
        "attributes": ATTRIBUTES,
    },
    "clientCredentialRequest": {
        "grant_type": "client_credentials",
        "client_id": "c",
        "client_secret": "s",
        "scope": "read_all write_events",
    },
}
FULL["venRequest"] = FULL["BlVenRequest"]
FULL["resourceRequest"] = FULL["BlResourceRequest"]

METADATA = {"id": "obj-1", "createdDateTime": T0, "modificationDateTime": "2024-06-01T02:00:00.123+02:00"}


@pytest.mark.parametrize("schema", sorted(MINIMAL))
def test_minimal_request_documents_pass(registry: SchemaRegistry, schema: str) -> None:
    registry.validate(schema, MINIMAL[schema])
    assert registry.is_valid(schema, MINIMAL[schema])


@pytest.mark.parametrize("schema", sorted(FULL))
def test_full_request_documents_pass(registry: SchemaRegistry, schema: str) -> None:
    registry.validate(schema, FULL[schema])


@pytest.mark.parametrize(
    ("schema", "body", "object_type", "extra"),
    [
        ("program", "programRequest", "PROGRAM", {}),
        ("event", "eventRequest", "EVENT", {}),
        ("report", "reportRequest", "REPORT", {"clientID": "client-1"}),
        ("subscription", "subscriptionRequest", "SUBSCRIPTION", {"clientID": "client-1"}),
        ("ven", "BlVenRequest", "VEN", {}),
        ("resource", "BlResourceRequest", "RESOURCE", {}),
    ],
)
def test_response_documents_pass(
    registry: SchemaRegistry, schema: str, body: str, object_type: str, extra: dict[str, Any]
) -> None:
    doc = {**FULL[body], **METADATA, **extra, "objectType": object_type}
    registry.validate(schema, doc)
    wrong = {**doc, "objectType": "PROGRAM" if object_type != "PROGRAM" else "EVENT"}
    assert violation(registry, schema, wrong).pointer == "/objectType"


def test_subscription_response_does_not_require_secret(registry: SchemaRegistry) -> None:
    doc = {**FULL["subscriptionRequest"], **METADATA, "objectType": "SUBSCRIPTION", "clientID": "c"}
    del doc["secret"]
    registry.validate("subscription", doc)


def test_metadata_in_request_bodies_is_ignored(registry: SchemaRegistry) -> None:
    # A client may PUT back what it read; the VTN ignores metadata, so validation must not trip on it.
    doc = {**FULL["eventRequest"], "id": "not an id!", "objectType": "EVENT", "createdDateTime": 5}
    registry.validate("eventRequest", doc)


def test_unknown_properties_are_allowed(registry: SchemaRegistry) -> None:
    registry.validate("programRequest", {"programName": "p", "myPrivateObject": {"anything": [1]}})


# ---------------------------------------------------------------------- bad input -> pointer


def with_(schema: str, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(FULL[schema]), **changes}


BAD: list[tuple[str, str, Any, str, str]] = [
    # (case, schema, document, pointer, fragment of detail)
    ("missing required", "programRequest", {}, "/programName", "'programName' is a required property"),
    (
        "missing nested required",
        "eventRequest",
        with_("eventRequest", intervals=[{"id": 1}]),
        "/intervals/0/payloads",
        "required",
    ),
    ("wrong type", "eventRequest", with_("eventRequest", programID=5), "/programID", "not of type 'string'"),
    (
        "wrong type in array",
        "eventRequest",
        with_("eventRequest", intervals=[{"id": "a", "payloads": []}]),
        "/intervals/0/id",
        "not of type 'integer'",
    ),
    ("boolean is no integer", "eventRequest", with_("eventRequest", priority=True), "/priority", "integer"),
    ("priority -1", "eventRequest", with_("eventRequest", priority=-1), "/priority", "minimum of 0"),
    (
        "interval id beyond int32",
        "eventRequest",
        with_("eventRequest", intervals=[interval(2**31)]),
        "/intervals/0/id",
        "maximum",
    ),
    (
        "confidence 101",
        "reportRequest",
        with_(
            "reportRequest",
            payloadDescriptors=[
                {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "confidence": 101}
            ],
        ),
        "/payloadDescriptors/0/confidence",
        "maximum of 100",
    ),
    (
        "empty programName",
        "programRequest",
        {"programName": ""},
        "/programName",
        "too short: 0 characters, at least 1",
    ),
    ("programName too long", "programRequest", {"programName": "p" * 129}, "/programName", "too long"),
    (
        "empty target",
        "programRequest",
        {"programName": "p", "targets": ["ok", ""]},
        "/targets/1",
        "too short",
    ),
    ("target too long", "eventRequest", with_("eventRequest", targets=["t" * 129]), "/targets/0", "too long"),
    (
        "secret too long",
        "subscriptionRequest",
        with_("subscriptionRequest", secret="s" * 257),
        "/secret",
        "too long",
    ),
    ("empty secret", "subscriptionRequest", with_("subscriptionRequest", secret=""), "/secret", "too short"),
    (
        "bad duration",
        "eventRequest",
        with_("eventRequest", duration="PT1X"),
        "/duration",
        "not an ISO 8601 duration",
    ),
    (
        "duration without P",
        "eventRequest",
        with_("eventRequest", intervalPeriod={"duration": "1H"}),
        "/intervalPeriod/duration",
        "duration",
    ),
    (
        "non-ASCII digit in duration",
        "eventRequest",
        with_("eventRequest", duration="PT\uff11H"),
        "/duration",
        "duration",
    ),
    (
        "bad randomizeStart",
        "eventRequest",
        with_(
            "eventRequest",
            intervals=[{"id": 0, "intervalPeriod": {"randomizeStart": "5 min"}, "payloads": []}],
        ),
        "/intervals/0/intervalPeriod/randomizeStart",
        "duration",
    ),
    (
        "naive timestamp",
        "eventRequest",
        with_("eventRequest", intervalPeriod={"start": "2024-01-01T00:00:00"}),
        "/intervalPeriod/start",
        "RFC 3339",
    ),
    (
        "month 13",
        "eventRequest",
        with_("eventRequest", intervalPeriod={"start": "2024-13-01T00:00:00Z"}),
        "/intervalPeriod/start",
        "RFC 3339",
    ),
    (
        "trailing newline",
        "eventRequest",
        with_("eventRequest", intervalPeriod={"start": T0 + "\n"}),
        "/intervalPeriod/start",
        "RFC 3339",
    ),
    (
        "naive metadata timestamp",
        "program",
        {"programName": "p", **METADATA, "objectType": "PROGRAM", "createdDateTime": "2024-01-01T00:00:00"},
        "/createdDateTime",
        "RFC 3339",
    ),
    ("bad objectID", "eventRequest", with_("eventRequest", programID="a b"), "/programID", "not an objectID"),
    (
        "objectID with newline",
        "reportRequest",
        with_("reportRequest", eventID="e1\n"),
        "/eventID",
        "objectID",
    ),
    ("objectID too long", "reportRequest", with_("reportRequest", eventID="e" * 129), "/eventID", "too long"),
    ("bad client-chosen id", "venRequest", with_("VenVenRequest", id="a b"), "/id", "objectID"),
    (
        "unknown objectType in venRequest",
        "venRequest",
        with_("VenVenRequest", objectType="VEN"),
        "/objectType",
        "is not one of",
    ),
    ("missing objectType in venRequest", "venRequest", {"venName": "v"}, "/objectType", "required"),
    (
        "VEN_VEN_REQUEST field error",
        "venRequest",
        with_("VenVenRequest", venName=5),
        "/venName",
        "not of type 'string'",
    ),
    (
        "BL_VEN_REQUEST missing clientID",
        "venRequest",
        {"objectType": "BL_VEN_REQUEST", "venName": "v"},
        "/clientID",
        "'clientID' is a required property",
    ),
    (
        "VEN_RESOURCE_REQUEST missing venID",
        "resourceRequest",
        {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "r"},
        "/venID",
        "required",
    ),
    (
        "unknown objectType in resourceRequest",
        "resourceRequest",
        with_("BlResourceRequest", objectType="X"),
        "/objectType",
        "is not one of",
    ),
    (
        "unknown payload descriptor",
        "programRequest",
        {"programName": "p", "payloadDescriptors": [{"objectType": "X", "payloadType": "PRICE"}]},
        "/payloadDescriptors/0/objectType",
        "is not one of",
    ),
    (
        "payload descriptor field",
        "programRequest",
        {
            "programName": "p",
            "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": 1}],
        },
        "/payloadDescriptors/0/payloadType",
        "not of type 'string'",
    ),
    (
        "null value in values",
        "eventRequest",
        with_("eventRequest", intervals=[interval(0, values=[None])]),
        "/intervals/0/payloads/0/values/0",
        "",
    ),
    (
        "point without y",
        "eventRequest",
        with_("eventRequest", intervals=[interval(0, values=[{"x": 1}])]),
        "/intervals/0/payloads/0/values/0/y",
        "required",
    ),
    (
        "bad reportIntervals",
        "eventRequest",
        with_("eventRequest", reportDescriptors=[{"payloadType": "USAGE", "reportIntervals": "ALL"}]),
        "/reportDescriptors/0/reportIntervals",
        "is not one of",
    ),
    (
        "bad operation",
        "subscriptionRequest",
        {
            "clientName": "c",
            "objectOperations": [{"objects": ["EVENT"], "operations": ["PATCH"], "callbackUrl": "https://h"}],
        },
        "/objectOperations/0/operations/0",
        "is not one of",
    ),
    (
        "bad object type",
        "subscriptionRequest",
        {
            "clientName": "c",
            "objectOperations": [{"objects": ["EVENTS"], "operations": ["GET"], "callbackUrl": "https://h"}],
        },
        "/objectOperations/0/objects/0",
        "is not one of",
    ),
    (
        "grant type",
        "clientCredentialRequest",
        {**MINIMAL["clientCredentialRequest"], "grant_type": "password"},
        "/grant_type",
        "is not one of",
    ),
    ("problem status 600", "problem", {"status": 600}, "/status", "600 is not less than 600"),
    ("body is no object", "programRequest", ["programName"], "", "not of type 'object'"),
    (
        "notification object",
        "notification",
        {"objectType": "EVENT", "operation": "CREATE", "object": {"objectType": "EVENT", **METADATA}},
        "/object/programID",
        "required",
    ),
]


@pytest.mark.parametrize(
    ("schema", "doc", "pointer", "detail"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input_names_the_offending_field(
    registry: SchemaRegistry, schema: str, doc: Any, pointer: str, detail: str
) -> None:
    err = violation(registry, schema, doc)
    assert err.pointer == pointer
    assert detail in (err.detail or "")
    assert err.status == 400
    assert not registry.is_valid(schema, doc)


def test_now_sentinels_are_accepted_only_as_interval_start(registry: SchemaRegistry) -> None:
    for start in ("0001-01-01", "0001-01-01T00:00:00", "0001-01-01T00:00:00Z", "2024-06-01 00:00:00.5+05:30"):
        registry.validate("intervalPeriod", {"start": start})
    bad = {"programName": "p", **METADATA, "objectType": "PROGRAM", "createdDateTime": "0001-01-01"}
    assert violation(registry, "program", bad).pointer == "/createdDateTime"


def test_long_details_are_truncated(registry: SchemaRegistry) -> None:
    err = violation(
        registry, "eventRequest", {"programID": "p", "intervals": {str(i): i for i in range(500)}}
    )
    assert err.pointer == "/intervals"
    assert len(err.detail or "") <= 240


def test_unknown_schema_is_a_programming_error(registry: SchemaRegistry) -> None:
    with pytest.raises(KeyError):
        registry.validate("nope", {})


# ---------------------------------------------------------------------- strip_nulls


def test_strip_nulls_removes_null_members_recursively() -> None:
    doc = {"a": None, "b": {"c": None, "d": 1}, "e": [None, {"f": None, "g": [None]}], "h": False, "i": 0}
    assert strip_nulls(doc) == {"b": {"d": 1}, "e": [None, {"g": [None]}], "h": False, "i": 0}
    assert doc["a"] is None and doc["b"] == {"c": None, "d": 1}  # pure: the input is untouched
    assert strip_nulls([None, 1]) == [None, 1]
    assert strip_nulls(None) is None


def test_null_optional_members_count_as_absent(registry: SchemaRegistry) -> None:
    body = {"programID": "p", "eventName": None, "intervalPeriod": None, "targets": None, "priority": None}
    registry.validate("eventRequest", strip_nulls(body))
    assert violation(registry, "eventRequest", body).pointer in {"/eventName", "/intervalPeriod", "/targets"}
    assert violation(registry, "programRequest", strip_nulls({"programName": None})).pointer == "/programName"


def test_json_pointer_escapes_rfc6901() -> None:
    assert json_pointer(["a/b", "m~n", 0]) == "/a~1b/m~0n/0"
    assert json_pointer([]) == ""


# ---------------------------------------------------------------------- spec examples


@pytest.mark.parametrize("example", EXAMPLES["valid"], ids=[e["name"] for e in EXAMPLES["valid"]])
def test_spec_examples_validate(registry: SchemaRegistry, example: dict[str, Any]) -> None:
    registry.validate(example["schema"], strip_nulls(example["document"]))


@pytest.mark.parametrize("example", EXAMPLES["invalid"], ids=[e["name"] for e in EXAMPLES["invalid"]])
def test_wrong_spec_examples_are_rejected(registry: SchemaRegistry, example: dict[str, Any]) -> None:
    err = violation(registry, example["schema"], strip_nulls(example["document"]))
    assert err.pointer == example["pointer"]


def test_multi_valued_price_example_passes_enumeration_checks(registry: SchemaRegistry) -> None:
    (example,) = [e for e in EXAMPLES["valid"] if e["name"] == "ug-7.3-1-multi-price-event"]
    registry.validate_payloads("event", example["document"])


# ---------------------------------------------------------------------- enumerations


@pytest.mark.parametrize(
    ("kind", "type_name", "values"),
    [
        ("event", "SIMPLE", [0]),
        ("event", "SIMPLE", [3]),
        ("event", "PRICE", [0.17, 0.03, 0.11]),  # sub-intervals (User Guide 7.3)
        ("event", "CONTROL_SETPOINT", [5]),  # an integer matched both number and integer under oneOf
        ("event", "CONTROL_SETPOINT", [{"x": 1, "y": 2}]),
        ("event", "CURVE", [{"x": 0.9, "y": 1}, {"x": 1.1, "y": -1}]),
        ("event", "ALERT_OTHER", ["storm"]),
        ("event", "MY_PRIVATE_TYPE", [{"anything": "goes"}]),
        ("report", "OPERATING_STATE", ["RUNNING_CURTAILED"]),
        ("report", "DATA_QUALITY", ["MISSING"]),
        ("report", "SETPOINT", [True]),
        ("program", "BINDING_EVENTS", [False]),
        ("program", "COUNTRY", ["US"]),
        ("ven", "LOCATION", [40.57, -73.96]),
        ("resource", "MAX_POWER_CONSUMPTION", [7.4]),
    ],
)
def test_enumerated_values_pass(
    registry: SchemaRegistry, kind: Any, type_name: str, values: list[Any]
) -> None:
    registry.validate_values_map(kind, type_name, values)


@pytest.mark.parametrize(
    ("kind", "type_name", "values", "pointer"),
    [
        ("event", "SIMPLE", [4], "/0"),
        ("event", "SIMPLE", [1.5], "/0"),
        ("event", "SIMPLE", [1, 2], ""),
        ("event", "SIMPLE", [], ""),
        ("event", "PRICE", ["cheap"], "/0"),
        ("event", "CURVE", [1.0], "/0"),
        ("report", "OPERATING_STATE", ["AGGREGATED_REPORT"], "/0"),
        ("report", "USAGE", [-1], "/0"),
        ("program", "BINDING_EVENTS", ["yes"], "/0"),
        ("ven", "LOCATION", [1.0], ""),
    ],
)
def test_enumerated_values_fail(
    registry: SchemaRegistry, kind: Any, type_name: str, values: list[Any], pointer: str
) -> None:
    with pytest.raises(SchemaViolation) as info:
        registry.validate_values_map(kind, type_name, values, pointer="/x/values")
    assert info.value.pointer == "/x/values" + pointer
    assert (info.value.detail or "").startswith(type_name)


def test_validate_payloads_points_into_the_document(registry: SchemaRegistry) -> None:
    event = with_("eventRequest", intervals=[interval(0, "SIMPLE", [1]), interval(1, "SIMPLE", [9])])
    registry.validate("eventRequest", event)
    with pytest.raises(SchemaViolation) as info:
        registry.validate_payloads("event", event)
    assert info.value.pointer == "/intervals/1/payloads/0/values/0"

    report = with_("reportRequest")
    report["resources"][0]["intervals"].append(interval(2, "DATA_QUALITY", ["GOOD"]))
    with pytest.raises(SchemaViolation) as info:
        registry.validate_payloads("report", report)
    assert info.value.pointer == "/resources/0/intervals/2/payloads/0/values/0"

    ven = with_("BlVenRequest", attributes=[{"type": "LOCATION", "values": [1, 2, 3]}])
    with pytest.raises(SchemaViolation) as info:
        registry.validate_payloads("ven", ven)
    assert info.value.pointer == "/attributes/0/values"

    for kind, body in (("event", "eventRequest"), ("report", "reportRequest"), ("program", "programRequest")):
        registry.validate_payloads(kind, FULL[body])


def test_enumeration_files_have_the_known_defects_fixed(registry: SchemaRegistry) -> None:
    reading = registry.enumeration_schema("reading-types")["enum"]
    assert "NORMAL" not in reading and "ERROR" not in reading and "DIRECT_READ" in reading
    states = registry.enumeration_schema("report-payloads")["definitions"]["OPERATING_STATE"]["items"]["enum"]
    assert "AGGREGATED_REPORT" not in states and "RUNNING_OPTED_OUT" in states
    assert "KWH" in registry.enumeration_schema("units")["enum"]


@pytest.mark.parametrize("path", sorted(ENUMERATIONS.glob("*.schema.json")), ids=lambda p: p.name)
def test_enumeration_files_are_self_contained_draft7(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(doc)
    assert "$ref" not in path.read_text(encoding="utf-8")  # the spec's refs pointed into openadr3.yaml
    for definition in doc.get("definitions", {}).values():
        assert definition["type"] == "array"  # valuesMap values are always an array


# ---------------------------------------------------------------------- the OpenAPI document

SPEC_COMPONENTS = {
    "programRequest", "program", "eventRequest", "event", "reportRequest", "report", "subscriptionRequest",
    "subscription", "venRequest", "ven", "BlVenRequest", "VenVenRequest", "resourceRequest", "resource",
    "BlResourceRequest", "VenResourceRequest", "objectMetadata", "interval", "intervalPeriod", "valuesMap",
    "point", "eventPayloadDescriptor", "reportPayloadDescriptor", "reportDescriptor", "objectID", "clientID",
    "venName", "clientName", "target", "resourceName", "units", "readingType", "notification", "objectTypes",
    "dateTime", "duration", "clientCredentialRequest", "clientCredentialResponse", "authError",
    "authServerInfo", "problem", "notifiersResponse", "mqttNotifierBindingObject",
}  # fmt: skip

PATHS = {
    "/programs": {"get", "post"},
    "/programs/{programID}": {"get", "put", "delete"},
    "/events": {"get", "post"},
    "/events/{eventID}": {"get", "put", "delete"},
    "/reports": {"get", "post"},
    "/reports/{reportID}": {"get", "put", "delete"},
    "/subscriptions": {"get", "post"},
    "/subscriptions/{subscriptionID}": {"get", "put", "delete"},
    "/vens": {"get", "post"},
    "/vens/{venID}": {"get", "put", "delete"},
    "/resources": {"get", "post"},
    "/resources/{resourceID}": {"get", "put", "delete"},
    "/auth/server": {"get"},
    "/auth/token": {"post"},
    "/notifiers": {"get"},
}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items() if m != "parameters"]


def test_openapi_document_is_valid_openapi_30(registry: SchemaRegistry) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(registry.openapi_document())


def test_openapi_document_shape(registry: SchemaRegistry) -> None:
    doc = registry.openapi_document()
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["version"] == "3.1.0"
    assert doc["info"]["title"] == "Energy Coordination VTN — OpenADR 3.1.0"
    assert doc["servers"][0]["url"] == "/openadr3/3.1.0"
    documented = {p: set(item) - {"parameters"} for p, item in doc["paths"].items()}
    # The spec's core operations; tests/vtn/test_openapi.py checks the document against the routes.
    assert {p: documented.get(p) for p in PATHS} == PATHS
    assert SPEC_COMPONENTS <= set(doc["components"]["schemas"]) == set(registry.schema_names())


def test_openapi_security_and_responses(registry: SchemaRegistry) -> None:
    doc = registry.openapi_document()
    scheme = doc["components"]["securitySchemes"]["oAuth2ClientCredentials"]
    declared = set(scheme["flows"]["clientCredentials"]["scopes"])
    assert "read_bl" in declared
    for path, method, op in operations(doc):
        for requirement in op.get("security", []):
            assert set(requirement) == {"oAuth2ClientCredentials"}
            assert set(requirement["oAuth2ClientCredentials"]) <= declared
        if op.get("security"):
            assert "401" in op["responses"], (method, path)
    assert doc["paths"]["/programs/{programID}"]["put"]["responses"]["401"]
    assert "security" not in doc["paths"]["/auth/server"]["get"]
    for name, response in doc["components"]["responses"].items():
        if name == "notifiersTopicsResponse":  # the one success response (MQTT topic names)
            continue
        assert set(response["content"]) == {"application/problem+json"}, name
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/problem"
        }


def test_openapi_schema_fixes_and_extensions(registry: SchemaRegistry) -> None:
    schemas = registry.openapi_document()["components"]["schemas"]
    assert schemas["BlVenRequest"]["properties"]["targets"]["default"] is None
    for name in ("BlVenRequest", "VenVenRequest", "BlResourceRequest", "VenResourceRequest"):
        ext = schemas[name]["properties"]["id"]
        assert ext["pattern"] == schemas["objectID"]["pattern"] and ext["description"].startswith(
            "Extension:"
        )
        assert "id" not in schemas[name]["required"]
    secret = schemas["subscriptionRequest"]["properties"]["secret"]
    assert secret["description"].startswith("Extension:") and secret["writeOnly"] is True
    assert "secret" not in schemas["subscriptionRequest"]["required"]
    assert schemas["problem"]["properties"]["pointer"]["description"].startswith("Extension:")
    operation = schemas["subscriptionRequest"]["properties"]["objectOperations"]["items"]["properties"]
    assert {"GET", "POST", "PUT", "DELETE", "READ"} <= set(operation["operations"]["items"]["enum"])
    assert "Extension:" in operation["operations"]["items"]["description"]
    assert "pattern" in schemas["dateTime"]
    for request in ("programRequest", "eventRequest", "reportRequest", "subscriptionRequest"):
        assert not {"id", "createdDateTime", "modificationDateTime"} & set(
            schemas[request].get("required", [])
        )


def test_translated_components_are_valid_draft7(registry: SchemaRegistry) -> None:
    for name in registry.schema_names():
        Draft7Validator.check_schema(registry.component(name))


def test_registry_caches_per_instance_and_takes_a_root(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    first, second = SchemaRegistry(tmp_path / "schemas"), SchemaRegistry()
    assert first.validator("eventRequest") is first.validator("eventRequest")
    assert first.validator("eventRequest") is not second.validator("eventRequest")
    assert first.openapi_document() == second.openapi_document()
    assert first.root == tmp_path / "schemas" and second.root == SCHEMAS
