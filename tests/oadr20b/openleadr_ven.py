"""An OpenLEADR VEN run as a subprocess in its own virtualenv (see test_openleadr_peer.py).

Never imported by our code or tests: it runs under the openleadr virtualenv's Python. It registers,
opts in to every event, offers one telemetry report (real power, 1 s sampling) and keeps polling
for `seconds`. Each event it receives is printed as one JSON line on stdout.

With CERT KEY CA it uses mutual TLS and signs every message with that certificate (OpenLEADR ties
both to the same files); with VTN_FINGERPRINT it also verifies the VTN's signatures.

usage: python openleadr_ven.py VTN_URL VEN_NAME SECONDS [CERT KEY CA [VTN_FINGERPRINT]]
"""

import asyncio
import json
import sys
from datetime import timedelta

from openleadr import OpenADRClient


async def main(url, ven_name, seconds, cert=None, key=None, ca=None, vtn_fingerprint=None):
    client = OpenADRClient(
        ven_name=ven_name,
        vtn_url=url,
        cert=cert,
        key=key,
        ca_file=ca,
        vtn_fingerprint=vtn_fingerprint,
        disable_signature=cert is None,
        show_fingerprint=False,
    )

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
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], float(args[2]), *args[3:]))
