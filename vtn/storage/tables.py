"""The VTN's tables (SQLAlchemy Core). Private to vtn/storage.

Each OpenADR object is stored as its full wire document (`doc`, JSON text) plus the columns that
queries filter, order or enforce uniqueness on. Targets live in `object_targets` so that target
filters and VEN target grants are indexed joins, not scans of JSON.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    literal_column,
    text,
)

from shared.enums import ObjectType

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 128  # spec objectID maxLength


def _object_columns() -> list[Column[object]]:
    # created_us orders lists stably (then id); doc is the wire document. `canonical`: doc was found,
    # when written, spelled as json.dumps would spell it (shared.wire.oadr3_json.canonical), so a list
    # answer joins such documents as they are; false (rows written before 0012, or by other means):
    # not known, checked when read.
    return [
        Column("id", String(ID), primary_key=True),
        Column("created_us", BigInteger, nullable=False),
        Column("modified_us", BigInteger, nullable=False),
        Column("doc", Text, nullable=False),
        Column("canonical", Boolean, nullable=False, server_default=false()),
    ]


programs = Table(
    "programs",
    metadata,
    *_object_columns(),
    Column("program_name", String(128), nullable=False, unique=True),
    # The sandbox client that owns this program (vtn/sandbox); NULL for every real program.
    Column("sandbox_client", String(128), nullable=True),
)

events = Table(
    "events",
    metadata,
    *_object_columns(),
    Column(
        "program_id", String(ID), ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    # NULL = never ends (or no known start): such an event is always "active".
    Column("end_us", BigInteger, nullable=True),
    # The sandbox client that owns this event (that of its program); NULL for every real event.
    Column("sandbox_client", String(128), nullable=True),
    # Whether the event has targets (target rows in object_targets), written with them: a VEN's list
    # keeps untargeted events by this column instead of a correlated NOT EXISTS per event (0014).
    Column("targeted", Boolean, nullable=False, server_default=false()),
)

vens = Table(
    "vens",
    metadata,
    *_object_columns(),
    Column("client_id", String(128), nullable=False, index=True),
    Column("ven_name", String(128), nullable=False, unique=True),
    # A new random value whenever a resource of this ven is written (created, replaced, moved to or
    # from it, deleted: vens.ResourceRepo), and when the ven is created; 0 for rows written before
    # 0013 or by other means. A ven's resources are the same while it is: the 3.0.1 API, whose vens
    # embed their resources, reads only the vens of a page it has answered before (reads.ven_rows).
    Column("resources_stamp", BigInteger, nullable=False, server_default="0"),
)

resources = Table(
    "resources",
    metadata,
    *_object_columns(),
    Column("ven_id", String(ID), ForeignKey("vens.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False, index=True),
    Column("resource_name", String(128), nullable=False),
    UniqueConstraint("ven_id", "resource_name"),
)

reports = Table(
    "reports",
    metadata,
    *_object_columns(),
    Column("event_id", String(ID), nullable=False, index=True),
    Column("program_id", String(ID), nullable=True, index=True),
    Column("client_id", String(128), nullable=False, index=True),
    Column("client_name", String(128), nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    *_object_columns(),
    Column("client_id", String(128), nullable=False, index=True),
    Column("client_name", String(128), nullable=False),
    Column("program_id", String(ID), nullable=True, index=True),
    Column("objects", String(128), nullable=False),
    # Role of the subscriber (bl|ven): decides what its notifications may reveal.
    Column("role", String(8), nullable=False, server_default="ven"),
    # HMAC key for notification signatures; write-only, never in `doc`.
    Column("secret", String(256), nullable=True),
    # API the subscription was last written through ("3.0.1"); NULL is 3.1.0. Its notifications
    # are rendered in that version's shape (vtn.oadr301.notifications).
    Column("api_version", String(16), nullable=True),
)

# Every list pages in (created_us, id) order (_rows.page_query): with this index a first page of 50
# out of 100,000 vens reads 50 index entries instead of sorting the table.
LISTED = (programs, events, vens, resources, reports, subscriptions)
for _listed in LISTED:
    Index(f"ix_{_listed.name}_created_us_id", _listed.c.created_us, _listed.c.id)
# Programs and events: every list reads "sandbox_client IS NULL" (real objects) in list order. With
# an index on sandbox_client alone SQLite searched it and sorted the page, documents and all (events
# as BL: ~110 µs instead of ~20 µs for 20 events); this one gives the rows in list order.
for _sandboxed in (programs, events):
    Index(
        f"ix_{_sandboxed.name}_sandbox_client_created_us_id",
        _sandboxed.c.sandbox_client,
        _sandboxed.c.created_us,
        _sandboxed.c.id,
    )


def names_kind(kind: ObjectType) -> str:
    """The condition "this subscription names `kind`" as SQL text, spelled once for the partial
    index of that kind and for the query that must repeat it word for word to use the index."""
    return f"objects LIKE '%,{kind.value},%'"


# Fan-out candidates (SubscriptionRepo.candidates): the subscriptions naming one kind of object, in
# list order. Every subscription write asks for the SUBSCRIPTION kind's, which almost nobody names:
# that was a scan of the whole table with LIKE, ~2 ms at 7,400 subscriptions. A partial index per
# kind holds only the rows naming it (SQLite and PostgreSQL use one when the query's condition is
# its condition, literally: names_kind).
for _kind in ObjectType:
    Index(
        f"ix_subscriptions_names_{_kind.value.lower()}",
        subscriptions.c.created_us,
        subscriptions.c.id,
        sqlite_where=text(names_kind(_kind)),
        postgresql_where=text(names_kind(_kind)),
    )

object_targets = Table(
    "object_targets",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("object_id", String(ID), primary_key=True),
    Column("target", String(128), primary_key=True),
    Index("ix_object_targets_kind_target", "kind", "target"),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(8), nullable=False),
    Column("secret_hash", String(256), nullable=False),
    Column("cert_fingerprint", String(64), nullable=True, unique=True),
    Column("created_us", BigInteger, nullable=False),
    # A partner's sandbox client (docs/sandbox.md): may trigger simulated events at itself.
    Column("sandbox", Boolean, nullable=False, server_default=false()),
    # `vtn clients rotate`: the replaced secret keeps working until previous_until_us.
    Column("previous_secret_hash", String(256), nullable=True),
    Column("previous_until_us", BigInteger, nullable=True),
)

# Refused logins in a row per client id (the lockout), shared by every VTN process on the database.
login_failures = Table(
    "login_failures",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_us", BigInteger, nullable=False),
    Column("locked_until_us", BigInteger, nullable=False),
)

# Every BL and operator change and every refused login: who, what, when, from where (vtn/audit).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False, index=True),
    Column("actor", String(128), nullable=False),  # client id, or "operator" for the CLI
    Column("role", String(16), nullable=False),  # bl | ven | operator | unknown
    Column("action", String(32), nullable=False),
    Column("object_type", String(32), nullable=True),
    Column("object_id", String(128), nullable=True),
    Column("address", String(64), nullable=True),  # remote address of the request, if any
    Column("detail", Text, nullable=True),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)


# Transactional outbox: one row per notification per sink, written in the transaction of the change.
# `sink` is what must be delivered in order: "sub:<subscriptionID>" for a webhook, "mqtt" for the broker.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("notification_id", String(64), nullable=False),
    Column("sink", String(160), nullable=False),
    Column("subscription_id", String(ID), nullable=True, index=True),
    Column("target", Text, nullable=False),  # callback URL or MQTT topic
    Column("bearer_token", Text, nullable=True),
    # base64 HMAC-SHA256 of the body with the subscription's secret, computed at enqueue time.
    Column("signature", String(64), nullable=True),
    # The body itself, or (a body several rows share, as a fan-out's) its notification_bodies row.
    Column("body", Text, nullable=True),
    Column("body_id", BigInteger, nullable=True, index=True),
    Column("status", String(12), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_us", BigInteger, nullable=False),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("done_us", BigInteger, nullable=True),
)

# The rows the claim looks at: only pending ones. Its two indexes hold only those (partial indexes),
# so settling a row takes it out of them instead of moving it within them, which cost most of a
# settle's time; queries for pending rows say so with this literal (a bound 'pending' would leave
# PostgreSQL's generic plans unable to use them).
OUTBOX_PENDING = outbox.c.status == literal_column("'pending'")
# The head of a sink: its oldest pending row.
Index(
    "ix_outbox_pending_sink_id",
    outbox.c.sink,
    outbox.c.id,
    sqlite_where=OUTBOX_PENDING,
    postgresql_where=OUTBOX_PENDING,
)
# The claim walks due rows in (next_attempt_us, id) order and stops at its limit; with `id` in the
# index PostgreSQL needs no sort of all pending rows (SQLite's indexes end in the rowid anyway).
Index(
    "ix_outbox_pending_next_id",
    outbox.c.next_attempt_us,
    outbox.c.id,
    sqlite_where=OUTBOX_PENDING,
    postgresql_where=OUTBOX_PENDING,
)

# A notification body shared by the outbox rows of one change (a fan-out), stored once; deleted by
# the purge once no outbox row refers to it.
notification_bodies = Table(
    "notification_bodies",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("body", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("notification_id", String(64), nullable=False),
    Column("subscription_id", String(ID), nullable=True),
    Column("at_us", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_delivery_attempts_subscription_id_id", "subscription_id", "id"),
)

subscription_health = Table(
    "subscription_health",
    metadata,
    Column("subscription_id", String(ID), primary_key=True),
    Column("status", String(12), nullable=False),  # healthy | unhealthy
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_success_us", BigInteger, nullable=True),
    Column("last_failure_us", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
)

# When each client last called the VTN (flushed by every process a few times a minute, so "seen"
# is accurate to about `contacts_flush_seconds`): VENs online, first-seen log lines, the console.
client_contacts = Table(
    "client_contacts",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("role", String(8), nullable=False),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Index("ix_client_contacts_role_last_seen_us", "role", "last_seen_us"),
)

# Program automation (vtn/programs). A grid area: its members are the ven and resource objects
# granted the target value `name` (object_targets), so no membership table exists.
areas = Table(
    "areas",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),  # neighbourhood | feeder | substation
    Column("import_kw", Float, nullable=False),
    Column("export_kw", Float, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

# One row per (job, day): the event a program published for that day, and the claim that makes a
# scheduled job run once across processes (a lease, so a killed claimant's day is taken over).
program_runs = Table(
    "program_runs",
    metadata,
    Column("job", String(200), primary_key=True),
    Column("day", String(10), primary_key=True),  # ISO date in the program's time zone
    Column("event_id", String(ID), nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until_us", BigInteger, nullable=True),
    Column("done_us", BigInteger, nullable=True),
    # What the job decided last (capacity programs: the hours at risk, JSON), for hysteresis.
    Column("state", Text, nullable=True),
)

# Console operators: people who log in with a password (vtn/console), not OAuth clients.
operators = Table(
    "operators",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # viewer | operator | admin
    Column("password_hash", String(256), nullable=False),
    # Consecutive failed logins; at the limit the account is locked until locked_until_us.
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until_us", BigInteger, nullable=True),
    Column("created_us", BigInteger, nullable=False),
)

# Console sessions: the cookie holds a random token, the table its SHA-256 (a leaked table opens nothing).
operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "operator_name",
        String(64),
        ForeignKey("operators.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)
