"""Deletes audit rows older than `audit_retention_days`, and long-expired login refusals, hourly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from aiohttp import web

from vtn.core.core import Changes
from vtn.core.queries import Tx
from vtn.core.state import STATE

log = logging.getLogger("vtn.audit")
INTERVAL_S = 3600.0
PURGER = web.AppKey("vtn_audit_purger", asyncio.Task)


async def purge_once(app: web.Application) -> int:
    """One purge; the number of audit rows deleted."""
    st = app[STATE]
    days = st.config.audit_retention_days

    async def work(tx: Tx, _: Changes) -> int:
        clock = tx.clients.clock
        now = clock()
        gone = await tx.audit().purge(now - timedelta(days=days)) if days > 0 else 0
        # A refusal row older than twice the longest lockout locks nothing any more.
        await tx.logins().purge(now - timedelta(seconds=2 * st.config.lockout_max_seconds))
        return gone

    gone = await st.core.run(work)
    if gone:
        log.info("deleted %d audit rows older than %s days", gone, days)
    return gone


async def _run(app: web.Application) -> None:
    while True:
        await asyncio.sleep(INTERVAL_S)
        try:
            await purge_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # the store may be briefly away: try again next time
            log.warning("audit purge failed", exc_info=True)


async def start(app: web.Application) -> None:
    app[PURGER] = asyncio.create_task(_run(app), name="audit-purge")


async def stop(app: web.Application) -> None:
    app[PURGER].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app[PURGER]
