"""Runs a list of checks in order against one context and collects their results.

A check is a coroutine function of the context returning a PASS detail; it raises Skip or Fail.
Checks run one after another: later ones may reuse objects earlier ones made (through the
context's fixtures), and the order of the output is the order of the list.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp

from ven.check.model import CheckResult, Fail, Outcome, RunResult, Skip, VtnUnreachable

C = TypeVar("C")
log = logging.getLogger("ven.check")


@dataclass(frozen=True, slots=True)
class Check(Generic[C]):
    check_id: str  # dotted, stable: used in JSON and JUnit output
    title: str
    clause: str  # where the rule is written: section of the Definition / User Guide, or operationId
    run: Callable[[C], Awaitable[str]]


async def reachable(session: aiohttp.ClientSession, url: str, ssl_context: ssl.SSLContext | None) -> None:
    """Raise VtnUnreachable unless something answers HTTP at `url` (any status will do)."""
    try:
        async with session.get(url, ssl=ssl_context if ssl_context is not None else True) as resp:
            await resp.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise VtnUnreachable(f"nothing answers at {url}: {exc or type(exc).__name__}") from exc


async def run_checks(checks: Sequence[Check[C]], ctx: C, result: RunResult) -> RunResult:
    started = time.monotonic()
    for check in checks:
        t0 = time.monotonic()
        try:
            outcome, reason = Outcome.PASS, await check.run(ctx)
        except Skip as exc:
            outcome, reason = Outcome.SKIP, str(exc)
        except Fail as exc:
            outcome, reason = Outcome.FAIL, str(exc)
        except Exception as exc:  # the VTN did something no check foresaw: that is a failure too
            log.debug("check %s raised", check.check_id, exc_info=True)
            outcome, reason = Outcome.FAIL, f"{type(exc).__name__}: {exc}"
        result.results.append(
            CheckResult(check.check_id, check.title, check.clause, outcome, reason, time.monotonic() - t0)
        )
    result.seconds = time.monotonic() - started
    return result
