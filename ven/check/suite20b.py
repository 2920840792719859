"""The 2.0b conformance run: one registration's life, checked step by step."""

from __future__ import annotations

import aiohttp

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
from shared.oadr20b.signing import XmlSigner
from ven.check.checks20b import CHECKS
from ven.check.ctx20b import Ctx20b
from ven.check.link20b import Link20b
from ven.check.model import RunResult
from ven.check.options import CheckOptions
from ven.check.runner import reachable, run_checks


async def run20b(options: CheckOptions) -> RunResult:
    result = RunResult(options.vtn, options.protocol)
    signer = None
    if options.sign and options.cert and options.key:
        signer = XmlSigner.from_files(options.cert, options.key)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await reachable(session, options.vtn.rstrip("/") + "/OadrPoll", options.ssl_context())
        link = Link20b(
            options.vtn,
            Oadr20bCodec(Oadr20bSchema()),
            session,
            ssl_context=options.ssl_context(),
            signer=signer,
        )
        await run_checks(CHECKS, Ctx20b(options, link), result)
    return result
