"""The load of the soak test (bench/soak.py), run as its own process: a steady mix for a fixed time.

Closed loop over `--connections` keep-alive connections, each request drawn at random:
70 % VEN GET /events (its group), 20 % VEN POST /reports (24 intervals), 10 % BL reads
(GET /vens, /vens/{id}, /resources, /reports?limit=50). Beside them, on their own timers: a token
grant on /auth/token every second, a bad request every half second (401 bad token, 404 unknown id,
400 malformed body, in turn) and every two seconds a connection dropped mid-request (headers cut
short, a body cut short, or a whole request whose answer is never read).

Counts (per kind: requests, unexpected answers, transport errors) go to `--stats` as JSON every
second, written whole (rename), so the sampler can read them at any time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import BASE_PATH
from bench.scenarios_write import report_body

# kind -> (weight, expected statuses)
MIX = {"poll": (70, {200}), "report": (20, {201}), "bl_read": (10, {200})}
TRICKLE_EXPECTED = {"token": {200}, "bad_401": {401}, "bad_404": {404}, "bad_400": {400}}


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.unexpected: Counter[str] = Counter()  # answered, but not with the expected status
        self.transport: Counter[str] = Counter()  # connection refused/reset, timeouts
        self.statuses: Counter[int] = Counter()
        self.dropped = 0  # connections we opened and dropped mid-request on purpose

    def as_dict(self, started: float) -> dict[str, Any]:
        return {
            "elapsed_s": round(time.monotonic() - started, 1),
            "requests": sum(self.requests.values()),
            "by_kind": dict(self.requests),
            "unexpected": dict(self.unexpected),
            "transport_errors": dict(self.transport),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "dropped_connections": self.dropped,
        }


class Load:
    def __init__(self, base: str, plan: dict[str, Any], stats: Stats) -> None:
        self.base = base
        self.plan = plan
        self.stats = stats
        self.rng = random.Random(15)
        self.reports = 0

    def _ven(self) -> int:
        return self.rng.randrange(len(self.plan["ven_tokens"]))

    def pick(self) -> tuple[str, str, str, str, bytes | None]:
        """(kind, method, path, token, body) of the next request of the mix."""
        p = self.plan
        roll = self.rng.randrange(100)
        if roll < MIX["poll"][0]:
            i = self._ven()
            return "poll", "GET", f"{BASE_PATH}/events?targets={p['groups'][i]}", p["ven_tokens"][i], None
        if roll < MIX["poll"][0] + MIX["report"][0]:
            i = self._ven()
            self.reports += 1
            events = p["event_ids"]
            doc = report_body(events[self.reports % len(events)], p["ven_names"][i], self.reports)
            return "report", "POST", f"{BASE_PATH}/reports", p["ven_tokens"][i], doc.encode()
        which = self.rng.randrange(4)
        path = [
            f"{BASE_PATH}/vens?limit=50",
            f"{BASE_PATH}/vens/{p['ven_ids'][self._ven()]}",
            f"{BASE_PATH}/resources?limit=50",
            f"{BASE_PATH}/reports?limit=50",
        ][which]
        return "bl_read", "GET", path, p["bl_token"], None

    async def send(
        self,
        session: aiohttp.ClientSession,
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | dict[str, str] | None,
        expected: set[int],
    ) -> None:
        self.stats.requests[kind] += 1
        try:
            async with session.request(method, path, headers=headers, data=body) as resp:
                await resp.read()
                self.stats.statuses[resp.status] += 1
                if resp.status not in expected:
                    self.stats.unexpected[kind] += 1
        except (aiohttp.ClientError, TimeoutError):
            self.stats.transport[kind] += 1

    async def worker(self, session: aiohttp.ClientSession, stop: float) -> None:
        while time.monotonic() < stop:
            kind, method, path, token, body = self.pick()
            headers = {"Authorization": f"Bearer {token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            await self.send(session, kind, method, path, headers, body, MIX[kind][1])

    async def trickle(self, session: aiohttp.ClientSession, stop: float) -> None:
        """Token grants, bad requests and dropped connections, at a fixed pace."""
        p, tick = self.plan, 0
        while time.monotonic() < stop:
            await asyncio.sleep(0.5)
            tick += 1
            if tick % 2 == 0:
                i = self._ven()
                form = {
                    "grant_type": "client_credentials",
                    "client_id": p["client_ids"][i],
                    "client_secret": p["secret"],
                }
                await self.send(session, "token", "POST", f"{BASE_PATH}/auth/token", {}, form, {200})
            bad = ("bad_401", "bad_404", "bad_400")[tick % 3]
            token = p["ven_tokens"][self._ven()]
            if bad == "bad_401":
                await self.send(
                    session,
                    bad,
                    "GET",
                    f"{BASE_PATH}/events",
                    {"Authorization": "Bearer not-a-token"},
                    None,
                    {401},
                )
            elif bad == "bad_404":
                await self.send(
                    session,
                    bad,
                    "GET",
                    f"{BASE_PATH}/events/no-such-event-{tick}",
                    {"Authorization": f"Bearer {token}"},
                    None,
                    {404},
                )
            else:
                await self.send(
                    session,
                    bad,
                    "POST",
                    f"{BASE_PATH}/reports",
                    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    b'{"eventID": "x", "resources": [',
                    {400},
                )
            if tick % 4 == 0:
                await self.drop(tick // 4 % 3, token)

    async def drop(self, how: int, token: str) -> None:
        """Open a connection, send part of (or all of) a request, and close it without the answer."""
        host, port = self.base.removeprefix("http://").split(":")
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            self.stats.transport["drop"] += 1
            return
        head = f"POST {BASE_PATH}/reports HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        if how == 0:  # headers cut short
            writer.write(head.encode())
        elif how == 1:  # a body cut short
            writer.write(
                (head + 'Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"a":').encode()
            )
        else:  # a whole request, answer never read
            writer.write(
                f"GET {BASE_PATH}/events HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()  # RST rather than FIN where the kernel can
        self.stats.dropped += 1


async def write_stats(path: Path, stats: Stats, started: float, stop: float) -> None:
    tmp = path.with_suffix(".tmp")
    while True:
        tmp.write_text(json.dumps(stats.as_dict(started)))
        os.replace(tmp, path)
        if time.monotonic() >= stop:
            return
        await asyncio.sleep(1.0)


async def run(base: str, plan: dict[str, Any], connections: int, seconds: float, stats_path: Path) -> None:
    stats = Stats()
    load = Load(base, plan, stats)
    started = time.monotonic()
    stop = started + seconds
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=connections + 2)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        writer = asyncio.create_task(write_stats(stats_path, stats, started, stop))
        await asyncio.gather(
            load.trickle(session, stop), *(load.worker(session, stop) for _ in range(connections))
        )
        await writer
    stats_path.with_suffix(".tmp").write_text(json.dumps(stats.as_dict(started)))
    os.replace(stats_path.with_suffix(".tmp"), stats_path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("base", help="http://127.0.0.1:PORT")
    p.add_argument(
        "plan", help="JSON: ven_tokens, groups, ven_names, ven_ids, client_ids, secret, bl_token, event_ids"
    )
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--seconds", type=float, default=600.0)
    p.add_argument("--stats", required=True)
    args = p.parse_args()
    plan = json.loads(Path(args.plan).read_text())
    asyncio.run(run(args.base, plan, args.connections, args.seconds, Path(args.stats)))


if __name__ == "__main__":
    main()
