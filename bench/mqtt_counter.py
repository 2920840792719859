"""MQTT subscriber for the MQTT fan-out scenario: counts what the broker delivers on the VEN topics.

`python -m bench.mqtt_counter --prefix P --expect N --out FILE` subscribes (QoS 0, see --qos)
to `P/vens/+/events/+`, touches FILE.ready once the subscription is acknowledged, and writes
{"count", "distinct", "first", "last", "arrivals"} to FILE once N messages arrived, --timeout
seconds passed, or it is terminated.

MQTT 3.1.1 over a plain blocking socket, parsed by hand: a Python client library (paho) reads one
packet per loop turn and could not keep up with the VTN's publisher; Mosquitto then drops what
exceeds its per-client queue (max_queued_messages), which would be counted as lost. PUBACKs for a
read's worth of messages go back in one send.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
import time
from pathlib import Path


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("!H", len(raw)) + raw


def _packet(kind: int, body: bytes) -> bytes:
    n, length = len(body), bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            return bytes([kind]) + bytes(length) + body


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--prefix", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--out", required=True)
    # QoS 0 by default: at QoS 1 Mosquitto's default per-client limits (20 in flight, 1,000 queued)
    # drop what one subscriber of every VEN topic cannot take as fast as the VTN publishes; a real
    # VEN gets one message per change. The VTN's own publishes are QoS 1 either way.
    p.add_argument("--qos", type=int, default=0, choices=[0, 1])
    args = p.parse_args()
    out = Path(args.out)
    arrivals: list[float] = []
    topics: set[bytes] = set()

    sock = socket.create_connection((args.host, args.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    connect = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _string(f"bench-{args.prefix}")
    sock.sendall(_packet(0x10, connect))
    sock.sendall(
        _packet(0x82, struct.pack("!H", 1) + _string(f"{args.prefix}/vens/+/events/+") + bytes([args.qos]))
    )
    deadline = time.monotonic() + args.timeout
    sock.settimeout(0.5)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _count(sock, args.expect, deadline, out, arrivals, topics)
    finally:
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


def _count(
    sock: socket.socket, expect: int, deadline: float, out: Path, arrivals: list[float], topics: set[bytes]
) -> None:
    buf = bytearray()
    while len(arrivals) < expect and time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            sock.sendall(b"\xc0\x00")  # PINGREQ: stay connected while nothing comes
            continue
        if not chunk:
            break
        now = time.time()
        buf += chunk
        acks = []
        at = 0
        while len(buf) - at >= 2:
            kind = buf[at]
            n, shift, i = 0, 0, at + 1
            while i < len(buf):
                byte = buf[i]
                n |= (byte & 0x7F) << shift
                i += 1
                if not byte & 0x80:
                    break
                shift += 7
            else:
                break
            if len(buf) - i < n:
                break
            if kind & 0xF0 == 0x30:  # PUBLISH
                tlen = (buf[i] << 8) | buf[i + 1]
                topics.add(bytes(buf[i + 2 : i + 2 + tlen]))
                arrivals.append(now)
                if kind & 0x06:  # QoS 1: acknowledge
                    acks.append(b"\x40\x02" + bytes(buf[i + 2 + tlen : i + 4 + tlen]))
            elif kind == 0x90:  # SUBACK
                Path(f"{out}.ready").touch()
            at = i + n
        del buf[:at]
        if acks:
            sock.sendall(b"".join(acks))
    sock.sendall(b"\xe0\x00")
    sock.close()


if __name__ == "__main__":
    main()
