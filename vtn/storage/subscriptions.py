"""Subscriptions: VEN-private; the HMAC secret is kept in its own column, never in the document."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, Executable, bindparam, select, text, update

from shared.enums import ObjectType, Role
from shared.models import Subscription
from vtn.storage import direct
from vtn.storage._docrepo import DocRepo
from vtn.storage.tables import names_kind, subscriptions

# The 3.0 HTTP verbs a stored document could still spell its operations with (the model stores the
# 3.1 names, but candidates are read without it): see shared.enums.Operation.parse.
_VERBS = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE"}


def _objects_key(obj: Subscription) -> str:
    # ",EVENT,PROGRAM," lets an `objects` filter be a portable LIKE on both stores.
    kinds = sorted({o.value for op in obj.object_operations for o in op.objects})
    return "," + ",".join(kinds) + ","


class Hook(NamedTuple):
    """One objectOperations entry: which object kinds and operations go to which callback."""

    objects: tuple[str, ...]
    operations: tuple[str, ...]  # 3.1 names
    callback_url: str
    bearer_token: str | None


class Candidate(NamedTuple):
    """What fan-out needs of a subscription, read straight from its row (no model validation).

    Named tuples, not frozen dataclasses: fan-out builds one per subscriber (10,000s per change)
    and a frozen dataclass costs several times as much to construct.
    """

    id: str
    client_id: str
    role: Role
    secret: str | None
    targets: frozenset[str] | None
    hooks: tuple[Hook, ...]
    # The API the subscription was last written through ("3.0.1"), None for 3.1.0.
    api_version: str | None


# Role by its stored value: a dict lookup is cheaper than Role(value) on the fan-out path.
_ROLES = {r.value: r for r in Role}


def _candidate(
    doc: str,
    role: str,
    secret: str | None,
    api_version: str | None,
    lists: dict[tuple[str, ...], tuple[str, ...]] | None = None,
) -> Candidate:
    """`lists`: the objects and operations lists read so far in one load, each kept once (100,000
    subscribers name a few distinct lists; the operations mapped to their 3.1 names once each)."""
    # Fan-out reads every matching subscription on each change; building pydantic models for
    # 10,000 of them cost more than the rest of the fan-out, so the stored document is read as JSON.
    # orjson: the fields read here are strings and lists of them, which it reads as json.loads does
    # (a third of the stdlib's time); a document it refuses (NaN, say) goes the stdlib way.
    try:
        raw = orjson.loads(doc)
    except orjson.JSONDecodeError:
        raw = json.loads(doc)
    if lists is None:
        lists = {}
    hooks: list[Hook] = []
    for op in raw["objectOperations"]:
        objects = tuple(op["objects"])
        objects = lists.setdefault(objects, objects)
        # A tuple of operations is keyed with a marker so that it never meets an objects tuple.
        said = ("", *op["operations"])
        operations = lists.get(said)
        if operations is None:
            operations = lists[said] = tuple([_VERBS.get(o, o) for o in said[1:]])
        hooks.append(Hook(objects, operations, op["callbackUrl"], op.get("bearerToken")))
    targets = raw.get("targets")
    # Positional: a named tuple's keyword construction costs more per subscriber.
    return Candidate(
        raw["id"],
        raw["clientID"],
        _ROLES[role],
        secret,
        frozenset(targets) if targets else None,
        tuple(hooks),
        api_version,
    )


def _candidates_statement(kind: ObjectType) -> Callable[[], Executable]:
    def build() -> Executable:
        # names_kind literally, not a bound pattern: the partial index of the kind then serves it.
        # The programID is compared here, not in SQL: with `program_id IS NULL OR program_id = ?`
        # SQLite searched the program_id index for the NULLs (most subscriptions) instead.
        c = subscriptions.c
        return (
            select(c.doc, c.role, c.secret, c.api_version, c.program_id)
            .where(text(names_kind(kind)))
            .order_by(c.created_us, c.id)
        )

    return build


class SubscriptionRepo(DocRepo[Subscription]):
    table = subscriptions
    model = Subscription
    kind = ObjectType.SUBSCRIPTION
    conflict = "a subscription with this id already exists"
    has_targets = True

    def columns(self, obj: Subscription) -> dict[str, Any]:
        return {
            "client_id": obj.client_id,
            "client_name": obj.client_name,
            "program_id": obj.program_id,
            "objects": _objects_key(obj),
            "secret": obj.secret,
            # Every write is a 3.1.0 write unless the 3.0.1 API marks it afterwards (set_api_version):
            # the API a subscription was last written through is the one its callbacks speak.
            "api_version": None,
        }

    def owned(self, owner: str | None) -> ColumnElement[bool] | None:
        return None if owner is None else subscriptions.c.client_id == owner

    async def candidates(self, kind: ObjectType, program_id: str | None) -> builtins.list[Candidate]:
        """Subscriptions that name `kind` (and, for program-bound objects, this program or none)."""
        # Every write asks (a subscription write on each, past the notifier's cache): built once, run
        # on the driver inside a write transaction (direct.py).
        statement = direct.kept(self.conn, ("candidates", kind), _candidates_statement(kind))
        found = await direct.rows(self.conn, statement, {})
        lists: dict[tuple[str, ...], tuple[str, ...]] = {}
        return [
            _candidate(r[0], str(r[1]), r[2], r[3], lists)
            for r in found
            if program_id is None or r[4] is None or r[4] == program_id
        ]

    async def candidate(self, subscription_id: str, owner: str | None) -> Candidate | None:
        """One subscription as fan-out sees it, if `owner` (None: BL) may see it."""
        c = subscriptions.c
        query = select(c.doc, c.role, c.secret, c.api_version).where(c.id == subscription_id)
        if owner is not None:
            query = query.where(c.client_id == owner)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _candidate(row[0], str(row[1]), row[2], row[3])

    async def set_api_version(self, subscription_id: str, api_version: str | None) -> None:
        """Record the API a subscription was written through (after insert/replace, same transaction)."""
        c = subscriptions.c
        statement = direct.kept(
            self.conn,
            ("api_version", "subscriptions"),
            lambda: (
                update(subscriptions)
                .where(c.id == bindparam("sub_id", type_=c.id.type))
                .values(api_version=bindparam("version", type_=c.api_version.type))
            ),
        )
        await direct.execute(self.conn, statement, {"sub_id": subscription_id, "version": api_version})

    async def secret_of(self, subscription_id: str) -> str | None:
        row = (
            await self.conn.execute(
                select(subscriptions.c.secret).where(subscriptions.c.id == subscription_id)
            )
        ).first()
        return None if row is None or row[0] is None else str(row[0])
