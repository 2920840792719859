"""Per process: which VENs' last oadrPoll found nothing, and which small payloads were already valid.

Most polls find nothing (an oadrResponse). Building that answer from the store costs a write
transaction and several queries; this cache answers it from memory while nothing that could change
it has been written anywhere:

- 3.1 writes of programs/events (OBJECTS) and vens/resources (GRANTS) bump change stamps in the
  store (vtn/storage/versions.py); 2.0b writes that change poll answers (queued messages,
  registrations) bump OADR20B the same way (Oadr20bStore);
- before using an entry the cache makes sure its stamps are current: it re-reads them when its
  sentinel entry in the 3.1 read cache is gone, which happens when this process writes (the read
  cache is cleared after the commit) and when the read cache's TTL (`read_cache_seconds`) passes;
  a 2.0b write in this process clears it directly. So another process's write shows within
  `read_cache_seconds` (the 3.1 API's rule); one of this process at once.
- an entry is kept only if no invalidation happened while its poll ran (generation check), and it
  is keyed by venID *and* the caller's client, so admission by certificate is never bypassed.

`ValidPayloads` memoises the parse of small unsigned payloads: a VEN sends the very same bytes
for every oadrPoll, and parsing and XSD validation are pure functions of the bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Final

from shared.oadr20b import messages as m
from vtn.core.core import Core
from vtn.core.stamps import GRANTS, OADR20B, OBJECTS

log = logging.getLogger("vtn.oadr20b")
_KEYS = (OBJECTS, GRANTS, OADR20B)
_SENTINEL: Final = ("oadr20b-poll-cache-sentinel",)
_MAX_QUIET = 200_000
_MAX_PAYLOADS = 50_000
_MAX_PAYLOAD_BYTES = 4096


class PollCache:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.generation = 0
        self._stamps: dict[str, bytes] | None = None
        self._quiet: dict[Hashable, bytes] = {}
        self._reading: asyncio.Future[None] | None = None

    async def refresh(self) -> None:
        """Make sure the entries are not older than the store's change stamps (usually free).

        Concurrent polls share one stamp read. The sentinel is planted before the read, so a write
        committed while it runs clears it again and the next poll reads once more.
        """
        if self.core.cached_answer(_SENTINEL) is not None:
            return
        if self._reading is None or self._reading.done():
            self.core.keep_marker(_SENTINEL)
            self._reading = asyncio.ensure_future(self._read_stamps())
        try:
            await asyncio.shield(self._reading)
        except Exception:  # the entries are dropped: this poll goes to the store, which will say more
            log.warning("could not read the change stamps for the 2.0b poll cache", exc_info=True)

    async def _read_stamps(self) -> None:
        try:
            stamps = await self.core.read_stamps(_KEYS)
        except Exception:
            self.forget()  # cannot tell what changed: nothing is answered from memory until a read works
            self._stamps = None
            raise
        if stamps != self._stamps:
            self.forget()
            self._stamps = stamps

    def quiet(self, key: Hashable) -> bytes | None:
        """The cached 'nothing for you' answer (unsigned payload) for (venID, caller), if still valid."""
        return self._quiet.get(key)

    def keep(self, key: Hashable, body: bytes, generation: int) -> None:
        if generation != self.generation:
            return  # something was written while this poll ran: do not trust its answer
        if len(self._quiet) >= _MAX_QUIET:
            self._quiet.clear()
        self._quiet[key] = body

    def forget(self) -> None:
        self.generation += 1
        self._quiet.clear()


class ValidPayloads:
    """Messages of parsed, XSD-valid small unsigned payloads, by their exact bytes (bounded).

    No element named Signature can hide in bytes that do not contain the word (no entities, and
    character references cannot spell names), so a cacheable payload is certainly unsigned.
    """

    def __init__(self) -> None:
        self._msgs: dict[bytes, m.Message] = {}

    @staticmethod
    def cacheable(data: bytes) -> bool:
        return len(data) <= _MAX_PAYLOAD_BYTES and b"Signature" not in data

    def get(self, data: bytes) -> m.Message | None:
        return self._msgs.get(data)

    def keep(self, data: bytes, msg: m.Message) -> None:
        if len(self._msgs) >= _MAX_PAYLOADS:
            self._msgs.clear()
        self._msgs[data] = msg
