"""OpenADR 3.0.1 request documents -> 3.1 request documents (what the 3.0.1 API accepts).

Input is a 3.0.1 body already checked by vtn.oadr301.schema (nulls stripped). The output is a 3.1
request document that the caller validates again with the 3.1 registry before any write.
Liberal in what it accepts: VTN-provisioned members (`id`, `createdDateTime`, `objectType`, ...)
are ignored, missing payload-descriptor `objectType`s are filled in, a naive `intervalPeriod.start`
is read as UTC and the 3.0 "now" (`0000-00-00`) as 3.1's `0001-01-01`.

On PUT, members that 3.1 has and 3.0.1 cannot express are carried over from the stored object:
event `duration`, `reportDescriptors[].reportIntervals` (same position and payloadType), and
program attributes of types that are not 3.0.1 program fields.
"""

from __future__ import annotations

import re
from typing import Any

from shared.models import Event, Program, Ven
from shared.models.ven import BL_RESOURCE_REQUEST, BL_VEN_REQUEST, VEN_RESOURCE_REQUEST, VEN_VEN_REQUEST
from vtn.oadr301.outbound import NOW_SENTINEL, PROGRAM_FIELDS
from vtn.oadr301.targets import to_strings
from vtn.principal import Principal

_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?\Z")
_REPORT_ONLY = ("readingType", "accuracy", "confidence")


def _start(value: str) -> str:
    if value.startswith("0000-00-00"):
        return NOW_SENTINEL
    return value + "Z" if _NAIVE.match(value) else value


def _period(period: Any) -> Any:
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        return {**period, "start": _start(period["start"])}
    return period


def _intervals(intervals: Any) -> Any:
    if not isinstance(intervals, list):
        return intervals
    # Most bodies give intervals no period of their own: the list itself then (a report has 24+).
    if not any("intervalPeriod" in i for i in intervals):
        return intervals
    return [
        {**i, "intervalPeriod": _period(i["intervalPeriod"])} if "intervalPeriod" in i else i
        for i in intervals
    ]


def _pick(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: doc[n] for n in names if n in doc}


def _with_targets(out: dict[str, Any], doc: dict[str, Any], pointer: str = "/targets") -> dict[str, Any]:
    if "targets" in doc:
        out["targets"] = to_strings(doc["targets"], pointer)
    return out


def _descriptor_type(descriptor: dict[str, Any], default: str) -> dict[str, Any]:
    if "objectType" in descriptor:
        return descriptor
    kind = "REPORT_PAYLOAD_DESCRIPTOR" if any(k in descriptor for k in _REPORT_ONLY) else default
    return {**descriptor, "objectType": kind}


def program(doc: dict[str, Any], old: Program | None = None) -> dict[str, Any]:
    out = _pick(doc, "programName", "programDescriptions")
    if "intervalPeriod" in doc:
        out["intervalPeriod"] = _period(doc["intervalPeriod"])
    if "payloadDescriptors" in doc:
        out["payloadDescriptors"] = [
            _descriptor_type(d, "EVENT_PAYLOAD_DESCRIPTOR") for d in doc["payloadDescriptors"]
        ]
    attributes = [
        {"type": attr, "values": [doc[name]]} for name, attr in PROGRAM_FIELDS.items() if name in doc
    ]
    if old is not None and old.attributes:
        mapped = set(PROGRAM_FIELDS.values())
        attributes += [a.to_wire() for a in old.attributes if a.type not in mapped]
    if attributes:
        out["attributes"] = attributes
    return _with_targets(out, doc)


def event(doc: dict[str, Any], old: Event | None = None) -> dict[str, Any]:
    out = _pick(doc, "programID", "eventName", "priority")
    if "intervalPeriod" in doc:
        out["intervalPeriod"] = _period(doc["intervalPeriod"])
    if "intervals" in doc:
        out["intervals"] = _intervals(doc["intervals"])
    if "payloadDescriptors" in doc:
        out["payloadDescriptors"] = [
            {**d, "objectType": "EVENT_PAYLOAD_DESCRIPTOR"} for d in doc["payloadDescriptors"]
        ]
    if "reportDescriptors" in doc:
        kept = list(old.report_descriptors or []) if old is not None else []
        descriptors = []
        for i, d in enumerate(doc["reportDescriptors"]):
            new = _with_targets(
                {k: v for k, v in d.items() if k != "targets"}, d, f"/reportDescriptors/{i}/targets"
            )
            if i < len(kept) and kept[i].payload_type == d["payloadType"]:
                new["reportIntervals"] = kept[i].report_intervals.value
            descriptors.append(new)
        out["reportDescriptors"] = descriptors
    if old is not None and old.duration is not None:
        out["duration"] = old.duration
    return _with_targets(out, doc)


def report(doc: dict[str, Any]) -> dict[str, Any]:
    """The 3.1 report request; the caller checks `programID` (not part of a 3.1 report)."""
    out = _pick(doc, "eventID", "clientName", "reportName")
    if "payloadDescriptors" in doc:
        out["payloadDescriptors"] = [
            {**d, "objectType": "REPORT_PAYLOAD_DESCRIPTOR"} for d in doc["payloadDescriptors"]
        ]
    out["resources"] = [
        {
            **_pick(r, "resourceName"),
            **({"intervalPeriod": _period(r["intervalPeriod"])} if "intervalPeriod" in r else {}),
            "intervals": _intervals(r["intervals"]),
        }
        for r in doc["resources"]
    ]
    return out


def subscription(doc: dict[str, Any]) -> dict[str, Any]:
    out = _pick(doc, "clientName", "programID")
    out["objectOperations"] = [
        _pick(op, "objects", "operations", "callbackUrl", "bearerToken") for op in doc["objectOperations"]
    ]
    return _with_targets(out, doc)


def ven(doc: dict[str, Any], who: Principal, old: Ven | None = None) -> dict[str, Any]:
    """A BL writes BL_VEN_REQUEST (clientID: the body's extension member, else the stored one, else
    the BL's own); a VEN writes VEN_VEN_REQUEST, and any targets it sends are ignored (3.1 rule)."""
    out = _pick(doc, "venName", "attributes")
    if not who.is_bl:
        return {"objectType": VEN_VEN_REQUEST, **out}
    client_id = doc.get("clientID") or (old.client_id if old is not None else who.client_id)
    return _with_targets({"objectType": BL_VEN_REQUEST, "clientID": client_id, **out}, doc)


def resource(doc: dict[str, Any], ven_id: str, who: Principal, ven_client_id: str) -> dict[str, Any]:
    out = {"venID": ven_id, **_pick(doc, "resourceName", "attributes")}
    if not who.is_bl:
        return {"objectType": VEN_RESOURCE_REQUEST, **out}
    return _with_targets({"objectType": BL_RESOURCE_REQUEST, "clientID": ven_client_id, **out}, doc)
