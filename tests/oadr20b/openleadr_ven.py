"""An OpenLEADR VEN run as a subprocess in its own virtualenv (see test_openleadr_peer.py).

Never imported by our code or tests: it runs under the openleadr virtualenv's Python. It registers,
opts in to every event, offers one telemetry report (real power, 1 s sampling) and keeps polling
for `seconds`. Each event it receives is printed as one JSON line on stdout.

usage: python openleadr_ven.py VTN_URL VEN_NAME SECONDS
"""

import asyncio
import json
import sys
from datetime import timedelta

from openleadr import OpenADRClient


async def main(url: str, ven_name: str, seconds: float) -> None:
    client = OpenADRClient(ven_name=ven_name, vtn_url=url, disable_signature=True, show_fingerprint=False)

    async def on_event(event):
        descriptor = event["event_descriptor"]
        line = {
            "event_id": descriptor["event_id"],
            "modification_number": descriptor["modification_number"],
            "status": descriptor["event_status"],
            "signals": [s["signal_name"] for s in event["event_signals"]],
        }
        print(json.dumps(line), flush=True)
        return "optIn"

    client.add_handler("on_event", on_event)
    client.add_report(
        callback=lambda: 1234.5,
        resource_id="meter-1",
        measurement="power_real",
        sampling_rate=timedelta(seconds=1),
        report_duration=timedelta(hours=1),
    )
    await client.run()
    await asyncio.sleep(seconds)
    await client.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
