"""Which clients called the VTN: noted in memory per request, recorded in the store in batches.

`note` is a dict assignment (it runs on every authenticated request); `flush` writes what was noted
since the last one in a single transaction, logs one line per VEN seen for the first time by any
VTN process, and counts it. `vtn serve` flushes every `contacts_flush_seconds`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.enums import Role
from vtn.storage import Store, gauges

log = logging.getLogger("vtn.contacts")


class ContactTracker:
    def __init__(self, store: Store, on_first_seen: Callable[[int], None] | None = None) -> None:
        self.store = store
        self.on_first_seen = on_first_seen
        self._noted: dict[str, str] = {}

    def note(self, client_id: str, role: Role | str) -> None:
        self._noted[client_id] = str(role)

    async def flush(self) -> list[str]:
        """Record what was noted; the VEN clients seen for the first time."""
        if not self._noted:
            return []
        noted, self._noted = self._noted, {}
        try:
            new = await gauges.record_contacts(self.store, noted)
        except BaseException:
            # Keep them for the next flush (a newer note of the same client wins).
            self._noted = {**noted, **self._noted}
            raise
        vens = [c for c in new if noted[c] == Role.VEN.value]
        for client_id in vens:
            log.info("VEN client %r seen for the first time", client_id)
        if vens and self.on_first_seen is not None:
            self.on_first_seen(len(vens))
        return vens
