"""A core for program automation outside a serving process (the `vtn areas|publish|verify` commands).

Its writes take the ordinary write path: notifications go to the outbox, where a serving process's
delivery worker finds them; the change stamps tell serving processes to drop their cached answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from vtn.config import VtnConfig
from vtn.core.core import Core
from vtn.notify.mqtt import mqtt_binding
from vtn.services.notifier import Notifier
from vtn.services.read_cache import ReadCache
from vtn.storage import open_store


@asynccontextmanager
async def standalone_core(url: str, config: VtnConfig | None = None) -> AsyncIterator[Core]:
    """A core over the database at `url`; MQTT rows are queued too when the config names a broker."""
    store = open_store(url)
    try:
        notifier = Notifier(store.clock)
        mqtt = mqtt_binding(config) if config is not None else None
        if mqtt is not None:
            notifier.extra_sinks.append(mqtt[0])
        yield Core(store, notifier, ReadCache())
    finally:
        await store.close()
