"""An OpenLEADR VTN (`openleadr.OpenADRServer`) run as a subprocess in its own virtualenv.

Never imported by our code or tests: it runs under the openleadr virtualenv's Python (see
test_openleadr_vtn.py). Mutual TLS with CA, certificate and key; it signs every message with that
certificate and, as OpenLEADR does over TLS, checks each VEN message's TLS fingerprint and XML
signature against `ven_lookup`. It admits one VEN (name and short fingerprint given), gives it one
SIMPLE event that is active now, requests every telemetry rID it offers at 1 s, and prints one JSON
line per happening on stdout: {"registered"}, {"offered"}, {"opt"}, {"report"}, {"cancelled"}.

usage: python openleadr_vtn.py PORT VTN_ID CERT KEY CA VEN_NAME VEN_FINGERPRINT SECONDS
"""

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

from openleadr import OpenADRServer

VEN_ID = "ven-openleadr-1"
REGISTRATION_ID = "reg-openleadr-1"
EVENT_ID = "openleadr-event-1"


def emit(**line):
    print(json.dumps(line, default=str), flush=True)


async def main(port, vtn_id, cert, key, ca, ven_name, ven_fingerprint, seconds):
    def ven_lookup(ven_id):
        if ven_id != VEN_ID:
            return {}
        return {
            "ven_id": VEN_ID,
            "ven_name": ven_name,
            "fingerprint": ven_fingerprint,
            "registration_id": REGISTRATION_ID,
        }

    server = OpenADRServer(
        vtn_id=vtn_id,
        cert=cert,
        key=key,
        http_cert=cert,
        http_key=key,
        http_ca_file=ca,
        http_host="127.0.0.1",
        http_port=port,
        ven_lookup=ven_lookup,
        requested_poll_freq=timedelta(seconds=1),
        show_fingerprint=False,
    )

    def on_opt(ven_id, event_id, opt_type):
        emit(opt=opt_type, ven_id=ven_id, event_id=event_id)

    async def on_create_party_registration(info):
        accepted = info.get("ven_name") == ven_name and info.get("fingerprint") == ven_fingerprint
        emit(registered=info.get("ven_name"), fingerprint=info.get("fingerprint"), accepted=accepted)
        if not accepted:
            return False
        server.add_event(
            ven_id=VEN_ID,
            signal_name="SIMPLE",
            signal_type="level",
            intervals=[
                {
                    "dtstart": datetime.now(UTC) - timedelta(seconds=5),
                    "duration": timedelta(minutes=30),
                    "signal_payload": 1.0,
                }
            ],
            callback=on_opt,
            event_id=EVENT_ID,
        )
        return VEN_ID, REGISTRATION_ID

    async def on_register_report(
        ven_id, resource_id, measurement, unit, scale, min_sampling_interval, max_sampling_interval
    ):
        emit(offered=resource_id, measurement=measurement, unit=unit, scale=scale)

        def collect(values):
            emit(report=resource_id, measurement=measurement, values=[v for _, v in values])

        return collect, max(min_sampling_interval, timedelta(seconds=1))

    async def on_cancel_party_registration(payload):
        # OpenLEADR's placeholder answers a plain oadrResponse; 2.0b wants oadrCanceledPartyRegistration.
        emit(cancelled=payload.get("ven_id"))
        reply = {"registration_id": payload.get("registration_id"), "ven_id": payload.get("ven_id")}
        return "oadrCanceledPartyRegistration", reply

    server.add_handler("on_create_party_registration", on_create_party_registration)
    server.add_handler("on_cancel_party_registration", on_cancel_party_registration)
    server.add_handler("on_register_report", on_register_report)
    await server.run()
    emit(listening=port)
    await asyncio.sleep(seconds)
    await server.stop()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(int(a[0]), a[1], a[2], a[3], a[4], a[5], a[6], float(a[7])))
