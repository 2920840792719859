"""The 3.0.1 translation layer without HTTP: target mapping, request schema, notification bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.enums import Operation
from shared.errors import BadRequest, SchemaViolation
from shared.models import Event, Report, Subscription
from vtn.oadr301 import schema
from vtn.oadr301 import targets as tmap
from vtn.oadr301.notifications import render
from vtn.services.matching import Verdict
from vtn.services.notifier import notification_body

SCHEMAS = schema.RequestSchemas()

NOW = datetime(2030, 1, 1, tzinfo=UTC)
META = {"id": "x1", "createdDateTime": NOW, "modificationDateTime": NOW}


def test_target_mapping_round_trips() -> None:
    strings = ["g1", "GROUP:x", "VEN_NAME:v1", "VEN_NAME:v2", "a:b", "http://h/x", "g2"]
    maps = tmap.to_values_maps(strings)
    assert maps == [
        {"type": "GROUP", "values": ["g1", "GROUP:x"]},
        {"type": "VEN_NAME", "values": ["v1", "v2"]},
        {"type": "GROUP", "values": ["a:b", "http://h/x", "g2"]},
    ]
    assert tmap.to_strings(maps) == strings
    assert tmap.to_strings([{"type": "POWER_SERVICE_LOCATION", "values": [42]}]) == [
        "POWER_SERVICE_LOCATION:42"
    ]


@pytest.mark.parametrize(
    "bad",
    [
        [{"type": "group", "values": ["x"]}],
        [{"type": "GROUP", "values": ["VEN_NAME:v"]}],
        [{"type": "GROUP"}],
    ],
)
def test_target_mapping_refuses_what_has_no_31_spelling(bad: list[dict[str, Any]]) -> None:
    if "values" not in bad[0]:
        assert tmap.to_strings(bad) == []  # no values: no target
        return
    with pytest.raises(BadRequest):
        tmap.to_strings(bad)


def test_query_targets() -> None:
    assert tmap.query_targets(None, []) is None
    assert tmap.query_targets("GROUP", ["g1", "g2"]) == {"g1", "g2"}
    assert tmap.query_targets(None, ["g1"]) == {"g1"}  # no type: GROUP
    assert tmap.query_targets("VEN_NAME", ["v"]) == {"VEN_NAME:v"}


# ------------------------------------------------------------------------------------ request schema


def test_schema_strips_nulls_and_points_at_the_offending_member() -> None:
    assert SCHEMAS.validate("program", {"programName": "p", "country": None}) == {"programName": "p"}
    with pytest.raises(SchemaViolation) as err:
        SCHEMAS.validate("event", {"programID": "p", "intervals": [{"id": 0, "payloads": [{"type": ""}]}]})
    assert err.value.pointer == "/intervals/0/payloads/0/values"
    with pytest.raises(SchemaViolation) as err:
        SCHEMAS.validate("subscription", {"clientName": "c", "objectOperations": []})
    assert err.value.pointer == "/objectOperations"
    with pytest.raises(SchemaViolation):
        SCHEMAS.validate("program", {"programName": "p", "timeZoneOffset": "1 hour"})
    with pytest.raises(SchemaViolation):
        SCHEMAS.validate(
            "report", {"programID": "bad id\n", "eventID": "e", "clientName": "c", "resources": []}
        )


# ------------------------------------------------------------------------------------ notifications


def _body(operation: Operation, obj: Any, shown: list[str] | None = None) -> str:
    verdict = Verdict(True, shown, hide=shown is not None)
    return notification_body(operation, obj, verdict)


def test_notification_in_301_shape() -> None:
    event = Event.model_validate(
        {**META, "programID": "p1", "targets": ["g1", "VEN_NAME:v"], "duration": "PT1H"}
    )
    doc = json.loads(render(_body(Operation.CREATE, event, ["g1"])))
    assert doc["operation"] == "POST" and doc["objectType"] == "EVENT"
    assert doc["targets"] == [{"type": "GROUP", "values": ["g1"]}]  # target hiding kept
    assert doc["object"]["targets"] == [{"type": "GROUP", "values": ["g1"]}]
    assert doc["object"]["intervals"] == [] and "duration" not in doc["object"]


def test_notification_of_a_report_and_a_subscription() -> None:
    report = Report.model_validate(
        {**META, "eventID": "e1", "clientName": "c", "clientID": "ven-1", "resources": []}
    )
    doc = json.loads(render(_body(Operation.DELETE, report), program_id="p1"))
    assert doc["operation"] == "DELETE" and doc["object"]["programID"] == "p1"
    assert "clientID" not in doc["object"]
    sub = Subscription.model_validate(
        {
            **META,
            "clientName": "c",
            "clientID": "ven-1",
            "objectOperations": [
                {"objects": ["EVENT"], "operations": ["READ"], "callbackUrl": "https://h/x"}
            ],
        }
    )
    doc = json.loads(render(_body(Operation.UPDATE, sub)))
    assert doc["operation"] == "PUT" and doc["object"]["objectOperations"][0]["operations"] == ["GET"]
