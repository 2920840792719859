"""Side tables of the 2.0b profile (created by migration 0003_oadr20b).

They join the VTN's one `MetaData` so that migrations, test resets and truncation see them. The 3.1
objects stay the source of truth: a 2.0b VEN *is* a row of `vens`, its report data *are* rows of
`reports`. These tables only hold what 2.0b adds and 3.1 has no place for:

- registrations: registrationID and transport facts per ven object;
- event_versions: 2.0b's modificationNumber per 3.1 event (bumped whenever the event's
  modificationDateTime changes, and once more when it is deleted = cancelled), plus the last seen
  event document so that a deleted event can still be sent as `cancelled`;
- deliveries: per VEN and event, the version last distributed and the VEN's last optIn/optOut;
- opts: EiOpt availability schedules and event qualifications;
- report_metadata / report_requests: reports a VEN offered and what we asked of them;
- outbox: VTN-originated messages waiting for the VEN's next oadrPoll.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from vtn.storage.tables import ID, metadata


def _ven_fk(primary_key: bool = False) -> Column[str]:
    return Column(
        "ven_id",
        String(ID),
        ForeignKey("vens.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


registrations = Table(
    "oadr20b_registrations",
    metadata,
    _ven_fk(primary_key=True),
    Column("registration_id", String(64), nullable=False, unique=True),
    Column("ven_name", String(128), nullable=False),
    Column("transport_address", Text, nullable=True),
    Column("report_only", Boolean, nullable=False),
    Column("xml_signature", Boolean, nullable=False),
    Column("http_pull", Boolean, nullable=True),
    Column("registered_us", BigInteger, nullable=False),
)

event_versions = Table(
    "oadr20b_event_versions",
    metadata,
    Column("event_id", String(ID), primary_key=True),
    Column("modification_number", Integer, nullable=False),
    Column("modified_us", BigInteger, nullable=False),
    Column("market_context", Text, nullable=False),
    Column("doc", Text, nullable=False),
    Column("cancelled_us", BigInteger, nullable=True),
)

deliveries = Table(
    "oadr20b_deliveries",
    metadata,
    _ven_fk(primary_key=True),
    Column("event_id", String(ID), primary_key=True),
    Column("delivered_mod", Integer, nullable=True),
    Column("opt_type", String(8), nullable=True),
    Column("opt_mod", Integer, nullable=True),
    Column("response_code", Integer, nullable=True),
    Column("responded_us", BigInteger, nullable=True),
)

opts = Table(
    "oadr20b_opts",
    metadata,
    _ven_fk(primary_key=True),
    Column("opt_id", String(ID), primary_key=True),
    Column("opt_type", String(8), nullable=False),
    Column("opt_reason", String(64), nullable=False),
    Column("event_id", String(ID), nullable=True),
    Column("modification_number", Integer, nullable=True),
    Column("doc", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("cancelled_us", BigInteger, nullable=True),
)

report_metadata = Table(
    "oadr20b_report_metadata",
    metadata,
    _ven_fk(primary_key=True),
    Column("report_specifier_id", String(ID), primary_key=True),
    Column("report_name", String(64), nullable=False),
    Column("doc", Text, nullable=False),
    Column("registered_us", BigInteger, nullable=False),
)

report_requests = Table(
    "oadr20b_report_requests",
    metadata,
    Column("report_request_id", String(ID), primary_key=True),
    _ven_fk(),
    Column("report_specifier_id", String(ID), nullable=False),
    Column("event_id", String(ID), nullable=True),
    Column("doc", Text, nullable=False),
    Column("status", String(12), nullable=False),  # requested | active | cancelled
    Column("created_us", BigInteger, nullable=False),
    Index("ix_oadr20b_report_requests_ven_id", "ven_id"),
)

outbox = Table(
    "oadr20b_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    _ven_fk(),
    Column("tag", String(48), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("delivered_us", BigInteger, nullable=True),
    Index("ix_oadr20b_outbox_ven_id_delivered_us_id", "ven_id", "delivered_us", "id"),
)
