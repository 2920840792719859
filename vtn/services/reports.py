"""Reports and subscriptions: VEN-private objects stamped with the writer's clientID."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.enums import ObjectType
from shared.errors import BadRequest
from shared.models import Report, ReportRequest, Subscription, SubscriptionRequest
from shared.validation import SchemaRegistry
from shared.wire import oadr3_json, stored_report
from shared.wire.oadr3_json import StoredDocs, wire_json
from vtn.core.ids import assigned_id, object_id
from vtn.core.visibility import owner
from vtn.principal import Principal
from vtn.storage import Reads, Tx
from vtn.storage.filters import Permission, ReportFilter, SubscriptionFilter
from vtn.storage.outbox import Attempt, Health
from vtn.storage.reads import ReportRow
from vtn.storage.reports import PreparedReport


async def _program_of_visible_event(tx: Tx, permission: Permission, event_id: str) -> str:
    program_id = await tx.events.visible_program(event_id, permission)
    if program_id is None:
        raise BadRequest(f"eventID {event_id!r} names no event you can see", pointer="/eventID")
    return program_id


def _stamped(req: ReportRequest, stamp: dict[str, Any], client_id: str) -> Report:
    """The stored report: the validated request's own fields plus what the VTN stamps.

    model_construct reuses the request's already validated (frozen) parts instead of a
    model_dump/model_validate round trip, which cost about 60 µs for 24 intervals; the stamps are
    the VTN's own values (an id, `now`, the caller's clientID), so there is nothing left to validate.
    """
    fields = {name: getattr(req, name) for name in ReportRequest.model_fields}
    return Report.model_construct(**{**fields, **stamp, "client_id": client_id})


async def create_report(tx: Tx, who: Principal, req: ReportRequest, permission: Permission) -> Report:
    """Store a report of `who` on an event its `permission` lets it see."""
    report = _stamped(req, tx.reports.stamp(object_id(who, req.id)), who.client_id)
    # One statement checks the event, resolves its programID and inserts (or raises Conflict).
    if not await tx.reports.insert_for_visible_event(report, permission):
        raise _no_such_event(req.event_id)
    return report


def prepare_report(
    req: ReportRequest, report_id: str, now: datetime, client_id: str, id_scope: str | None
) -> PreparedReport:
    """The report create_report would store, serialised: `report_id` unless the request names its
    own id (assigned in `id_scope`, vtn/core/ids.py key_scope of the caller), created and modified at
    `now`. Pure: intake workers run it in their own process."""
    own = assigned_id(id_scope, req.id)
    stamp = {"id": own or report_id, "created_date_time": now, "modification_date_time": now}
    report = _stamped(req, stamp, client_id)
    text = wire_json(report)
    return PreparedReport(
        report.id, report.event_id, report.client_name, client_id, now, text, oadr3_json.canonical(text)
    )


def prepare_report_body(
    registry: SchemaRegistry, body: bytes, report_id: str, now: datetime, client_id: str, id_scope: str | None
) -> PreparedReport:
    """prepare_report of a `POST /reports` body: the same validation (raises what
    oadr3_json.decode raises), and for a body in the plain form the stored document written
    straight from it, without building the typed request (shared/wire/stored_report.py)."""
    doc = oadr3_json.validated(registry, "reportRequest", body)
    return _prepare_valid(body, doc, report_id, now, client_id, id_scope)


def prepare_report_doc(
    registry: SchemaRegistry,
    body: bytes,
    doc: dict[str, Any],
    report_id: str,
    now: datetime,
    client_id: str,
    id_scope: str | None,
) -> PreparedReport:
    """prepare_report_body of a report request document `doc` (nulls already stripped) that
    another front-end translated from its own request `body` (3.0.1): every string of `doc` is
    one of `body`'s or the translation's own."""
    valid = oadr3_json.validated_doc(registry, "reportRequest", doc, nulls=False)
    return _prepare_valid(body, valid, report_id, now, client_id, id_scope)


def _prepare_valid(
    body: bytes, doc: Any, report_id: str, now: datetime, client_id: str, id_scope: str | None
) -> PreparedReport:
    chosen = doc.get("id") if isinstance(doc, dict) else None
    if chosen is None or type(chosen) is str:
        own = assigned_id(id_scope, chosen) or report_id
        text = stored_report.stored_doc(body, doc, own, now, client_id)
        if text is not None:
            return PreparedReport(
                own, doc["eventID"], doc["clientName"], client_id, now, text, oadr3_json.canonical(text)
            )
    return prepare_report(oadr3_json.model_of(ReportRequest, doc), report_id, now, client_id, id_scope)


async def create_prepared_report(
    tx: Tx, who: Principal, report: PreparedReport, permission: Permission
) -> None:
    """create_report for a report prepared (validated, stamped, serialised) beforehand."""
    if report.client_id != who.client_id:
        raise ValueError("a report prepared for another client")  # a bug, never the client's doing
    if not await tx.reports.insert_prepared(report, permission):
        raise _no_such_event(report.event_id)


def _no_such_event(event_id: str) -> BadRequest:
    return BadRequest(f"eventID {event_id!r} names no event you can see", pointer="/eventID")


async def list_reports(tx: Tx, who: Principal, flt: ReportFilter) -> list[Report]:
    return await tx.reports.list(flt._replace(owner=owner(who)))


async def get_report(tx: Tx, who: Principal, report_id: str) -> Report:
    return await tx.reports.require_owned(report_id, owner(who))


async def report_text(reads: Reads, who: Principal, report_id: str) -> str:
    """get_report as the stored document (the API's read path: no transaction, no model)."""
    return await reads.require(ObjectType.REPORT, report_id, owner=owner(who))


async def report_texts(reads: Reads, who: Principal, flt: ReportFilter) -> StoredDocs:
    """list_reports as stored documents."""
    return await reads.page(ObjectType.REPORT, flt._replace(owner=owner(who)))


async def report_rows(reads: Reads, who: Principal, flt: ReportFilter) -> list[ReportRow]:
    """report_texts with each report's id and its event's programID (Reads.report_rows)."""
    return await reads.report_rows(flt._replace(owner=owner(who)))


async def programs_of_events(reads: Reads, event_ids: frozenset[str]) -> dict[str, str]:
    """program_of_event of several events in one statement: eventID -> programID (those that exist)."""
    return await reads.programs_of(event_ids)


async def replace_report(
    tx: Tx, who: Principal, permission: Permission, report_id: str, req: ReportRequest
) -> Report:
    old = await get_report(tx, who, report_id)
    program_id = await _program_of_visible_event(tx, permission, req.event_id)
    modified = tx.reports.clock()
    stamp = {"id": old.id, "created_date_time": old.created_date_time, "modification_date_time": modified}
    new = _stamped(req, stamp, old.client_id)
    return await tx.reports.replace(new, {"program_id": program_id})


async def delete_report(tx: Tx, who: Principal, report_id: str) -> Report:
    old = await get_report(tx, who, report_id)
    await tx.reports.delete(report_id)
    return old


async def _check_program(tx: Tx, permission: Permission, program_id: str | None) -> None:
    if program_id is None:
        return
    if not await tx.programs.exists_for(program_id, permission):
        raise BadRequest(f"programID {program_id!r} names no program you can see", pointer="/programID")


async def create_subscription(
    tx: Tx, who: Principal, permission: Permission, req: SubscriptionRequest
) -> Subscription:
    await _check_program(tx, permission, req.program_id)
    stamp = tx.subscriptions.stamp(None)
    sub = Subscription.stamped(
        req, stamp["id"], stamp["created_date_time"], stamp["modification_date_time"], client_id=who.client_id
    )
    return await tx.subscriptions.insert(sub, {"role": who.role.value})


async def list_subscriptions(tx: Tx, who: Principal, flt: SubscriptionFilter) -> list[Subscription]:
    return await tx.subscriptions.list(flt._replace(owner=owner(who)))


async def get_subscription(tx: Tx, who: Principal, subscription_id: str) -> Subscription:
    return await tx.subscriptions.require_owned(subscription_id, owner(who))


def _subscription_text(text: str) -> str:
    # A document could still spell operations with the 3.0 verbs (see storage/subscriptions.py); the
    # model answers them with the 3.1 names. As a string, `"GET"` cannot appear inside another one.
    if '"GET"' in text or '"POST"' in text or '"PUT"' in text:
        return wire_json(Subscription.model_validate_json(text))
    return text


async def _owned_subscription(reads: Reads, who: Principal, subscription_id: str) -> str:
    return await reads.require(ObjectType.SUBSCRIPTION, subscription_id, owner=owner(who))


async def read_subscription(reads: Reads, who: Principal, subscription_id: str) -> Subscription:
    """get_subscription on the read path (one statement, no transaction)."""
    return Subscription.model_validate_json(await _owned_subscription(reads, who, subscription_id))


async def subscription_text(reads: Reads, who: Principal, subscription_id: str) -> str:
    """get_subscription as the stored document."""
    return _subscription_text(await _owned_subscription(reads, who, subscription_id))


async def subscription_texts(reads: Reads, who: Principal, flt: SubscriptionFilter) -> StoredDocs:
    """list_subscriptions as stored documents."""
    found = await reads.page(ObjectType.SUBSCRIPTION, flt._replace(owner=owner(who)))
    return found.mapped(_subscription_text)


async def replace_subscription(
    tx: Tx, who: Principal, permission: Permission, subscription_id: str, req: SubscriptionRequest
) -> Subscription:
    old = await get_subscription(tx, who, subscription_id)
    await _check_program(tx, permission, req.program_id)
    modified = tx.subscriptions.clock()
    new = Subscription.stamped(req, old.id, old.created_date_time, modified, client_id=old.client_id)
    return await tx.subscriptions.replace(new)


async def delivery_log(
    tx: Tx, who: Principal, subscription_id: str, limit: int
) -> tuple[Health, list[Attempt]]:
    """Our extension: the owner reads recent delivery attempts and the subscription's health."""
    await get_subscription(tx, who, subscription_id)
    return await tx.outbox.health_of(subscription_id), await tx.outbox.attempts_for(subscription_id, limit)


async def delete_subscription(tx: Tx, who: Principal, subscription_id: str) -> Subscription:
    old = await get_subscription(tx, who, subscription_id)
    await tx.subscriptions.delete(subscription_id)
    return old
