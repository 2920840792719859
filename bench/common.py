"""Shared plumbing of the benchmark: paths, machine facts, free ports and child processes.

Every server under test (the VTN, the bare-aiohttp baseline, the webhook receiver) runs as its own
process, started here; `Proc.peak_rss_mb()` reads the kernel's high-water mark (VmHWM) of that
process from /proc, so the number is the true peak resident set, not a sample that might miss it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"  # seeded databases, request files, logs, profiles (git-ignored)
PYTHON = sys.executable
VTN_BIN = str(Path(PYTHON).with_name("vtn"))
BASE_PATH = "/openadr3/3.1.0"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    argv: list[str], cwd: str, env: dict[str, str], port: int, log: Path, tries: int = 150
) -> subprocess.Popen[bytes]:
    """`argv` started in `cwd` (its stderr in `log`), once its GET /health answers on `port`
    (`tries` × 0.2 s at most; else it is stopped and RuntimeError says where its log is)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{argv[0]} in {cwd} did not come up on port {port}: see {log}")


def stop_servers(servers: dict[str, tuple[subprocess.Popen[bytes], int]]) -> None:
    """Stop the (process, port) servers a side-by-side script started, and wait for each."""
    for proc, _ in servers.values():
        proc.terminate()
        proc.wait()


def status_kb(pid: int, key: str) -> int | None:
    """One `VmXXX:` value of /proc/<pid>/status in kB (None once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads) so far, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """User + system CPU time of each thread of a process so far, by thread name (summed per name)."""
    out: dict[str, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                text = fh.read()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        if tid == str(pid):
            name = "main"
        fields = text.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def cpu_by_group(server_pids: list[int]) -> dict[str, float]:
    """CPU seconds so far of every process on the machine, grouped: server, postgres, wrk, other."""
    groups = {"server": 0.0, "postgres": 0.0, "loadgen": 0.0, "other": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        comm = raw[raw.find("(") + 1 : raw.rfind(")")]
        fields = raw.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(entry) in server_pids:
            groups["server"] += used
        elif comm.startswith("postgres"):
            groups["postgres"] += used
        elif comm in ("wrk", "pyload.py") or "pyload" in comm:
            groups["loadgen"] += used
        else:
            groups["other"] += used
    return groups


@dataclass
class Proc:
    """A server process started by the benchmark, with its log file and readiness check."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int
    extra: list[Proc] = field(default_factory=list)  # siblings sharing the port (scale-out)

    @property
    def pid_main(self) -> int:
        return self.popen.pid

    @property
    def pids(self) -> list[int]:
        """This process, its siblings, and their children (`vtn serve --intake-workers`)."""
        own = [self.popen.pid, *(p.popen.pid for p in self.extra)]
        return own + [child for pid in own for child in child_pids(pid)]

    def peak_rss_mb(self) -> float | None:
        """Largest VmHWM (peak resident set) over this process and its siblings, in MiB."""
        values = [status_kb(pid, "VmHWM") for pid in self.pids]
        known = [v for v in values if v is not None]
        return round(max(known) / 1024, 1) if known else None

    def rss_mb(self) -> float | None:
        values = [status_kb(pid, "VmRSS") for pid in self.pids]
        known = [v for v in values if v is not None]
        return round(max(known) / 1024, 1) if known else None

    def cpu_seconds(self) -> float:
        """CPU time used so far by this process and its siblings."""
        return sum(cpu_seconds(pid) or 0.0 for pid in self.pids)

    def alive(self) -> bool:
        return all(p.poll() is None for p in [self.popen, *(e.popen for e in self.extra)])

    def stop(self) -> None:
        """Terminate (then kill) this process and its siblings; only processes we started."""
        for p in [self.popen, *(e.popen for e in self.extra)]:
            if p.poll() is None:
                p.terminate()
        for p in [self.popen, *(e.popen for e in self.extra)]:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# Load from one address at thousands of requests a second is the point of a benchmark: the abuse
# limits of docs/security.md (rate limits, lockout, per-VEN quotas) are off unless a bench sets them.
UNLIMITED = {
    "VTN_RATE_PER_CLIENT": "0",
    "VTN_RATE_PER_ADDRESS": "0",
    "VTN_TOKEN_RATE_PER_ADDRESS": "0",
    "VTN_VEN_MAX_REPORTS": "0",
    "VTN_VEN_MAX_REPORT_BYTES": "0",
    "VTN_VEN_MAX_VENS": "0",
    "VTN_VEN_MAX_RESOURCES": "0",
    "VTN_VEN_MAX_SUBSCRIPTIONS": "0",
}


def spawn(name: str, argv: list[str], port: int, env: dict[str, str] | None = None) -> Proc:
    """Start `argv` in its own process group with stdout/stderr in bench/.data/logs/<name>.log."""
    logs = DATA / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    fh = open(log, "wb")  # noqa: SIM115 - handed to the child, closed when we exit
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **UNLIMITED, **(env or {})}
    popen = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    return Proc(name, popen, log, port)


def listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1/0.0.0.0:`port` (with SO_REUSEPORT, one per process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                count += 1
    return count


def wait_listeners(port: int, count: int, timeout: float = 60.0) -> None:
    """Block until `count` sockets listen on `port`: a process sharing it with SO_REUSEPORT gets
    only the connections made after it listens, and wrk keeps its connections for the whole run."""
    deadline = time.monotonic() + timeout
    while listeners(port) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {listeners(port)} of {count} processes listen on port {port}")
        time.sleep(0.05)


def wait_http(proc: Proc, path: str, timeout: float = 60.0) -> None:
    """Block until GET http://127.0.0.1:<port><path> answers (any status), or fail with the log."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{proc.port}{path}"
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready on {url} after {timeout}s:\n{proc.tail()}")


def http_json(
    method: str, url: str, token: str | None = None, body: Any = None, timeout: float = 30.0
) -> tuple[int, Any]:
    """A small blocking HTTP client for checks outside the measured runs."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        with contextlib.suppress(ValueError):
            return exc.code, json.loads(raw)
        return exc.code, raw.decode(errors="replace")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gb() -> float | None:
    kb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kb = int(line.split()[1])
    return None if kb is None else round(kb / 1024 / 1024, 1)


def _pg_version(url: str) -> str | None:
    try:
        import asyncio

        import asyncpg

        async def ask() -> str:
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"), timeout=3)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        return asyncio.run(ask())
    except Exception:
        return None


def _package_version(name: str) -> str | None:
    from importlib import metadata

    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version(name)
    return None


def wrk_version() -> str | None:
    import shutil

    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "wrk"


def machine_info(pg_url: str) -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _mem_total_gb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _pg_version(pg_url),
        "aiohttp": _package_version("aiohttp"),
        "sqlalchemy": _package_version("sqlalchemy"),
        "pydantic": _package_version("pydantic"),
        "uvloop": _package_version("uvloop"),
        "orjson": _package_version("orjson"),
        "load_generator": wrk_version() or "python aiohttp generator (bench/pyload.py)",
    }
