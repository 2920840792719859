"""Footprint of one VEN agent on a gateway: resident memory and idle CPU.

Starts a VTN (SQLite in a temporary directory, a free loopback port) and ONE `ven run` agent with 10
resources (two of each built-in adapter, telemetry every 10 s), waits until the agent is onboarded
and has settled, then samples the agent process for --seconds:

* memory: VmRSS (and VmHWM, the peak) from /proc/<pid>/status;
* CPU: utime + stime from /proc/<pid>/stat, as a percentage of one core over the sampling window.

    python bench/ven_footprint.py [--seconds 30] [--event] [--json]

--event publishes a long price event first, so telemetry reports are made and sent while sampling
(steady state rather than idle). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
BASE_PATH = "/openadr3/3.1.0"
TARGET_RSS_MB = 60.0

# Two of each built-in adapter, with options that exercise their price logic.
PRICED = {"low_price": 0.12, "high_price": 0.45}
DEVICES: list[tuple[str, str, dict[str, Any]]] = [
    ("battery", "BATTERY", {"capacity_kwh": 13.5, "max_power_kw": 5.0, **PRICED}),
    ("ev_charger", "EV_CHARGER", {"max_power_kw": 11.0, "arrival": "00:00", "departure": "23:59", **PRICED}),
    ("heat_pump", "HEAT_PUMP", {"rated_kw": 3.0, **PRICED}),
    ("pv_inverter", "PV_INVERTER", {"peak_kw": 6.0}),
    ("water_heater", "WATER_HEATER", {"element_kw": 3.0, **PRICED}),
]


def command(name: str) -> list[str]:
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTN_", "VEN_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_json(args: list[str]) -> dict[str, str]:
    out = subprocess.run(args, capture_output=True, text=True, env=clean_env(), check=True, timeout=120)
    doc: dict[str, str] = json.loads(out.stdout)
    return doc


def wait_until(check: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"ven_footprint: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def agent_config(base: str, creds: dict[str, str], poll_seconds: float, every_seconds: float) -> str:
    lines = [
        "[vtn]",
        f"url = {toml_value(base)}",
        f"client_id = {toml_value(creds['client_id'])}",
        f"client_secret = {toml_value(creds['client_secret'])}",
        "",
        "[ven]",
        'name = "footprint-gateway"',
        "seed = 1",
        "",
        "[events]",
        'mode = "poll"',
        f"poll_seconds = {poll_seconds}",
    ]
    for adapter, rtype, options in DEVICES:
        for n in (1, 2):
            rid = f"{adapter.replace('_', '-')}-{n}"
            lines += ["", "[[resources]]", f'id = "{rid}"', f'type = "{rtype}"', f'adapter = "{adapter}"']
            lines += ["[resources.options]", *(f"{k} = {toml_value(v)}" for k, v in options.items())]
    types = ["USAGE", "DEMAND", "STORAGE_CHARGE_LEVEL", "OPERATING_STATE"]
    lines += ["", "[[telemetry]]", 'name = "telemetry"', f"every_seconds = {every_seconds}"]
    lines += [f"payload_types = {toml_value(types)}", ""]
    return "\n".join(lines)


# -- /proc sampling ------------------------------------------------------------------------------


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def sample(pid: int, seconds: float) -> dict[str, float]:
    rss: list[int] = []
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    while True:
        rss.append(rss_kb(pid)[0])
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        time.sleep(min(1.0, seconds - elapsed))
    cpu = cpu_seconds(pid) - start_cpu
    wall = time.monotonic() - start
    return {
        "rss_mb_mean": sum(rss) / len(rss) / 1024,
        "rss_mb_max": max(rss) / 1024,
        "rss_mb_peak_hwm": rss_kb(pid)[1] / 1024,
        "cpu_percent": 100 * cpu / wall,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "samples": len(rss),
    }


async def publish_event(base: str, creds: dict[str, str]) -> str:
    from shared.models import EventRequest, ProgramRequest
    from ven.client import VtnClient

    async with VtnClient(base, client_id=creds["client_id"], client_secret=creds["client_secret"]) as vtn:
        program = await vtn.create_program(ProgramRequest(program_name="footprint"))
        start = datetime.now(UTC).replace(microsecond=0)
        event = await vtn.create_event(
            EventRequest.model_validate(
                {
                    "programID": program.id,
                    "payloadDescriptors": [
                        {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "units": "KWH"}
                    ],
                    "intervalPeriod": {"start": start.isoformat(), "duration": "PT1M"},
                    "intervals": [
                        {"id": i, "payloads": [{"type": "PRICE", "values": [p]}]}
                        for i, p in enumerate([0.05, 0.60] * 30)
                    ],
                }
            )
        )
        return event.id


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30, help="sampling window in seconds (default 30)")
    parser.add_argument(
        "--settle", type=float, default=5, help="seconds to wait after onboarding (default 5)"
    )
    parser.add_argument(
        "--telemetry", type=float, default=10, help="telemetry interval in seconds (default 10)"
    )
    parser.add_argument("--poll", type=float, default=10, help="agent event poll interval (default 10)")
    parser.add_argument("--event", action="store_true", help="publish a long price event (reports flow)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("ven_footprint: needs Linux /proc")

    work = Path(tempfile.mkdtemp(prefix="ven-footprint-"))
    db = f"sqlite:///{work / 'vtn.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}{BASE_PATH}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [*command("vtn"), "db", "upgrade", "--db", db], check=True, capture_output=True, env=clean_env()
        )
        bl = run_json(
            [*command("vtn"), "clients", "add", "--db", db, "--name", "bl", "--role", "bl", "--json"]
        )
        ven = run_json(
            [*command("vtn"), "clients", "add", "--db", db, "--name", "gw", "--role", "ven", "--json"]
        )
        with open(work / "vtn.log", "wb") as out:
            procs.append(
                subprocess.Popen(
                    [*command("vtn"), "serve", "--db", db, "--port", str(port), "--no-migrate"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=clean_env(VTN_LOG_LEVEL="WARNING"),
                )
            )
        wait_until(lambda: http_ok(f"{base}/auth/server"), "the VTN", 30)

        config = work / "ven.toml"
        config.write_text(agent_config(base, ven, args.poll, args.telemetry))
        state = work / "ven-state"
        with open(work / "agent.log", "wb") as out:
            agent = subprocess.Popen(
                [*command("ven"), "run", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=clean_env(VEN_STATE_DIR=str(state)),
            )
        procs.append(agent)

        def onboarded() -> bool:
            if agent.poll() is not None:
                raise SystemExit(
                    f"ven_footprint: the agent exited ({agent.returncode}); see {work}/agent.log"
                )
            try:
                return bool(json.loads((state / "status.json").read_text()).get("onboarded"))
            except (OSError, ValueError):
                return False

        started = time.monotonic()
        wait_until(onboarded, "the agent to onboard", 60)
        onboard_s = time.monotonic() - started
        if args.event:
            asyncio.run(publish_event(base, bl))
        time.sleep(args.settle)
        result = sample(agent.pid, args.seconds)
        result["onboard_seconds"] = onboard_s
        result["resources"] = 2 * len(DEVICES)
        log = (work / "agent.log").read_text()
        result["reports_sent"] = log.count("reached the VTN")
        result["reports_rejected"] = log.count("VTN rejected report")
        result["event"] = args.event
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            verdict = "OK" if result["rss_mb_max"] < TARGET_RSS_MB else "OVER"
            mode = "with a price event (reports flowing)" if args.event else "idle (no events)"
            print(f"VEN agent, {result['resources']} resources, telemetry every {args.telemetry:g} s, {mode}")
            print(f"  onboarded after   {onboard_s:.1f} s")
            print(
                f"  RSS               {result['rss_mb_mean']:.1f} MB mean, {result['rss_mb_max']:.1f} MB max "
                f"(peak VmHWM {result['rss_mb_peak_hwm']:.1f} MB); target < {TARGET_RSS_MB:g} MB: {verdict}"
            )
            print(
                f"  CPU               {result['cpu_percent']:.2f} % of one core "
                f"({result['cpu_seconds']:.2f} s CPU over {result['wall_seconds']:.1f} s)"
            )
            print(f"  reports           {result['reports_sent']} sent, {result['reports_rejected']} rejected")
        return 0
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if args.keep:
            print(f"(work directory kept: {work})", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
