"""Bare aiohttp sending one prebuilt JSON answer as aiohttp's Response or as the VTN's Answer
(vtn/http_answer.py), by body size: what Answer saves per answer.

    python bench/answer_send.py --sizes 20000,95000,134001 --rounds 8

Each size is served by two bench/baseline.py processes (Response, Answer), loaded in turn with wrk
(one thread, 32 connections, `--seconds` each) for `--rounds` rounds; each line gives the server's
CPU µs per answer (lowest and median of the rounds) and the median req/s, with the load average.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parent))

from bench.common import free_port, start_server, stop_servers  # noqa: E402
from bench.side_by_side import process_cpu  # noqa: E402


def _load(proc: subprocess.Popen[bytes], port: int, seconds: int) -> tuple[float, float]:
    """CPU µs per answer and req/s of one wrk run."""
    c0 = sum(process_cpu(proc.pid))
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", f"http://127.0.0.1:{port}/x"], capture_output=True, text=True
    ).stdout
    n = next((int(line.split()[0]) for line in out.splitlines() if "requests in" in line), 0)
    if not n or "Non-2xx" in out:
        raise RuntimeError(out)
    return (sum(process_cpu(proc.pid)) - c0) / n * 1e6, n / seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="20000,95000,134001", help="body sizes in bytes, comma-separated")
    p.add_argument("--seconds", type=int, default=2)
    p.add_argument("--rounds", type=int, default=8)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="answer-send-"))
    for size in (int(s) for s in args.sizes.split(",")):
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for name, extra in (("Response", []), ("Answer", ["--vtn-answer"])):
                port = free_port()
                argv = [sys.executable, "-m", "bench.baseline", "--port", str(port)]
                argv += ["--body-bytes", str(size), *extra]
                log = work / f"{size}-{len(servers)}.log"
                proc = start_server(argv, str(HERE.parent), dict(os.environ), port, log)
                servers[name] = (proc, port)
            done: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
            for proc, port in servers.values():
                _load(proc, port, 1)  # warm
            for _ in range(args.rounds):
                for name, (proc, port) in servers.items():
                    done[name].append(_load(proc, port, args.seconds))
            cells = [f"{size:,} B"]
            for name, runs in done.items():
                cpu = sorted(c for c, _ in runs)
                rps = sorted(r for _, r in runs)[len(runs) // 2]
                mid = cpu[len(cpu) // 2]
                cells.append(f"{name}: cpu min {cpu[0]:.0f} med {mid:.0f} us, {rps:,.0f} req/s")
            cells.append(f"load {os.getloadavg()[0]:.2f}")
            print(" | ".join(cells), flush=True)
        finally:
            stop_servers(servers)


if __name__ == "__main__":
    main()
