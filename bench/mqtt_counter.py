"""MQTT subscriber for the MQTT fan-out scenario: counts what the broker delivers on the VEN topics.

`python -m bench.mqtt_counter --prefix P --expect N --out FILE` subscribes (QoS 1, as a VEN would)
to `P/vens/+/events/+`, touches FILE.ready once the subscription is acknowledged, and writes
{"count", "distinct", "first", "last", "arrivals"} to FILE once N messages arrived or --timeout
seconds passed. paho-mqtt's threaded-free loop: the least Python per message.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--prefix", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    out = Path(args.out)
    arrivals: list[float] = []
    topics: set[str] = set()
    done = False

    def on_connect(client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        client.subscribe(f"{args.prefix}/vens/+/events/+", qos=1)

    def on_subscribe(*_: Any) -> None:
        Path(f"{out}.ready").touch()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal done
        arrivals.append(time.time())
        topics.add(msg.topic)
        if len(arrivals) >= args.expect:
            done = True

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-counter-{args.prefix}")
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(args.host, args.port, keepalive=60)
    deadline = time.monotonic() + args.timeout
    while not done and time.monotonic() < deadline:
        client.loop(timeout=0.1)
    client.disconnect()
    out.write_text(
        json.dumps(
            {
                "count": len(arrivals),
                "distinct": len(topics),
                "first": arrivals[0] if arrivals else None,
                "last": arrivals[-1] if arrivals else None,
                "arrivals": arrivals,
            }
        )
    )


if __name__ == "__main__":
    main()
