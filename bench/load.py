"""Drive load from a separate process: wrk with bench/rotate.lua, or bench/pyload.py without wrk.

A workload is a requests file: one fully specified request per line (method, path, token, body),
typically one line per VEN so that every request carries a different VEN's token.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import BENCH, PYTHON

# method, path (with query), bearer token, body ("" for none; JSON, or XML if it starts with "<")
Request = tuple[str, str, str, str]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connect/read/write/timeout errors, responses with status >= 400, and bad bodies
    status_errors: int  # responses with status >= 400, or (with `expect`) without the expected text
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
                raise ValueError("request bodies must be single-line (compact JSON, XML without newlines)")
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
    once: bool = False,
    expect: str | None = None,
    rate: float = 0.0,
) -> LoadResult:
    """Load http://127.0.0.1:<port> for `duration` seconds and return throughput and latencies.

    `once`: send each line of the file once, from the first, then stop (bounded writes: at most
    `duration` seconds). `expect`: an answer counts as an error unless its body contains this text
    (for protocols that answer errors with HTTP 200); without it only the status is checked.
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
            *(["once"] if once else []),
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
            *(["--once"] if once else []),
            *(["--expect", expect] if expect else []),
            "--rate",
            str(rate),
        ]
        generator = f"pyload at {rate:.0f}/s" if rate > 0 else "pyload"
    env = {**os.environ, "BENCH_EXPECT": expect or ""}
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120, check=False, env=env)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(
            f"load generator failed ({out.returncode}): {out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    raw = json.loads(line.removeprefix("BENCHJSON "))
    seconds = raw["duration_us"] / 1e6
    errors = sum(int(raw.get(k, 0)) for k in ("connect", "read", "write", "timeout", "status", "bad"))
    status_errors = int(raw.get("status", 0)) + int(raw.get("bad", 0))
    return LoadResult(
        requests=int(raw["requests"]),
        duration_s=round(seconds, 2),
        rps=round((raw["requests"] - status_errors) / seconds, 1) if seconds else 0.0,
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        errors=errors,
        status_errors=status_errors,
        generator=generator,
    )
