"""BL script: create (or reuse) a program and publish a price event starting now; optionally watch reports.

    python examples/bl_price_event.py --url http://127.0.0.1:8080/openadr3/3.1.0 \
        --client-id ID --client-secret SECRET [--intervals 6 --minutes 1] [--watch 120]

Credentials default to var/demo-bl.json (written by `make run`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from shared.errors import Conflict
from shared.models import EventRequest, ProgramRequest
from ven.client import VtnClient


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080/openadr3/3.1.0", help="VTN base URL")
    p.add_argument("--client-id", help="BL client id (default: from var/demo-bl.json)")
    p.add_argument("--client-secret", help="BL client secret")
    p.add_argument("--program", default="demo-dynamic-tariff", help="program name (created if missing)")
    p.add_argument("--intervals", type=int, default=6, help="number of price intervals")
    p.add_argument("--minutes", type=int, default=1, help="length of each interval in minutes")
    p.add_argument("--watch", type=float, default=0, help="then print reports as they arrive, for N seconds")
    return p.parse_args()


async def main(args: argparse.Namespace) -> None:
    if not args.client_id:
        creds = json.loads(Path("var/demo-bl.json").read_text())
        args.client_id, args.client_secret = creds["client_id"], creds["client_secret"]
    async with VtnClient(args.url, client_id=args.client_id, client_secret=args.client_secret) as vtn:
        try:
            program = await vtn.create_program(ProgramRequest(program_name=args.program))
        except Conflict:
            program = next(p for p in await vtn.list_programs() if p.program_name == args.program)
        start = datetime.now(UTC).replace(microsecond=0)
        prices = [0.10, 0.35, 0.55, 0.40, 0.15, 0.08, 0.30, 0.50][: args.intervals] or [0.2]
        event = await vtn.create_event(
            EventRequest.model_validate(
                {
                    "programID": program.id,
                    "eventName": f"price-{start:%H%M%S}",
                    "payloadDescriptors": [
                        {
                            "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                            "payloadType": "PRICE",
                            "units": "KWH",
                            "currency": "EUR",
                        }
                    ],
                    "reportDescriptors": [{"payloadType": "USAGE", "units": "KWH"}],
                    "intervalPeriod": {"start": start.isoformat(), "duration": f"PT{args.minutes}M"},
                    "intervals": [
                        {"id": i, "payloads": [{"type": "PRICE", "values": [price]}]}
                        for i, price in enumerate(prices)
                    ],
                }
            )
        )
        when = f"{start:%H:%M:%S}"
        print(f"[BL] event {event.id} ({event.event_name}) published: prices {prices} EUR/kWh from {when}")
        seen: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.watch
        while loop.time() < deadline:
            async for report in vtn.iter_reports(event_id=event.id):
                if report.id in seen:
                    continue
                seen.add(report.id)
                for res in report.resources:
                    values = {p.type: p.values[0] for i in res.intervals for p in i.payloads if p.values}
                    print(f"[VTN] report from {report.client_name} / {res.resource_name}: {values}")
            await asyncio.sleep(2)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
