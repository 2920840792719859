"""Typed records of the 2.0b side tables (what vtn/storage/oadr20b/store.py hands to the services)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Registration:
    ven_id: str
    registration_id: str
    ven_name: str
    report_only: bool = False
    xml_signature: bool = False
    http_pull: bool | None = True
    transport_address: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    """Per VEN and event: the version last distributed and the VEN's last answer to it."""

    event_id: str
    delivered_mod: int | None = None
    opt_type: str | None = None
    opt_mod: int | None = None
    response_code: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EventVersion:
    event_id: str
    modification_number: int
    market_context: str
    doc: str  # the 3.1 event JSON last seen
    cancelled: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class DataPoint:
    """What one rID of a registered report measures, as 3.1 needs it for its report payloads."""

    r_id: str
    resource_name: str
    report_type: str
    reading_type: str
    item_kind: str | None = None
    units: str | None = None
    scale: str | None = None
    min_period_s: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportMetadata:
    ven_id: str
    report_specifier_id: str
    report_name: str
    points: tuple[DataPoint, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredRequest:
    report_request_id: str
    ven_id: str
    report_specifier_id: str
    r_ids: tuple[str, ...]
    granularity_s: float
    report_back_s: float
    status: str  # requested | active | cancelled
    event_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Queued:
    """A VTN-originated message waiting for the VEN's next poll (body = the XML document)."""

    id: int
    tag: str
    body: bytes
