"""`ven check`: a conformance run of the kit against any VTN (OpenADR 3.1.0, 3.0.1 or 2.0b).

Each check names the clause it tests (a section of the 3.1.0 Definition or User Guide, an OpenAPI
operationId, or a 2.0b profile section) and ends PASS, FAIL or SKIP with the reason. Model:
`model` (results), `runner` (checks in order), `suite3` + `ctx3` + `checks_*` (3.x over raw HTTP,
`dialect` for what differs between 3.1.0 and 3.0.1), `suite20b` (2.0b over the shared codec),
`receiver` (the webhook endpoint the kit runs), `reporters` (text, JSON, JUnit).
"""

from __future__ import annotations

from ven.check.model import CheckResult, Outcome, Protocol, RunResult
from ven.check.options import CheckOptions

__all__ = ["CheckOptions", "CheckResult", "Outcome", "Protocol", "RunResult", "run"]


async def run(options: CheckOptions) -> RunResult:
    """Run every check of `options.protocol` against `options.vtn`."""
    if options.protocol is Protocol.V20B:
        from ven.check.suite20b import run20b

        return await run20b(options)
    from ven.check.suite3 import run3

    return await run3(options)
