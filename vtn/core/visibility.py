"""The one visibility rule, as the OpenADR 3.1 Definition states it ("Object Privacy").

- BL sees and writes everything.
- A VEN sees only the ven, resource, report and subscription objects stamped with its clientID.
- Programs and events with targets are visible to a VEN only through targets it both asks for
  (`targets` query) and was granted by BL on its ven and resource objects; untargeted ones are
  visible to every VEN (the spec is silent; the reference VTN and openleadr-rs do the same).
- Target hiding: a VEN is shown only the targets of a program or event that it asked for and holds.
- Sandbox objects (a partner's sandbox program and its simulated events, vtn/sandbox) are seen by
  their sandbox client alone: not by other VENs, not by BL, not by program automation (a default
  `Permission` excludes them).

`Visibility.permission` turns a caller and the targets it asked for into a `Permission`, which the
repositories apply in SQL; nothing else computes "requested AND granted". Grants come from the read
cache while fresh (one query loads all clients' grants while the grant table is small).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Sequence
from typing import TypeVar

from shared.errors import BadRequest
from shared.models import Event, Program
from shared.models.common import ClientId
from shared.wire.oadr3_json import StoredDocs, canonical, wire_json
from vtn.principal import Principal
from vtn.services.read_cache import ReadCache
from vtn.storage import Reads, Store, Tx
from vtn.storage.filters import EVERYTHING, Permission
from vtn.storage.versions import GRANTS

P = TypeVar("P", Program, Event)
log = logging.getLogger("vtn.visibility")

# Up to this many (client, target) grant rows are cached as one snapshot; beyond it, per client.
MAX_GRANT_SNAPSHOT = 500_000
# Clients whose grants are kept as of the grants stamp (past it, all are dropped and read again).
MAX_STAMPED_GRANTS = 100_000
# Distinct (granted, requested, sandbox) permissions remembered (past it, all are forgotten).
MAX_PERMISSIONS = 4096


def owner(who: Principal) -> ClientId | None:
    """The clientID a query of VEN-private objects must be restricted to; None for BL."""
    return None if who.is_bl else who.client_id


def access_of(granted: frozenset[str], requested: frozenset[str] | None) -> frozenset[str]:
    """The targets a VEN may match on: without a `targets` query its whole grant (so that
    `GET /events` by a VEN whose ven object BL targeted just works), with one the requested subset."""
    return granted if requested is None else granted & requested


def sandbox_of(who: Principal) -> ClientId | None:
    """The sandbox client whose sandbox objects `who` sees: itself if it is one, else none."""
    return who.client_id if who.sandbox else None


def targeting(
    granted: frozenset[str], requested: frozenset[str] | None = None, sandbox: ClientId | None = None
) -> Permission:
    """The permission of a VEN holding `granted` and asking for `requested` targets."""
    return Permission(access=access_of(granted, requested), sandbox=sandbox)


def sees_sandbox_object(sandbox_owner: str | None, client_id: str) -> bool:
    """May `client_id` hear of a program or event whose sandbox owner is `sandbox_owner`? (The rule
    above, for notifications: vtn/services/matching.py and the MQTT sink.)"""
    return sandbox_owner is None or sandbox_owner == client_id


def hide_targets(obj: P, permission: Permission) -> P:
    """Strip the targets a VEN was not granted (and did not ask for) from a program or event."""
    access = permission.access
    if access is None or not obj.targets:
        return obj
    shown = [t for t in obj.targets if t in access]
    return obj.model_copy(update={"targets": shown or None})


def hide_targets_text(text: str, model: type[P], permission: Permission) -> str:
    """hide_targets for a stored document: the text itself unless it holds a target to hide.

    Conservative: `"targets":` can appear in a wire document only as a member name (a quote inside a
    string is escaped), so without it there is nothing to hide. With it, the document's own
    `targets` member is cut to what the caller may see (_hidden_in_text, ~20x cheaper than a model
    round trip); a document it cannot read that way is read through the model, as before.
    """
    access = permission.access
    if access is None or _TARGETS not in text:
        return text
    return _hidden(text, model, permission)[0]


def hide_targets_texts(
    texts: StoredDocs, model: type[P], permission: Permission, targeted: Sequence[bool] | None = None
) -> StoredDocs:
    """hide_targets_text of each document of a page, the page still marked canonical where it was:
    a cut of a canonical document's own targets member is canonical too (the kept targets spelled
    as stored, member boundaries joined: no number is changed or made), so only a document read
    through the model is checked again.

    `targeted`: per document, whether it may hold targets (events.targeted, written from the same
    object as the document: false only for one whose targets are none or empty, which hide_targets
    leaves as they are); the others are not searched (~0.5 µs per event document)."""
    if permission.access is None:
        return texts
    out: list[str] = []
    known = texts.canonical
    for i, text in enumerate(texts):
        if (targeted is None or targeted[i]) and _TARGETS in text:
            text, cut = _hidden(text, model, permission)
            if known and not cut:
                known = canonical(text)
        out.append(text)
    return StoredDocs(out, known)


def _hidden(text: str, model: type[P], permission: Permission) -> tuple[str, bool]:
    """`text` with its targets hidden as `permission` (which hides some) says, and whether by a cut
    of the text (False: through the model)."""
    hidden = _hidden_in_text(text, permission.access or frozenset())
    if hidden is not None:
        return hidden, True
    return wire_json(hide_targets(model.model_validate_json(text), permission)), False


# A JSON string or one of the brackets that open or close a level: what _top_targets scans.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_TARGETS = '"targets":'
_DECODER = json.JSONDecoder()
# A list of strings of printable ASCII other than quote and backslash: json.dumps spells each as
# its characters in quotes, so the list is split at `","` and spelled again by joining, unparsed.
_PLAIN = re.compile(r'\[(?:"[ !#-\[\]-~]*"(?:,"[ !#-\[\]-~]*")*)?\]')


def _hidden_in_text(text: str, access: frozenset[str]) -> str | None:
    """`text` with its top-level `targets` cut as hide_targets would, spelled as wire_json spells
    it; None where that is not certain (the caller then goes through the model)."""
    found = _top_targets(text)
    if found is None:
        return None
    at, start = found
    if at < 0:
        return text  # only nested targets (report descriptors'): hide_targets hides none of them
    plain = _PLAIN.match(text, start)
    if plain is not None:
        end = plain.end()
        targets = text[start + 2 : end - 2].split('","') if end - start > 2 else []
    else:
        try:
            decoded, end = _DECODER.raw_decode(text, start)
        except ValueError:
            return None
        if not isinstance(decoded, list) or not all(isinstance(t, str) for t in decoded):
            return None
        targets = decoded
        if text[start:end] != _spelled(targets):  # the kept ones will be spelled as stored
            return None
    shown = [t for t in targets if t in access]
    if len(shown) == len(targets):
        return text
    if shown:
        spelled = '["' + '","'.join(shown) + '"]' if plain is not None else _spelled(shown)
        return text[:start] + spelled + text[end:]
    # None: the member goes (wire_json leaves out nulls), with the comma that parted it from the next
    if text.startswith(",", end):
        return text[:at] + text[end + 1 :]
    if text[at - 1] == ",":
        return text[: at - 1] + text[end:]
    return None


def _top_targets(text: str) -> tuple[int, int] | None:
    """(where the top-level `"targets":` member begins, where its value begins); (-1, -1) if the
    document has none; None if it has more than one or is not one object."""
    if not text.startswith("{"):
        return None
    first = text.find(_TARGETS)
    if first < 0:
        return -1, -1
    # The only one, and before it no bracket but the document's own `{`: at the top level, whatever
    # the strings before it hold (every level opened before it would show as a bracket). The members
    # wire_json writes before a program's or event's targets are plain values, so this is the rule.
    if (
        text.find(_TARGETS, first + 1) < 0
        and text.count("{", 0, first) == 1
        and text.find("[", 0, first) < 0
        and text.find("}", 0, first) < 0
    ):
        return first, first + len(_TARGETS)
    depth = 0
    at = -1
    for token in _TOKENS.finditer(text):
        kind = text[token.start()]
        if kind == '"':
            if depth == 1 and text.startswith(_TARGETS, token.start()):
                if at >= 0:
                    return None
                at = token.start()
                if text.count(_TARGETS) == 1:
                    break  # the only one: nothing after it can be another
        elif kind in "[{":
            depth += 1
        else:
            depth -= 1
    return (at, at + len(_TARGETS)) if at >= 0 else (-1, -1)


def _spelled(targets: list[str]) -> str:
    return json.dumps(targets, ensure_ascii=False, separators=(",", ":"))


def forbid_bl_only(who: Principal, what: str) -> None:
    if not who.is_bl:
        raise BadRequest(f"{what} may be written by BL only")


class _StampedGrants:
    """VEN clients' grants as of one grants change stamp, for callers whose grants the read cache
    does not hold (with grant_cache_seconds=0, every VEN request).

    Never stale: the stamp moves in the transaction of every ven or resource write, in any process,
    and a random stamp never comes back (vtn/storage/versions.py). It is read first, each time, and
    grants read after it are kept under it: a write committed in between moves the stamp for the
    next caller. The stamp is one row by key; the grants statement (two indexed subqueries and a
    union) cost ~3x as much, and it is read only for a client not seen since the stamp moved.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._stamp: bytes | None = None
        self._by_client: dict[str, frozenset[str]] = {}
        self._sets: dict[frozenset[str], frozenset[str]] = {}  # equal grants share one frozenset

    async def granted(self, reads: Reads, client_id: str) -> frozenset[str]:
        stamp = (await reads.stamps(_GRANTS)).get(GRANTS, b"")
        self._at(stamp)
        found = self._by_client.get(client_id)
        if found is None:
            granted = await reads.granted(client_id)
            # Kept only if the stamp was not moved by another reader meanwhile.
            found = self._kept(client_id, granted) if stamp == self._stamp else granted
        return found

    async def granted_in(self, tx: Tx, reads: Reads, client_id: str) -> tuple[frozenset[str], bool]:
        """`granted` for a write in transaction `tx`, and whether that is the committed grants (False:
        `tx` changed grants itself, and they are read in it). The stamp is read in `tx`, once per
        transaction (a group-commit batch of reports costs one stamp read, not one each); grants not
        known under it are read as `granted` reads them, at least as new as that stamp (while `tx`
        holds SQLite's write lock nobody commits, so exactly as of it)."""
        notes = tx.notes
        if notes.wrote_grants:
            return await tx.vens.granted_targets(client_id), False
        if notes.grants_stamp is None:
            notes.grants_stamp = await tx.stamps.read_grants()
        stamp = notes.grants_stamp
        self._at(stamp)
        found = self._by_client.get(client_id)
        if found is None:
            granted = await reads.granted(client_id)
            found = self._kept(client_id, granted) if stamp == self._stamp else granted
        return found, True

    def _at(self, stamp: bytes) -> None:
        if stamp != self._stamp or len(self._by_client) >= self._limit:
            self._by_client.clear()
            self._sets.clear()
            self._stamp = stamp

    def _kept(self, client_id: str, granted: frozenset[str]) -> frozenset[str]:
        found = self._by_client[client_id] = self._sets.setdefault(granted, granted)
        return found

    def known(self, client_id: str) -> tuple[frozenset[str], bytes] | None:
        """A client's grants and the stamp they are kept under, unread (the stamp may have moved
        since: the caller proves it has not, Reads.page's `grants_stamp`)."""
        found = self._by_client.get(client_id)
        if found is None or self._stamp is None:
            return None
        return found, self._stamp


_GRANTS = (GRANTS,)
# What a VEN's permission is a function of: (granted, requested, sandbox client).
_PermissionKey = tuple[frozenset[str], frozenset[str] | None, ClientId | None]


class Visibility:
    """Builds callers' permissions; owns nothing but a view of the store and the read cache."""

    def __init__(self, store: Store, cache: ReadCache) -> None:
        self._store = store
        self._cache = cache
        self._loading: asyncio.Task[None] | None = None  # the grant snapshot being (re)loaded
        self._stamped = _StampedGrants(MAX_STAMPED_GRANTS)
        # Permissions by (granted, requested, sandbox), of which they are a pure function: a polling
        # VEN's comes back as the same object (no intersection, no tuple built, its targets' hash
        # kept for the read cache's key). Bounded: cleared when full.
        self._permissions: dict[_PermissionKey, Permission] = {}

    async def permission(self, who: Principal, requested: frozenset[str] | None = None) -> Permission:
        """What `who` may see of programs and events when asking for `requested` targets."""
        if who.is_bl:
            return EVERYTHING if requested is None else Permission(targets=requested)
        # The hot path of polling VENs: a cache hit costs no further await.
        granted = self._cache.grants(who.client_id)
        if granted is None:
            granted = await self.granted(who.client_id)
        key = (granted, requested, sandbox_of(who))
        known = self._permissions
        found = known.get(key)
        if found is None:
            if len(known) >= MAX_PERMISSIONS:
                known.clear()
            found = known[key] = Permission(access=access_of(granted, requested), sandbox=key[2])
        return found

    def known(self, who: Principal) -> Permission | None:
        """`permission(who)` where no read is needed (BL, a VEN whose grants are cached), else None."""
        if who.is_bl:
            return EVERYTHING
        granted = self._cache.grants(who.client_id)
        return None if granted is None else Permission(access=granted, sandbox=sandbox_of(who))

    async def permission_in(self, tx: Tx, who: Principal) -> Permission:
        """`permission(who)` for a write, read in its transaction `tx` where not cached: the grants
        as the write sees them, the grants stamp read once per group-commit batch instead of once
        per request before it (with the grant cache off, every VEN report)."""
        found = self.known(who)
        if found is not None:
            return found
        self._load_snapshot_if_due()
        granted, committed = await self._stamped.granted_in(tx, self._store.reads, who.client_id)
        if committed:
            # Read under the write lock: no grant write of this process commits before this
            # transaction, and one after it drops the cached grants (Core._settle).
            self._cache.keep_grants(who.client_id, granted)
        return Permission(access=granted, sandbox=sandbox_of(who))

    def assumed(self, who: Principal, requested: frozenset[str] | None) -> tuple[Permission, bytes] | None:
        """`permission` without reading anything, for a read that proves it (Reads.page's
        `grants_stamp`): the permission of a VEN whose grants are kept as of a grants stamp, and
        that stamp; None where there is nothing to prove (BL, grants from the read cache) or no
        such grants, or where answers are cached (an answer kept under an unproven permission could
        be served without the read that would prove it)."""
        cache = self._cache
        if who.is_bl or cache.keeps_grants or cache.keeps_answers:
            return None
        known = self._stamped.known(who.client_id)
        if known is None:
            return None
        granted, stamp = known
        return Permission(access=access_of(granted, requested), sandbox=sandbox_of(who)), stamp

    async def granted(self, client_id: str) -> frozenset[str]:
        """The targets BL granted a VEN client on its ven and resource objects."""
        cache = self._cache
        granted = cache.grants(client_id)
        if granted is None:
            self._load_snapshot_if_due()
            granted = await self._stamped.granted(self._store.reads, client_id)
            cache.keep_grants(client_id, granted)
        return granted

    def _load_snapshot_if_due(self) -> None:
        if self._cache.needs_snapshot() and (self._loading is None or self._loading.done()):
            # In the background: at 1,000,000 VENs the snapshot query ran 20 s before finding the
            # grants too many to hold, and the requests waiting for it stalled that long. Meanwhile
            # (and when the snapshot is refused) each client's grants cost one indexed query.
            self._loading = asyncio.create_task(self._load_snapshot(), name="grant-snapshot")

    async def _load_snapshot(self) -> None:
        cache = self._cache
        generation = cache.generation
        try:
            async with self._store.read() as tx:
                snapshot = await tx.vens.all_grants(MAX_GRANT_SNAPSHOT)
        except Exception:
            log.warning("could not load the grant snapshot; grants are read per client", exc_info=True)
            return
        if cache.generation == generation:  # no grant (or object) change meanwhile: still current
            cache.keep_snapshot(snapshot)

    async def close(self) -> None:
        """Wait out a snapshot load still running (it holds a read transaction of the store)."""
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loading
