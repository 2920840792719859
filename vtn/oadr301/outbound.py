"""3.1 domain objects -> OpenADR 3.0.1 response documents (what the 3.0.1 API sends).

Strict in what it sends: every document satisfies the 3.0.1 response schemas, 3.1-only members are
left out (`clientID`, event `duration`, `reportDescriptor.reportIntervals`, program attributes 3.0.1
has no field for). See docs/interop.md, "OpenADR 3.0.1 API", for the full list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.enums import Operation
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from shared.wire.oadr3_json import encode_loaded, parse_stored
from vtn.oadr301.targets import to_values_maps

# 3.0.1 program fields that 3.1 expresses as program attributes (3.1 Definition, Program Attributes).
PROGRAM_FIELDS: dict[str, str] = {
    "programLongName": "PROGRAM_LONG_NAME",
    "retailerName": "RETAILER_NAME",
    "retailerLongName": "RETAILER_LONG_NAME",
    "programType": "PROGRAM_TYPE",
    "country": "COUNTRY",
    "principalSubdivision": "PRINCIPAL_SUBDIVISION",
    # Not enumerated in 3.1: a private attribute type of ours.
    "timeZoneOffset": "TIME_ZONE_OFFSET",
    "bindingEvents": "BINDING_EVENTS",
    "localPrice": "LOCAL",
}
ATTRIBUTE_FIELDS = {attr: name for name, attr in PROGRAM_FIELDS.items()}

# 3.0.1 requires intervalPeriod.start; 3.1 made it optional. 0001-01-01 is 3.1's "now".
NOW_SENTINEL = "0001-01-01T00:00:00Z"

# Notifications (and, for interoperability, subscriptions) in 3.0.x spell operations as HTTP verbs.
VERBS: dict[Operation, str] = {
    Operation.READ: "GET",
    Operation.CREATE: "POST",
    Operation.UPDATE: "PUT",
    Operation.DELETE: "DELETE",
}


def _period(doc: dict[str, Any], key: str = "intervalPeriod") -> None:
    period = doc.get(key)
    if isinstance(period, dict) and "start" not in period:
        doc[key] = {"start": NOW_SENTINEL, **period}


def _intervals(doc: dict[str, Any]) -> None:
    for interval in doc.get("intervals") or []:
        _period(interval)


def _targets(doc: dict[str, Any]) -> None:
    if "targets" in doc:
        doc["targets"] = to_values_maps(doc["targets"])


def program(obj: Program) -> dict[str, Any]:
    return program_doc(obj.to_wire())


def program_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """`program` of a program's 3.1 wire document (changed in place and returned)."""
    for attr in doc.pop("attributes", None) or []:
        name = ATTRIBUTE_FIELDS.get(attr["type"])
        if name is not None and name not in doc and len(attr["values"]) == 1:
            doc[name] = attr["values"][0]
    _period(doc)
    _targets(doc)
    return doc


def event(obj: Event) -> dict[str, Any]:
    return event_doc(obj.to_wire())


def event_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """`event` of an event's 3.1 wire document (changed in place and returned)."""
    doc.pop("duration", None)
    _period(doc)
    _targets(doc)
    for descriptor in doc.get("reportDescriptors") or []:
        descriptor.pop("reportIntervals", None)
        _targets(descriptor)
    doc.setdefault("intervals", [])  # required in 3.0.1
    _intervals(doc)
    return doc


def report(obj: Report, program_id: str | None) -> dict[str, Any]:
    return report_doc(obj.to_wire(), program_id)


def stored_report(text: str, program_id: str | None) -> dict[str, Any]:
    """report() of the report stored as `text` (its wire JSON, what to_wire() gives as a
    document), without building the typed report."""
    return report_doc(parse_stored(text), program_id)


def stored_report_answer(text: str, client_id: str, program_id: str | None, known_canonical: bool) -> bytes:
    """The answer encode_loaded(stored_report(text, program_id)) spells, for a report just stored as
    `text` by `client_id`; `known_canonical`: `text` is json.dumps' spelling of its document.

    Why: parsing the stored text back, converting it and encoding it again cost ~15 µs of a 3.0.1
    POST /reports. When the text is canonical, ends with its `clientID` member (as the plain path,
    shared/wire/stored_report.py, writes it) and every `intervalPeriod` in it has its start (the only
    members report_doc would add to), the answer is the text with `clientID` cut and `programID` put
    in its place: the same bytes. Anything else goes the long way.
    """
    tail = f',"clientID":{encode_loaded(client_id).decode()}}}'
    if known_canonical and text.endswith(tail) and text.count(_PERIOD) == text.count(_PERIOD_WITH_START):
        head = text[: -len(tail)]
        if program_id is None:
            return f"{head}}}".encode()
        return f'{head},"programID":{encode_loaded(program_id).decode()}}}'.encode()
    return encode_loaded(stored_report(text, program_id))


# In a canonical document a quote inside a string is escaped, so these are member names (or a
# string ending in an escaped quote, which only makes the counts differ: the long way).
_PERIOD = '"intervalPeriod":{'
_PERIOD_WITH_START = '"intervalPeriod":{"start":'


def report_doc(doc: dict[str, Any], program_id: str | None) -> dict[str, Any]:
    """`report` of a report's 3.1 wire document (changed in place and returned)."""
    doc.pop("clientID", None)
    if program_id is not None:
        doc["programID"] = program_id
    for res in doc.get("resources") or []:
        _period(res)
        _intervals(res)
    return doc


def subscription(obj: Subscription) -> dict[str, Any]:
    return subscription_doc(obj.to_wire())


def subscription_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """`subscription` of a subscription's 3.1 wire document (changed in place and returned)."""
    doc.pop("clientID", None)
    for wire in doc["objectOperations"]:
        wire["operations"] = [VERBS[Operation(o)] for o in wire["operations"]]
        wire.setdefault("bearerToken", None)
    _targets(doc)
    return doc


def resource(obj: Resource) -> dict[str, Any]:
    return resource_doc(obj.to_wire())


def resource_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """`resource` of a resource's 3.1 wire document (changed in place and returned)."""
    doc.pop("clientID", None)
    _targets(doc)
    return doc


def ven(obj: Ven, resources: Sequence[Resource] | None) -> dict[str, Any]:
    """A 3.0.1 ven embeds its resources; None (notifications) leaves `resources` out."""
    return ven_doc(obj.to_wire(), None if resources is None else [r.to_wire() for r in resources])


def ven_doc(doc: dict[str, Any], resources: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    """`ven` of a ven's and its resources' 3.1 wire documents (changed in place; the ven's returned)."""
    doc.pop("clientID", None)
    _targets(doc)
    if resources is not None:
        doc["resources"] = [resource_doc(r) for r in resources]
    return doc
