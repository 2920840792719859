"""Drive load from a separate process: wrk with bench/rotate.lua, or bench/pyload.py without wrk.

A workload is a requests file: one fully specified request per line (method, path, token, body),
typically one line per VEN so that every request carries a different VEN's token.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import BENCH, PYTHON

Request = tuple[str, str, str, str]  # method, path (with query), bearer token, JSON body ("" for none)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connect/read/write/timeout errors plus responses with status >= 400
    status_errors: int
    generator: str
    server_cores: float | None = None  # CPU cores the server used during the run (filled by Ctx)
    cpu_us_per_request: float | None = None
    machine_busy_cores: float | None = None  # all processes on the machine, same window
    cores_by_group: dict[str, float] | None = None  # server / postgres / loadgen / other

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def write_requests(path: Path, requests: Iterable[Request]) -> int:
    """Write a requests file; returns the number of lines."""
    n = 0
    with open(path, "w") as fh:
        for method, target, token, body in requests:
            if "\t" in body or "\n" in body:
                raise ValueError("request bodies must be compact single-line JSON")
            fh.write(f"{method}\t{target}\t{token}\t{body}\n")
            n += 1
    return n


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_load(
    port: int,
    requests_file: Path,
    *,
    duration: float,
    connections: int = 64,
    threads: int = 1,
    force_python: bool = False,
    rate: float = 0.0,
) -> LoadResult:
    """Load http://127.0.0.1:<port> for `duration` seconds and return throughput and latencies.

    `rate` > 0: an open-loop run at that many requests/s, always with bench/pyload.py (wrk 4 has no -R).
    """
    base = f"http://127.0.0.1:{port}"
    if have_wrk() and not force_python and rate <= 0:
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "rotate.lua"),
            base,
            "--",
            str(requests_file),
            str(threads),
        ]
        generator = "wrk"
    else:
        argv = [
            PYTHON,
            str(BENCH / "pyload.py"),
            base,
            str(requests_file),
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--rate",
            str(rate),
        ]
        generator = f"pyload at {rate:.0f}/s" if rate > 0 else "pyload"
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(
            f"load generator failed ({out.returncode}): {out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    raw = json.loads(line.removeprefix("BENCHJSON "))
    seconds = raw["duration_us"] / 1e6
    errors = sum(int(raw.get(k, 0)) for k in ("connect", "read", "write", "timeout", "status"))
    return LoadResult(
        requests=int(raw["requests"]),
        duration_s=round(seconds, 2),
        rps=round((raw["requests"] - raw.get("status", 0)) / seconds, 1) if seconds else 0.0,
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        errors=errors,
        status_errors=int(raw.get("status", 0)),
        generator=generator,
    )
