"""Webhook fan-out alone, repeated, without the bare-aiohttp baseline runs of bench/run.py.

`python bench/fanout_cpu.py --fanout 10000 --rounds 2 [--mqtt]`: runs the fanout (or mqtt)
scenario `rounds` times and prints each row: total delivery time, POST answer time, VTN CPU per
notification (event loop thread and other threads apart) and the receiver's CPU per notification.
On a loaded machine judge by the CPU figures; wall-clock times follow the load.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import scenarios_mqtt, scenarios_write  # noqa: E402
from bench.common import DATA, DEFAULT_PG_URL, _pg_version  # noqa: E402
from bench.context import Ctx  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fanout", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--mqtt", action="store_true", help="the MQTT fan-out instead of webhooks")
    p.add_argument("--profile", action="store_true", help="py-spy the VTN (bench/.data/profiles)")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = p.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(
        quick=False,
        pg_url=args.pg_url,
        pg_ok=_pg_version(args.pg_url) is not None,
        duration=10.0,
        warmup=2.0,
        connections=32,
        threads=1,
        profile=args.profile,
        log=lambda msg: print(msg, flush=True),
    )
    for _ in range(args.rounds):
        if args.mqtt:
            scenarios_mqtt.mqtt_fanout(ctx, "sqlite", args.fanout)
        else:
            scenarios_write.fanout(ctx, "sqlite", args.fanout)
    for row in ctx.rows:
        print(json.dumps({"note": row.note, "rss": row.peak_rss_mb, **row.extra}))


if __name__ == "__main__":
    main()
