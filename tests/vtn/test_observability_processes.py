"""Two real `vtn serve --reuse-port` processes: one set of metrics, whichever process is scraped.

Both processes share the port of the API and the port of the plain health listener; each keeps its
metrics in files of one directory (prometheus_client's multiprocess mode) and a scrape of either adds
up both. Logs are JSON lines (`--log-format json`).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from support.processes import BASE_PATH, free_port, lab_env, vtn_command

REQUESTS = 40


def _requests_counted(text: str, route: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "vtn_http_request_duration_seconds_count" and s.labels["route"] == route:
                return s.value
    return 0.0


async def test_metrics_of_reuse_port_processes_add_up(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'vtn.db'}"
    subprocess.run([*vtn_command(), "db", "upgrade", "--db", db], check=True, env=lab_env())
    port, health_port = free_port(), free_port()
    metrics_dir = tmp_path / "metrics"
    env = lab_env(VTN_METRICS_DIR=str(metrics_dir))
    args = ["serve", "--db", db, "--port", str(port), "--reuse-port", "--no-migrate"]
    args += ["--health-port", str(health_port), "--log-format", "json"]
    logs = [tmp_path / f"vtn-{i}.log" for i in range(2)]
    procs = []
    for log in logs:
        with open(log, "wb") as out:
            procs.append(
                subprocess.Popen([*vtn_command(), *args], stdout=out, stderr=subprocess.STDOUT, env=env)
            )
    try:
        listening = [False, False]
        for _ in range(300):
            for i, (proc, log) in enumerate(zip(procs, logs, strict=True)):
                assert proc.poll() is None, log.read_text()[-2000:]
                listening[i] = "health listener on" in log.read_text()
            if all(listening):
                break
            await asyncio.sleep(0.1)
        assert all(listening), "the two processes did not come up"
        route = f"{BASE_PATH}/programs/{{programID}}"
        # Fresh connections: the kernel spreads them over both processes.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            for i in range(REQUESTS):
                async with http.get(f"http://127.0.0.1:{port}{BASE_PATH}/programs/p-{i}") as resp:
                    assert resp.status == 401
            for _ in range(6):  # each scrape may land on either process: all see every request
                async with http.get(f"http://127.0.0.1:{health_port}/metrics") as resp:
                    assert resp.status == 200
                    assert _requests_counted(await resp.text(), route) == REQUESTS
            async with http.get(f"http://127.0.0.1:{health_port}/ready") as resp:
                assert resp.status == 200, await resp.text()
            # The API listener serves the probes too.
            async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                assert resp.status == 200
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(15)
    served = []
    for log in logs:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
        served.append(sum(1 for line in lines if line.get("route") == route))
    assert sum(served) == REQUESTS
    assert all(n > 0 for n in served), f"one process served everything: {served}"
