"""The 3.x conformance run: the checks in order, around one context (clients, receiver, clean-up)."""

from __future__ import annotations

import aiohttp

from ven.check import checks_auth, checks_notify, checks_objects, checks_privacy, checks_reports
from ven.check.ctx3 import Ctx3
from ven.check.model import RunResult
from ven.check.options import CheckOptions
from ven.check.runner import Check, reachable, run_checks

CHECKS: tuple[Check[Ctx3], ...] = (
    *checks_auth.CHECKS,
    *checks_objects.CHECKS,
    *checks_privacy.CHECKS,
    *checks_reports.CHECKS,
    *checks_notify.CHECKS,
    *checks_privacy.CHECKS_LAST,
    *checks_reports.CHECKS_LAST,
)


async def run3(options: CheckOptions) -> RunResult:
    result = RunResult(options.vtn, options.protocol)
    timeout = aiohttp.ClientTimeout(total=max(30.0, options.wait_seconds * 2))
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ctx = Ctx3(options, session)
        probe = "/auth/server" if ctx.dialect.is_310 else "/programs"
        await reachable(session, options.vtn.rstrip("/") + probe, options.ssl_context())
        await ctx.receiver.start()
        try:
            await run_checks(CHECKS, ctx, result)
        finally:
            await ctx.cleanup()
            await ctx.receiver.stop()
    return result
