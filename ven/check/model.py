"""What a conformance run produces: one CheckResult per check (PASS, FAIL or SKIP, and why).

A check function returns a short PASS detail or raises `Fail` / `Skip` with the reason; any other
exception is a FAIL naming the exception (the VTN did something the kit did not expect).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Protocol(StrEnum):
    V310 = "3.1.0"
    V301 = "3.0.1"
    V20B = "2.0b"


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


class Fail(Exception):
    """The VTN broke the clause the check tests; the message says how."""


class Skip(Exception):
    """The check cannot run here (missing credentials, feature not offered); the message says why."""


class VtnUnreachable(Exception):
    """Nothing answers at the VTN URL (refused, DNS, TLS): no check can run; the message says why."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    check_id: str
    title: str
    clause: str
    outcome: Outcome
    reason: str
    seconds: float


@dataclass(slots=True)
class RunResult:
    vtn: str
    protocol: Protocol
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def ok(self) -> bool:
        """Nothing failed (skips do not fail a run)."""
        return self.count(Outcome.FAIL) == 0
