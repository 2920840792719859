"""3.0.1 notification bodies, for subscriptions made through the 3.0.1 API.

`render` turns the 3.1 notification document the notifier builds (`vtn.services.notifier.
notification_body`, target hiding already applied) into its 3.0.1 form: `operation` as the HTTP verb
(GET/POST/PUT/DELETE, the 3.0.1 notification enum), targets as valuesMaps, and the object in its 3.0.1
shape (a report gets `programID`, which the caller resolves, as the notifier already does).

The notifier uses it for subscriptions whose `api_version` is API_VERSION: the 3.0.1 handlers mark
the subscriptions they create or replace, so a 3.0.1 client is notified in the shape it parses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.enums import ObjectType, Operation
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from vtn.oadr301 import outbound
from vtn.oadr301.targets import to_values_maps

# subscriptions.api_version of a subscription written through this API.
API_VERSION = "3.0.1"

_Render = Callable[[dict[str, Any], str | None], dict[str, Any]]

_OBJECTS: dict[ObjectType, _Render] = {
    ObjectType.PROGRAM: lambda d, _: outbound.program(Program.model_validate(d)),
    ObjectType.EVENT: lambda d, _: outbound.event(Event.model_validate(d)),
    ObjectType.REPORT: lambda d, program_id: outbound.report(Report.model_validate(d), program_id),
    ObjectType.SUBSCRIPTION: lambda d, _: outbound.subscription(Subscription.model_validate(d)),
    ObjectType.VEN: lambda d, _: outbound.ven(Ven.model_validate(d), None),
    ObjectType.RESOURCE: lambda d, _: outbound.resource(Resource.model_validate(d)),
}


def render(body31: str, program_id: str | None = None) -> str:
    """3.1 notification JSON -> 3.0.1 notification JSON (`program_id`: the program of a report)."""
    doc = json.loads(body31)
    kind = ObjectType(doc["objectType"])
    out: dict[str, Any] = {
        "objectType": kind.value,
        "operation": outbound.VERBS[Operation(doc["operation"])],
        "object": _OBJECTS[kind](doc["object"], program_id),
    }
    if doc.get("targets"):
        out["targets"] = to_values_maps(doc["targets"])
    return json.dumps(out, separators=(",", ":"))
