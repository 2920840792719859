"""The VTN core: the one write path and the one read entry that every front-end goes through.

A write is a unit of work, a function of the transaction (`work(tx, permission)`), that the core
runs through group commit and completes with everything a change entails, in the same
transaction: the change stamps other processes poll (vtn/storage/versions.py), the outbox rows of
its notifications and of its cascaded deletes (vtn/services/notifier.py). After the commit, and
only then, it drops the cached answers the write made stale and wakes the delivery worker. The
caller is answered after the commit, so an acknowledged write is a committed write.

A unit may run twice (group commit reruns a failed batch one write at a time), so it keeps its
results in what it returns, never in variables outside it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar, cast

from shared.enums import ObjectType, Operation
from shared.errors import NotFound
from vtn.core.visibility import Visibility, owner
from vtn.principal import Principal
from vtn.services.notifier import AnyObject, Notifier, Renderer
from vtn.services.read_cache import ReadCache
from vtn.services.reports import create_prepared_report
from vtn.storage import Store, Tx, versions
from vtn.storage.audit import AuditEntry
from vtn.storage.filters import Permission
from vtn.storage.reads import GrantsMoved
from vtn.storage.reports import PreparedReport, ReportInsert

T = TypeVar("T")
Obj = TypeVar("Obj", bound=AnyObject)

# Writes of these kinds change what VENs are granted, or what they may read.
_GRANT_KINDS = frozenset({ObjectType.VEN, ObjectType.RESOURCE})
_OBJECT_KINDS = frozenset({ObjectType.PROGRAM, ObjectType.EVENT})


class Origin(Protocol):
    """Where a write came from: the client's address and "METHOD /path". Given to the write path,
    it leaves the audit row of a BL write in the write's own transaction (vtn/audit); VEN writes
    are their own business, not the operator's, and leave none (nor read their origin)."""

    @property
    def address(self) -> str | None: ...

    @property
    def request(self) -> str: ...


async def _audit(
    tx: Tx, who: Principal, origin: Origin | None, operation: Operation, kind: str, object_id: str
) -> None:
    if origin is None or not who.is_bl:
        return
    cascaded = len(tx.cascaded)
    entry = AuditEntry(
        actor=who.client_id,
        role=who.role.value,
        action=operation.value.lower(),
        object_type=kind,
        object_id=object_id,
        address=origin.address,
        detail=origin.request + (f"; {cascaded} dependents deleted" if cascaded else ""),
    )
    await tx.audit().add(entry)


@dataclass
class Changes:
    """What one unit of work changed beyond its rows; the core settles it in and after the commit."""

    grants: bool = False  # targets granted to VENs (ven and resource objects)
    objects: bool = False  # programs or events
    queued: int = 0  # notification rows put in the outbox
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def touched(self, kind: str) -> None:
        if kind in _GRANT_KINDS:
            self.grants = True
        elif kind in _OBJECT_KINDS:
            self.objects = True


class Core:
    """The write path and read entry of the VTN, one per application."""

    def __init__(self, store: Store, notifier: Notifier, cache: ReadCache) -> None:
        self._store = store
        self.notifier = notifier
        self.cache = cache
        self.visibility = Visibility(store, cache)
        # The API's reads of stored documents, one statement each without a transaction: an object
        # by id or a page of a list (services' *_text functions); everything else reads in `read()`.
        self.reads = store.reads
        self.clock: Callable[[], datetime] = store.clock
        self.new_id: Callable[[], str] = store.new_id
        # Where the store keeps the text of what it wrote last: the answer to a write reuses it.
        self.stored_texts = store.texts
        # Told of every committed object write (who, what, which object): where an audit trail or
        # program automation hooks in without a write path of its own. Sandbox programs and events
        # come from a sandbox client (`who.sandbox`, vtn/services/sandbox.py): automation skips them.
        self.observers: list[Callable[[Principal, Operation, AnyObject], None]] = []

    def register_renderer(self, api_version: str, render: Renderer) -> None:
        """A front-end's notification shape, for the subscriptions it marks with `api_version`."""
        self.notifier.register_renderer(api_version, render)

    # -- reads ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read-only unit of work (rolled back at the end)."""
        async with self._store.read() as tx:
            yield tx

    def permission(self, who: Principal, requested: frozenset[str] | None = None) -> Awaitable[Permission]:
        """What `who` may see of programs and events (the one visibility rule, visibility.py); await
        it. Not a coroutine of its own: every request that reads programs or events asks, and the
        rule's coroutine is handed over as it is, one frame less."""
        return self.visibility.permission(who, requested)

    async def permitted(
        self,
        who: Principal,
        requested: frozenset[str] | None,
        read: Callable[[Permission, bytes | None], Awaitable[T]],
    ) -> T:
        """`read(permission, grants_stamp)` with `who`'s permission for `requested` targets.

        With the grant cache off, a VEN's grants are kept as of the grants change stamp, which
        `permission` reads first on every request (one statement). Here `read` gets them unread with
        that stamp (Visibility.assumed), for a page that reads the stamp in its own statement
        (Reads.page's `grants_stamp`): when the stamp moved, the page raises GrantsMoved and is read
        again under a permission read as `permission` reads it. `read` is then called twice: it
        must have no effect but its result.
        """
        assumed = self.visibility.assumed(who, requested)
        if assumed is not None:
            try:
                return await read(*assumed)
            except GrantsMoved:
                pass
        return await read(await self.visibility.permission(who, requested), None)

    def cached_answer(self, key: tuple[object, ...]) -> bytes | None:
        """The answer `cached` keeps under `key`, if fresh."""
        return self.cache.answer(key)

    async def cached(
        self, key: tuple[object, ...], build: Callable[[], Awaitable[bytes]], *, clocked: bool = False
    ) -> bytes:
        """An encoded answer from the read cache, or built by `build` and kept.

        `key` must hold everything the answer depends on (a `Permission`, never a client, so that
        callers with equal rights share it); `clocked`: the answer also depends on the time.
        """
        cache = self.cache
        found = cache.answer(key)
        if found is None:
            since = cache.generation
            found = await build()
            cache.keep_answer(key, found, clocked=clocked, since=since)
        return found

    def keep_marker(self, key: tuple[object, ...]) -> None:
        """An empty cached answer: gone at this process's next write or when answers expire, so a
        front-end's own cache (the 2.0b poll cache) learns when to look at the change stamps again."""
        self.cache.keep_answer(key, b"")

    async def read_stamps(self, names: tuple[str, ...]) -> dict[str, bytes]:
        """The store's change stamps `names` (vtn/storage/versions.py)."""
        return await self.reads.stamps(names)

    async def poll_stamps(self, also: tuple[str, ...] = ()) -> dict[str, bytes]:
        """Read the store's change stamps (and the stamps `also`, in the same read: one round trip
        per poll in every process); drop cached answers that other processes' writes made stale.
        Returns the stamps, for other per-process caches that follow them."""
        stamps = await self.reads.stamps((versions.OBJECTS, versions.GRANTS, *also))
        self.cache.stamps_seen(stamps)
        return stamps

    # -- writes --------------------------------------------------------------------------------

    async def write(
        self,
        who: Principal,
        operation: Operation,
        work: Callable[[Tx], Awaitable[Obj]],
        origin: Origin | None = None,
    ) -> Obj:
        """Write one object on behalf of `who`, with its notifications and cascades (and, given the
        request's `origin`, a BL write's audit row); returns it after the commit. A work that refers
        to other objects gets the caller's `permission()` beforehand."""
        notifier = self.notifier

        async def unit(tx: Tx, changes: Changes) -> Obj:
            obj = await work(tx)
            await _audit(tx, who, origin, operation, obj.object_type, obj.id)
            changes.touched(obj.object_type)
            for made in cast("list[AnyObject]", tx.created_along):
                changes.touched(made.object_type)
            if changes.grants:  # the notifier must not take this transaction's grants for committed ones
                tx.notes.wrote_grants = True
            for made in cast("list[AnyObject]", tx.created_along):
                changes.queued += await notifier.changed(tx, Operation.CREATE, made)
            changes.queued += await notifier.changed(tx, operation, obj)
            for gone in tx.cascaded:
                changes.queued += await notifier.changed(tx, Operation.DELETE, gone)  # type: ignore[arg-type]
            return obj

        obj = await self.run(unit)
        for observe in self.observers:
            observe(who, operation, obj)
        return obj

    async def send_test(
        self, who: Principal, subscription_id: str, work: Callable[[Tx], Awaitable[AnyObject]]
    ) -> int:
        """Queue a test notification of the object `work` returns (as an UPDATE) to every callback
        of `who`'s subscription `subscription_id`; the number of notifications queued. What `work`
        creates along the way (tx.created_along) is announced as any write's."""
        notifier = self.notifier
        client = owner(who)

        async def unit(tx: Tx, changes: Changes) -> int:
            sub = await tx.subscriptions.candidate(subscription_id, client)
            if sub is None:
                raise NotFound(f"no subscription with id {subscription_id!r}")
            obj = await work(tx)
            for made in cast("list[AnyObject]", tx.created_along):
                changes.touched(made.object_type)
                changes.queued += await notifier.changed(tx, Operation.CREATE, made)
            sent = await notifier.test(tx, sub, Operation.UPDATE, obj)
            changes.queued += sent
            return sent

        return await self.run(unit)

    async def write_prepared_report(
        self,
        who: Principal,
        prepared: PreparedReport,
        origin: Origin | None = None,
        check_program: Callable[[str | None], None] | None = None,
    ) -> str | None:
        """Store a report validated and serialised beforehand (`services.reports.prepare_report_body`,
        here or in an intake worker), with its notifications (and a BL write's audit row, as
        `write`), and tell the observers. Returns the programID of the report's event.
        `check_program`: given that programID in the transaction, once the report is written; what
        it raises fails the write (3.0.1's programID sent along, which must be the event's).

        The typed report is built only if a subscriber is to hear of it, or an observer.
        """
        visibility = self.visibility
        # A VEN's grants not cached (with the grant cache off, every VEN's) are read in the write's
        # transaction (one grants stamp read per batch, not one per report before it); its insert
        # then runs with its unit, not ahead with the batch's (PostgreSQL's pipelined inserts).
        known = visibility.known(who)
        notifier = self.notifier

        async def unit(tx: Tx, changes: Changes) -> str | None:
            permission = known if known is not None else await visibility.permission_in(tx, who)
            await create_prepared_report(tx, who, prepared, permission)
            program_id = tx.reports.written_program(prepared.id)
            if check_program is not None:
                check_program(program_id)
            await _audit(tx, who, origin, Operation.CREATE, ObjectType.REPORT, prepared.id)
            changes.queued += await notifier.changed_if_heard(
                tx, Operation.CREATE, ObjectType.REPORT, program_id, prepared.model
            )
            return program_id

        # The insert may run ahead of `unit`, with those of the reports sharing its commit.
        program_id = await self._run(unit, None if known is None else ReportInsert(prepared, known))
        if self.observers:
            report = prepared.model()
            for observe in self.observers:
                observe(who, Operation.CREATE, report)
        return program_id

    async def notify(self, tx: Tx, changes: Changes, operation: Operation, obj: AnyObject) -> None:
        """Queue the notifications of a change that a unit of work given to `run` made itself."""
        changes.touched(obj.object_type)
        if changes.grants:
            tx.notes.wrote_grants = True
        changes.queued += await self.notifier.changed(tx, operation, obj)

    async def run(self, work: Callable[[Tx, Changes], Awaitable[T]]) -> T:
        """Run a unit of work that reports what it changed (`Changes`) through the write path."""
        return await self._run(work)

    async def _run(self, work: Callable[[Tx, Changes], Awaitable[T]], ahead: ReportInsert | None = None) -> T:

        async def unit(tx: Tx) -> tuple[T, Changes]:
            changes = Changes()
            result = await work(tx, changes)
            if changes.grants:
                tx.notes.wrote_grants = True  # later units of this transaction (group commit)
                await tx.stamps.bump(versions.GRANTS)
            elif changes.objects:
                await tx.stamps.bump(versions.OBJECTS)
            return result, changes

        # Group commit: concurrent writes share one durable commit; each is answered after it.
        result, changes = await self._store.write(unit, ahead)
        self._settle(changes)
        return result

    def _settle(self, changes: Changes) -> None:
        """After the commit: forget cached answers this write made stale, start delivering at once."""
        if changes.grants:
            self.cache.grants_changed()
        elif changes.objects:
            self.cache.objects_changed()
        for then in changes.after_commit:
            then()
        if changes.queued:
            self.notifier.wake()
