"""What differs between the 3.1.0 and 3.0.1 APIs, as far as the checks care.

Targets: 3.1.0 writes them as strings and queries `targets=`; 3.0.1 writes valuesMaps
(`{"type": "GROUP", "values": [...]}`) and queries `targetType=&targetValues=`. Reports name their
program in 3.0.1 only. Notification operations are CREATE/UPDATE/DELETE in 3.1.0, while 3.0.1
VTNs send either those or POST/PUT/DELETE. Object shapes: 3.1.0 answers are validated against
the 3.1.0 component schemas (shared/validation.py); both versions get the required-field check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import SchemaViolation
from ven.check.model import Fail, Protocol

METADATA = ("id", "createdDateTime", "modificationDateTime", "objectType")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "program": ("programName",),
    "event": ("programID", "intervals"),
    "report": ("eventID", "clientName", "resources"),
    "subscription": ("clientName", "objectOperations"),
    "ven": ("venName",),
    "notification": ("objectType", "operation", "object"),
}
_OBJECT_TYPE = {
    "program": "PROGRAM",
    "event": "EVENT",
    "report": "REPORT",
    "subscription": "SUBSCRIPTION",
    "ven": "VEN",
}
OPERATIONS_310 = {"CREATE": "CREATE", "UPDATE": "UPDATE", "DELETE": "DELETE"}
# 3.0.1 VTNs name the operation as 3.1 does or by its HTTP method.
OPERATIONS_301 = {**OPERATIONS_310, "POST": "CREATE", "PUT": "UPDATE"}


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Dialect:
    protocol: Protocol

    @property
    def is_310(self) -> bool:
        return self.protocol is Protocol.V310

    # -- targets ---------------------------------------------------------------------------------

    def targets(self, values: list[str]) -> Any:
        return list(values) if self.is_310 else [{"type": "GROUP", "values": list(values)}]

    def target_values(self, doc: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        for item in doc.get("targets") or []:
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict):
                found.update(str(v) for v in item.get("values") or [])
        return found

    def target_query(self, values: list[str]) -> list[tuple[str, str]]:
        if self.is_310:
            return [("targets", v) for v in values]
        return [("targetType", "GROUP"), *(("targetValues", v) for v in values)]

    # -- request bodies --------------------------------------------------------------------------

    def program(self, name: str, targets: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"programName": name}
        if targets:
            body["targets"] = self.targets(targets)
        return body

    def event(
        self, program_id: str, name: str, targets: list[str] | None = None, price: float = 0.25
    ) -> dict[str, Any]:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        body: dict[str, Any] = {
            "programID": program_id,
            "eventName": name,
            "intervalPeriod": {"start": iso(start), "duration": "PT1H"},
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [price]}]}],
        }
        if targets:
            body["targets"] = self.targets(targets)
        return body

    def report(self, event: dict[str, Any], client_name: str, value: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "eventID": event["id"],
            "clientName": client_name,
            "reportName": f"{client_name} usage",
            "resources": [
                {
                    "resourceName": "ven-check-meter",
                    "intervalPeriod": event.get("intervalPeriod")
                    or {"start": iso(datetime.now(UTC)), "duration": "PT1H"},
                    "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [value]}]}],
                }
            ],
        }
        if not self.is_310:
            body["programID"] = event["programID"]
        return body

    def subscription(
        self, client_name: str, program_id: str | None, url: str, bearer: str, objects: list[str]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "clientName": client_name,
            "objectOperations": [
                {
                    "objects": objects,
                    "operations": ["CREATE", "UPDATE", "DELETE"],
                    "callbackUrl": url,
                    "bearerToken": bearer,
                }
            ],
        }
        if program_id is not None:
            body["programID"] = program_id
        return body

    def ven_by_ven(self, name: str) -> dict[str, Any]:
        body: dict[str, Any] = {"venName": name}
        if self.is_310:
            body["objectType"] = "VEN_VEN_REQUEST"
        return body

    def ven_by_bl(self, name: str, client_id: str, targets: list[str]) -> dict[str, Any]:
        # 3.0.1 has no clientID member; VTNs that bind vens to clients take it as an extension.
        body: dict[str, Any] = {"venName": name, "clientID": client_id, "targets": self.targets(targets)}
        if self.is_310:
            body["objectType"] = "BL_VEN_REQUEST"
        return body

    def operation(self, name: Any) -> str | None:
        """The 3.1 name of a notification's operation, or None when this version has no such name."""
        table = OPERATIONS_310 if self.is_310 else OPERATIONS_301
        return table.get(name) if isinstance(name, str) else None

    # -- shapes ----------------------------------------------------------------------------------

    def check_shape(self, kind: str, doc: Any, where: str, *, registry: Any = None) -> None:
        """Fail unless `doc` is a `kind` object with its metadata and required members."""
        if not isinstance(doc, dict):
            raise Fail(f"{where}: expected a {kind} object, got {type(doc).__name__}")
        needed = _REQUIRED[kind] + (() if kind == "notification" else METADATA)
        missing = [k for k in needed if doc.get(k) in (None, "")]
        if kind == "report" and not self.is_310 and doc.get("programID") in (None, ""):
            missing.append("programID")
        if missing:
            raise Fail(f"{where}: the {kind} lacks required member(s) {', '.join(missing)}")
        expected_type = _OBJECT_TYPE.get(kind)
        if expected_type is not None and doc["objectType"] != expected_type:
            raise Fail(f"{where}: objectType is {doc['objectType']!r}, expected {expected_type!r}")
        if self.is_310 and registry is not None:
            from shared.validation import strip_nulls

            try:
                registry.validate(kind, strip_nulls(doc))
            except SchemaViolation as exc:
                raise Fail(f"{where}: not a valid 3.1.0 {kind}: {exc} (at {exc.pointer})") from exc
