"""The typed records of the 2.0b side tables, as the 2.0b front-end handles them (vtn/storage/oadr20b)."""

from __future__ import annotations

from vtn.storage.oadr20b.records import (
    DataPoint,
    Delivery,
    EventVersion,
    Queued,
    Registration,
    ReportMetadata,
    StoredRequest,
)

__all__ = [
    "DataPoint",
    "Delivery",
    "EventVersion",
    "Queued",
    "Registration",
    "ReportMetadata",
    "StoredRequest",
]
