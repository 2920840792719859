"""`ObjectMetadata.stamped` makes the object a validated request and its stamp make, without the
dump-and-validate round trip it replaced: the same model and the same stored text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.models import Event, EventRequest, Program, ProgramRequest, Subscription, SubscriptionRequest
from shared.models.base import ObjectMetadata, WireModel
from shared.wire.oadr3_json import wire_json

CREATED = datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=UTC)
MODIFIED = datetime(2026, 12, 5, 11, 30, 0, tzinfo=timezone(timedelta(hours=2)))

EVENT: dict[str, Any] = {
    "programID": "p-1",
    "eventName": "e",
    "priority": 0,
    "targets": ["group-a", "group-b"],
    "intervalPeriod": {"start": "2026-12-06T00:00:00Z", "duration": "PT1H", "randomizeStart": "PT5M"},
    "payloadDescriptors": [
        {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "units": "KWH", "currency": "EUR"}
    ],
    "reportDescriptors": [{"payloadType": "USAGE", "readingType": "DIRECT_READ", "frequency": -1}],
    "intervals": [
        {"id": j, "payloads": [{"type": "PRICE", "values": [0.25 + j, 3, "x", True]}]} for j in range(24)
    ],
}
PROGRAM: dict[str, Any] = {
    "programName": "prog",
    "programLongName": "A program",
    "targets": ["t"],
    "programDescriptions": [{"URL": "https://example.org/p"}],
    "intervalPeriod": {"start": "2026-12-06T00:00:00Z", "duration": "P1D"},
}


@pytest.mark.parametrize(
    ("model", "request_model", "doc"),
    [
        (Event, EventRequest, EVENT),
        (Event, EventRequest, {"programID": "p-2"}),
        (Program, ProgramRequest, PROGRAM),
        (Program, ProgramRequest, {"programName": "bare"}),
    ],
)
def test_stamped_is_the_round_trip(
    model: type[ObjectMetadata], request_model: type[WireModel], doc: dict[str, Any]
) -> None:
    req = request_model.model_validate(doc)
    before = model.model_validate(
        {**req.model_dump(), "id": "x-1", "created_date_time": CREATED, "modification_date_time": MODIFIED}
    )
    after = model.stamped(req, "x-1", CREATED, MODIFIED)
    assert after == before
    assert wire_json(after) == wire_json(before)
    assert after.model_dump_json(by_alias=True, exclude_none=True) == before.model_dump_json(
        by_alias=True, exclude_none=True
    )


SUBSCRIPTION: dict[str, Any] = {
    "clientName": "c",
    "programID": "p-1",
    "objectOperations": [
        {"objects": ["EVENT", "PROGRAM"], "operations": ["GET", "CREATE"], "callbackUrl": "https://h/x"},
        {"objects": ["REPORT"], "operations": ["DELETE"], "callbackUrl": "https://h/y", "bearerToken": "t"},
    ],
    "targets": ["g"],
    "secret": "hmac-key",
}


@pytest.mark.parametrize(
    "doc",
    [SUBSCRIPTION, {"clientName": "bare", "objectOperations": SUBSCRIPTION["objectOperations"][:1]}],
)
def test_stamped_subscription_is_the_round_trip(doc: dict[str, Any]) -> None:
    """With the clientID given apart, and the write-only secret kept (not written out)."""
    req = SubscriptionRequest.model_validate(doc)
    before = Subscription.model_validate(
        {
            **req.model_dump(),
            "id": "s-1",
            "created_date_time": CREATED,
            "modification_date_time": MODIFIED,
            "client_id": "ven-1",
            "secret": req.secret,
        }
    )
    after = Subscription.stamped(req, "s-1", CREATED, MODIFIED, client_id="ven-1")
    assert after == before and after.secret == doc.get("secret")
    assert wire_json(after) == wire_json(before)
    assert "secret" not in wire_json(after) and '"READ"' in wire_json(after)
