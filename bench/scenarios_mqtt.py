"""MQTT fan-out: one untargeted event published to every VEN's own topic through Mosquitto.

The VTN publishes a VEN's view of a change on `{prefix}/vens/{venID}/events/create` (docs/mqtt-acl.md),
so one event for N VENs is N messages for the broker to take (QoS 1) and deliver, plus the two BL
topics. A subscriber process (bench/mqtt_counter.py) holds a wildcard subscription on the VEN topics,
as a BL dashboard or a test rig would, and counts arrivals; the figure is the time from the POST to
the last of the N. Each run uses its own topic prefix, so other users of the broker are not counted.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
from pathlib import Path

from bench.common import BASE_PATH, DATA, PYTHON, http_json, spawn
from bench.context import Ctx, vtn
from bench.report import Row
from bench.seed import SeedSpec, ensure, event_request, mint_tokens, working_copy
from shared.enums import Role

MQTT_TARGET_S = 5.0
BROKER = ("127.0.0.1", 1883)


def mqtt_fanout(ctx: Ctx, backend: str, vens: int) -> None:
    m = ensure(SeedSpec(f"fanout-{vens}", vens, 0, events=0), backend, ctx.pg_url, log=ctx.log)
    url = working_copy(m, backend, ctx.pg_url, "mqtt")
    prefix = f"bench{secrets.token_hex(4)}"
    out = DATA / f"mqtt-counter-{prefix}.json"
    timeout = 30.0 if ctx.quick else 60.0
    counter = spawn(
        "mqtt-counter",
        [PYTHON, "-m", "bench.mqtt_counter", "--prefix", prefix, "--expect", str(vens)]
        + ["--out", str(out), "--timeout", str(timeout + 30)],
        0,
    )
    env = {"VTN_MQTT_BROKER_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}", "VTN_MQTT_TOPIC_PREFIX": prefix}
    try:
        ready = Path(f"{out}.ready")
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"MQTT counter did not subscribe:\n{counter.tail()}")
        bl = mint_tokens(url, [m.bl_client_id], Role.BL)[0]
        event = event_request(m.program_id, 0, None).model_dump(mode="json", by_alias=True, exclude_none=True)
        event["eventName"] = "mqtt-fan-out"
        with vtn(ctx, url, f"vtn-mqtt-{backend}", env=env) as proc:
            time.sleep(1.0)
            spy = ctx.start_profile(proc, f"mqtt-{backend}-{vens}", timeout)
            cpu0 = proc.cpu_seconds()
            t0 = time.time()
            status, body = http_json("POST", f"http://127.0.0.1:{proc.port}{BASE_PATH}/events", bl, event)
            answered = time.time() - t0
            if status != 201:
                raise RuntimeError(f"POST /events: HTTP {status}: {body}")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not out.exists() and counter.alive():
                time.sleep(0.05)
            cpu = proc.cpu_seconds() - cpu0
            rss = proc.peak_rss_mb()
            ctx.stop_profile(spy)
        for _ in range(100):
            if out.exists():
                break
            time.sleep(0.1)
    finally:
        counter.stop()
    stats = json.loads(out.read_text()) if out.exists() else {"count": 0, "distinct": 0, "arrivals": []}
    out.unlink(missing_ok=True)
    Path(f"{out}.ready").unlink(missing_ok=True)
    arrivals = sorted(a - t0 for a in stats["arrivals"])
    delivered = stats["count"]
    all_in = arrivals[-1] if arrivals and delivered >= vens else None
    ok = all_in is not None and all_in <= MQTT_TARGET_S and stats["distinct"] == vens
    ctx.add(
        Row(
            "mqtt",
            "1 event → every VEN's MQTT topic (VTN publishes QoS 1), all at a QoS 0 wildcard subscriber",
            backend,
            f"{vens:,} VENs",
            round(vens / all_in, 1) if all_in else None,
            "msg/s",
            round(statistics.median(arrivals) * 1000, 1) if arrivals else None,
            round(arrivals[min(len(arrivals) - 1, int(len(arrivals) * 0.99))] * 1000, 1)
            if arrivals
            else None,
            rss,
            errors=vens - min(delivered, vens),
            target=f"all in ≤ {MQTT_TARGET_S:.0f} s",
            met=ok,
            note=(
                f"all in {all_in:.2f} s (POST answered in {answered:.2f} s), "
                f"VTN CPU {cpu * 1e6 / max(1, delivered):.0f} µs/msg"
                if all_in
                else f"{delivered}/{vens} delivered in {timeout:.0f} s"
            ),
            extra={
                "post_answered_s": round(answered, 3),
                "all_delivered_s": None if all_in is None else round(all_in, 3),
                "delivered": delivered,
                "distinct": stats["distinct"],
                "vtn_cpu_s": round(cpu, 3),
                "vtn_cpu_us_per_message": round(cpu * 1e6 / max(1, delivered), 1),
            },
        )
    )
