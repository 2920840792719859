"""The control for the scaleout target: bare aiohttp (bench/baseline.py) in 1 and in 2 processes
sharing a port with SO_REUSEPORT, loaded and measured as `bench/run.py --scenario scaleout` loads
the VTN (same load generator, connections and alternating rounds).

Why: on this 2-core machine a second VTN process raised CPU µs per request by ~1.2×. If a server
with no VTN code at all shows the same factor, the cost is the machine's (two busy cores, the load
generator and other tenants sharing them, fewer requests per event-loop wake-up), not ours.
`python -m bench.scaleout_bare [--rounds 3] [--duration 8]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator

from bench.common import DATA, PYTHON, Proc, free_port, spawn, wait_http, wait_listeners
from bench.load import run_load, write_requests


@contextlib.contextmanager
def bare(processes: int) -> Iterator[Proc]:
    port = free_port()
    procs: list[Proc] = []
    try:
        for k in range(processes):
            argv = [PYTHON, "-m", "bench.baseline", "--port", str(port), "--reuse-port"]
            procs.append(spawn(f"bare-reuseport-{processes}-{k}", argv, port))
            wait_http(procs[-1], "/health")
            wait_listeners(port, k + 1)
        procs[0].extra = procs[1:]
        yield procs[0]
    finally:
        for p in procs:
            p.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--connections", type=int, default=32)
    args = p.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    reqfile = DATA / "bare-polls.req"
    write_requests(reqfile, (("GET", f"/events?ven={i}", f"token-{i}", "") for i in range(1000)))
    totals = {1: [0, 0.0, 0.0], 2: [0, 0.0, 0.0]}  # requests, CPU seconds, seconds
    with bare(1) as one, bare(2) as two:
        servers = {1: one, 2: two}
        for _ in range(args.rounds):
            for n, proc in servers.items():
                cpu0 = proc.cpu_seconds()
                r = run_load(proc.port, reqfile, duration=args.duration, connections=args.connections)
                cpu = proc.cpu_seconds() - cpu0
                t = totals[n]
                t[0], t[1], t[2] = t[0] + r.requests, t[1] + cpu, t[2] + r.duration_s
                print(
                    f"{n} process(es): {r.rps:,.0f} req/s, {cpu / max(r.requests, 1) * 1e6:.1f} µs CPU/req, "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    us = {n: t[1] / max(t[0], 1) * 1e6 for n, t in totals.items()}
    rps = {n: t[0] / max(t[2], 1e-9) for n, t in totals.items()}
    for n in (1, 2):
        print(f"all rounds, {n} process(es): {rps[n]:,.0f} req/s, {us[n]:.1f} µs CPU/req")
    print(f"2 vs 1: CPU/request {us[2] / us[1]:.2f}×, throughput {rps[2] / rps[1]:.2f}×")


if __name__ == "__main__":
    main()
