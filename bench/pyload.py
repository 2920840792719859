"""Fallback load generator (used only when `wrk` is not installed): many keep-alive connections.

Same input (a requests file, one pre-built request per line) and the same output line as
bench/rotate.lua, so bench/load.py treats both alike. Being Python, it saturates well below wrk:
numbers near its own limit (about the baseline's) understate the server.

`--rate R` makes it an open-loop generator (what wrk2's -R does; wrk 4 has none): requests are
due at R per second in all, spread over the connections, and each latency counts from the moment
its request was due, not from when a connection was free, so a stalled server shows in p99
(no coordinated omission). A request due while its connection is still busy waits for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


def read_requests(path: str) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    out = []
    with open(path) as fh:
        for line in fh:
            method, target, token, body = line.rstrip("\n").split("\t", 3)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if body:
                headers["Content-Type"] = "application/xml" if body.startswith("<") else "application/json"
            out.append((method, target, headers, body.encode() if body else None))
    return out


async def run(
    base: str,
    path: str,
    connections: int,
    duration: float,
    once: bool = False,
    expect: str = "",
    rate: float = 0.0,
) -> dict[str, float]:
    """As bench/rotate.lua: `once` sends each line once (shared cursor); `expect` checks bodies;
    `rate` > 0 runs open loop at that many requests/s in all."""
    reqs = read_requests(path)
    latencies: list[int] = []
    errors = {"status": 0, "connect": 0, "read": 0, "timeout": 0, "bad": 0}
    cursor = 0
    total_bytes = 0
    stop = time.monotonic() + duration
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        interval_ns = int(connections * 1e9 / rate) if rate > 0 else 0
        start_ns = time.perf_counter_ns()

        async def worker(k: int) -> None:
            nonlocal total_bytes, cursor
            i = k
            # Open loop: this connection's requests are due every interval, staggered across them.
            due = start_ns + (k * interval_ns) // connections
            while time.monotonic() < stop:
                if once:
                    if cursor >= len(reqs):
                        return
                    i, cursor = cursor, cursor + 1
                method, target, headers, body = reqs[i % len(reqs)]
                i += connections
                if interval_ns:
                    wait = due - time.perf_counter_ns()
                    if wait > 0:
                        await asyncio.sleep(wait / 1e9)
                    t0 = due
                    due += interval_ns
                else:
                    t0 = time.perf_counter_ns()
                try:
                    async with session.request(method, target, headers=headers, data=body) as resp:
                        answer = await resp.read()
                        total_bytes += len(answer)
                        if resp.status >= 400:
                            errors["status"] += 1
                        elif expect and expect.encode() not in answer:
                            errors["bad"] += 1
                except aiohttp.ClientConnectionError:
                    errors["connect"] += 1
                    continue
                except TimeoutError:
                    errors["timeout"] += 1
                    continue
                latencies.append((time.perf_counter_ns() - t0) // 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else 0

    return {
        "requests": len(latencies) + errors["status"],
        "duration_us": int(elapsed * 1e6),
        "bytes": total_bytes,
        "write": 0,
        **errors,
        "p50_us": pct(50),
        "p90_us": pct(90),
        "p99_us": pct(99),
        "max_us": latencies[-1] if latencies else 0,
        "mean_us": sum(latencies) / len(latencies) if latencies else 0.0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("base", help="http://127.0.0.1:PORT")
    p.add_argument("requests", help="requests file")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--once", action="store_true", help="send each request once, then stop")
    p.add_argument("--expect", default="", help="count answers whose body lacks this text as bad")
    p.add_argument("--rate", type=float, default=0.0, help="requests/s in all (open loop); 0: closed loop")
    args = p.parse_args()
    result = asyncio.run(
        run(args.base, args.requests, args.connections, args.duration, args.once, args.expect, args.rate)
    )
    print("BENCHJSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
