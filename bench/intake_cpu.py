"""POST /reports through intake workers, checkouts side by side: the serving process's CPU and its
workers' CPU per report, apart.

    python bench/intake_cpu.py --before /tmp/main-copy --after . [--workers 1] [--rounds 5]

Each checkout (a tree with vtn/, e.g. `git archive main | tar -x -C DIR`) is served with this
interpreter (`PYTHONPATH=<checkout>`, so one .venv serves both) on its own copy of the ingest
scenario's SQLite database (bench/.data/work-ingest.db; run `bench/run.py --scenario ingest` once
to make it and the request file), with `--intake-workers`. wrk loads each server in turn with the
ingest requests; each line gives reports/s, the front's CPU µs/report (all its threads) and the
workers' (its children), medians of the rounds, and the load average. On a shared machine only the
side-by-side difference means anything.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parent))

from bench.common import UNLIMITED, cpu_seconds, free_port, start_server, stop_servers  # noqa: E402


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def _start(root: str, db: Path, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VTN_LOG_LEVEL": "WARNING", "PYTHONPATH": root, **UNLIMITED}
    argv = [sys.executable, "-m", "vtn", "serve", "--db", f"sqlite:///{db}", "--port", str(port)]
    argv += ["--no-migrate", "--intake-workers", str(workers)]
    return start_server(argv, root, env, port, log, tries=300)


def _load(pid: int, port: int, reqfile: Path, seconds: int, conns: int) -> tuple[float, float, float]:
    """reports/s, front CPU µs/report, workers' CPU µs/report."""
    kids = _children(pid)
    front0, kids0 = cpu_seconds(pid) or 0.0, sum(cpu_seconds(k) or 0.0 for k in kids)
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", str(HERE / "rotate.lua")]
    out = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}", "--", str(reqfile), "1"], capture_output=True, text=True
    )
    front1, kids1 = cpu_seconds(pid) or 0.0, sum(cpu_seconds(k) or 0.0 for k in kids)
    n = next((int(line.split()[0]) for line in out.stdout.splitlines() if "requests in" in line), 0)
    if not n or "Non-2xx" in out.stdout:
        raise RuntimeError(f"port {port}: {out.stdout}{out.stderr}")
    return n / seconds, (front1 - front0) / n * 1e6, (kids1 - kids0) / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--workers", type=int, default=1, help="--intake-workers of both")
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("-c", type=int, default=64, help="connections")
    args = p.parse_args()
    source, reqfile = HERE / ".data/work-ingest.db", HERE / ".data/ingest-sqlite.req"
    work = Path(tempfile.mkdtemp(prefix="intake-cpu-"))
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name, root in (("before", args.before), ("after", args.after)):
            shutil.copy(source, work / f"{name}.db")
            port = free_port()
            root = str(Path(root).resolve())
            servers[name] = (
                _start(root, work / f"{name}.db", port, args.workers, work / f"{name}.log"),
                port,
            )
        for proc, port in servers.values():
            with contextlib.suppress(RuntimeError):  # warm (the workers' first reports)
                _load(proc.pid, port, reqfile, 2, args.c)
        done: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (proc, port) in servers.items():
                done[name].append(_load(proc.pid, port, reqfile, args.seconds, args.c))
        for name, results in done.items():
            rps = sum(r for r, _, _ in results) / len(results)
            front = sorted(f for _, f, _ in results)[len(results) // 2]
            workers = sorted(w for _, _, w in results)[len(results) // 2]
            print(
                f"{name}: {rps:,.0f} reports/s, front {front:.0f} µs/report, workers {workers:.0f}, "
                f"total {front + workers:.0f} (rounds: "
                + ", ".join(f"{r:.0f}/s {f:.0f}+{w:.0f}" for r, f, w in results)
                + ")",
                flush=True,
            )
        print(f"load average {os.getloadavg()[0]:.2f}")
    finally:
        stop_servers(servers)


if __name__ == "__main__":
    main()
