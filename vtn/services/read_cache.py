"""What VENs poll for, kept briefly in memory: grants per client and encoded list answers.

Why: a VTN answers tens of thousands of VENs polling `GET /events`; building each answer from the
store costs milliseconds, a cached one microseconds. Correctness rules:
- Local writes invalidate at once (after their commit): program/event writes drop the answers,
  ven/resource writes drop the grants and the answers.
- Writes by other VTN processes sharing the database move a change stamp (vtn/storage/versions.py)
  that every process polls (`cache_poll_seconds`), so they invalidate within that delay; the TTLs
  bound staleness even if polling stalls: `read_cache_seconds` for answers that depend on the
  clock (`active=true`, which must follow it), `read_cache_max_seconds` for the others, which only
  a write can change (a 1 s TTL for all made every one of 100 group answers be rebuilt every
  second, half the CPU of a poll benchmark), `grant_cache_seconds` for grants.
- Grants are loaded for all clients at once (one query) while the grant table is small enough
  (`max_snapshot_rows`), so thousands of distinct VENs do not each cost a query.
- Answers are keyed by the *effective* target set (requested AND granted), never by client, so
  VENs with the same grants share entries, and an answer never crosses a privacy boundary: the
  key fully determines which objects and which (hidden) targets the answer holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from vtn.storage.versions import GRANTS, OBJECTS

V = TypeVar("V")
SNAPSHOT_RETRY_S = 3600.0  # after a refused grant snapshot (too many grants), per-client entries this long
_NONE: frozenset[str] = frozenset()


class _TtlMap(Generic[V]):
    def __init__(self, ttl_s: float, max_entries: int, clock: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._items: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        if found[0] < self.clock():
            del self._items[key]
            return None
        return found[1]

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._items) >= self.max_entries:
            # Rare and cheap to rebuild: a full clear keeps the bound without LRU bookkeeping.
            self._items.clear()
        self._items[key] = (self.clock() + self.ttl_s, value)

    def clear(self) -> None:
        self._items.clear()


class ReadCache:
    def __init__(
        self,
        *,
        answer_ttl_s: float = 1.0,
        stable_ttl_s: float = 60.0,
        grant_ttl_s: float = 5.0,
        max_answers: int = 20_000,
        max_grants: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._answers: _TtlMap[bytes] = _TtlMap(answer_ttl_s, max_answers, clock)
        self._stable: _TtlMap[bytes] = _TtlMap(stable_ttl_s, max_answers, clock)
        # Moves whenever answers are dropped: an answer built from a read that began before a drop
        # may hold what the write changed, so it is not kept (keep_answer's `since`).
        self.generation = 0
        self._grants: _TtlMap[frozenset[str]] = _TtlMap(grant_ttl_s, max_grants, clock)
        self._clock = clock
        self._grant_ttl_s = grant_ttl_s
        self._snapshot: dict[str, frozenset[str]] | None = None
        self._snapshot_until = 0.0
        self._snapshot_possible = grant_ttl_s > 0
        self._snapshot_refused_until = 0.0
        self._stamps: dict[str, bytes] | None = None

    @property
    def keeps_answers(self) -> bool:
        """Whether answers are kept at all (read_cache_seconds > 0)."""
        return self._answers.ttl_s > 0 or self._stable.ttl_s > 0

    @property
    def keeps_grants(self) -> bool:
        """Whether grants are kept at all (grant_cache_seconds > 0)."""
        return self._grant_ttl_s > 0

    def answer(self, key: Hashable) -> bytes | None:
        found = self._stable.get(key)
        return found if found is not None else self._answers.get(key)

    def keep_answer(
        self, key: Hashable, body: bytes, *, clocked: bool = True, since: int | None = None
    ) -> None:
        """Keep an encoded answer; `clocked=False` if only a write (never time) can change it.

        `since`: the generation read before the answer was built; if answers were dropped since, the
        answer may predate that write and is not kept.
        """
        if since is not None and since != self.generation:
            return
        (self._answers if clocked else self._stable).put(key, body)

    def grants(self, client_id: str) -> frozenset[str] | None:
        if self._snapshot is not None and self._clock() < self._snapshot_until:
            return self._snapshot.get(client_id, _NONE)
        return self._grants.get(client_id)

    def needs_snapshot(self) -> bool:
        now = self._clock()
        return (
            self._snapshot_possible
            and now >= self._snapshot_refused_until
            and (self._snapshot is None or now >= self._snapshot_until)
        )

    def keep_snapshot(self, snapshot: dict[str, frozenset[str]] | None) -> None:
        """All clients' grants; None means too many to hold, so fall back to per-client entries.

        A refusal holds for SNAPSHOT_RETRY_S whatever changes meanwhile: finding out costs a query
        over every grant (seconds at 1,000,000 VENs), and a deployment that large rarely shrinks."""
        if snapshot is None:
            self._snapshot_possible = False
            self._snapshot_refused_until = self._clock() + SNAPSHOT_RETRY_S
            return
        self._snapshot = snapshot
        self._snapshot_until = self._clock() + self._grant_ttl_s

    def stamps_seen(self, stamps: dict[str, bytes]) -> None:
        """Compare the change stamps read from the store with the last ones; drop what moved."""
        previous, self._stamps = self._stamps, stamps
        if previous is None:
            return
        if previous.get(GRANTS) != stamps.get(GRANTS):
            self.grants_changed()
        elif previous.get(OBJECTS) != stamps.get(OBJECTS):
            self.objects_changed()

    def keep_grants(self, client_id: str, grants: frozenset[str]) -> None:
        self._grants.put(client_id, grants)

    def objects_changed(self) -> None:
        """A program or event was written."""
        self.generation += 1
        self._answers.clear()
        self._stable.clear()

    def grants_changed(self) -> None:
        """A ven or resource was written: targets granted to VENs may have changed."""
        self._grants.clear()
        self._snapshot = None
        self._snapshot_possible = self._grant_ttl_s > 0
        self.generation += 1
        self._answers.clear()
        self._stable.clear()
