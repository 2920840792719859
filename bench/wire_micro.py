"""CPU µs per call of the JSON wire checks, without a database or HTTP.

    .venv/bin/python bench/wire_micro.py [--n 20000]

Times the schema check of the 24-interval usage report that bench/scenarios_write.py sends (and of
a 24-interval event), the valuesMap checks that follow it, a rejected report (the error path that
builds the RFC 9457 pointer) and the whole `oadr3_json.decode` (parse + schema + pydantic). CPU is
process time, so other load on a shared machine inflates the figures less than wall time would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenarios_write import report_body  # noqa: E402
from shared.errors import SchemaViolation  # noqa: E402
from shared.models import EventRequest, ReportRequest  # noqa: E402
from shared.validation import SchemaRegistry  # noqa: E402
from shared.wire import oadr3_json  # noqa: E402


def timed(name: str, fn: Callable[[], Any], n: int) -> float:
    for _ in range(max(3, n // 20)):
        fn()
    best = float("inf")
    for _ in range(3):  # the best of three runs: the least disturbed by other processes
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n * 1e6)
    print(f"  {name:56s} {best:8.2f} µs CPU", flush=True)
    return best


def event_doc() -> dict[str, Any]:
    return {
        "programID": "program-1",
        "eventName": "day-ahead",
        "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
        "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE"}],
        "intervals": [
            {"id": k, "payloads": [{"type": "PRICE", "values": [0.1 + k / 100]}]} for k in range(24)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    registry = SchemaRegistry()
    body = report_body("event-1", "ven-1", 0).encode()
    report = json.loads(body)
    event = event_doc()
    event_body = json.dumps(event).encode()
    bad = json.loads(body)
    bad["resources"][0]["intervals"][17]["id"] = "seventeen"

    def rejected() -> None:
        try:
            registry.validate("reportRequest", bad)
        except SchemaViolation:
            return
        raise AssertionError("the bad report passed")

    print(f"JSON wire checks ({len(body)}-byte report, 24 intervals):")
    timed("validate('reportRequest', report)", lambda: registry.validate("reportRequest", report), n)
    timed("is_valid('reportRequest', report)", lambda: registry.is_valid("reportRequest", report), n)
    timed("validate('eventRequest', event)", lambda: registry.validate("eventRequest", event), n)
    timed("validate_payloads('report', report)", lambda: registry.validate_payloads("report", report), n)
    timed("validate of a bad report (error + pointer)", rejected, max(200, n // 20))
    timed(
        "oadr3_json.decode(reportRequest)",
        lambda: oadr3_json.decode(registry, "reportRequest", ReportRequest, body),
        max(200, n // 10),
    )
    timed(
        "oadr3_json.decode(eventRequest)",
        lambda: oadr3_json.decode(registry, "eventRequest", EventRequest, event_body),
        max(200, n // 10),
    )


if __name__ == "__main__":
    main()
