"""CPU µs per call of two home-made fast paths and of the library path each can switch back to.

    .venv/bin/python bench/fast_paths.py [--n 5000]

- Access tokens: `TokenService.verify` of tokens seen for the first time (the verified-token cache
  never hits), our HS256 shortcut against PyJWT (`fast_hs256=False`).
- Webhook POSTs: `WebhookClient.post` of a 1 kB notification to bench/receiver.py (a separate
  process on loopback, keep-alive), 64 at a time, our HTTP/1.1 client against aiohttp's
  ClientSession (`library=True`).

The other fast paths are measured where their paths are: bench/oadr20b_sign_micro.py (XML signing
and verification against signxml), bench/ingest_cpu.py (our SQLite driver against aiosqlite) and
bench/wire_micro.py (JSON Schema checks). CPU is this process's time (time.process_time), best of
three rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, free_port, spawn, wait_http  # noqa: E402
from shared.enums import Role  # noqa: E402
from vtn.auth.tokens import TokenService  # noqa: E402
from vtn.notify.webhooks import WebhookClient  # noqa: E402
from vtn.storage.outbox import Claimed  # noqa: E402

NOW = datetime(2030, 1, 1, tzinfo=UTC)
KEY = b"bench-key" * 4


def tokens(n: int) -> dict[str, float]:
    issuer = TokenService(KEY, ttl_seconds=3600, clock=lambda: NOW)
    minted = [issuer.issue(f"ven-{i}", Role.VEN).access_token for i in range(n)]
    out: dict[str, float] = {}
    for label, fast in (
        ("token verify, HS256 shortcut", True),
        ("token verify, PyJWT (fast_hs256=False)", False),
    ):
        best = float("inf")
        for _ in range(3):
            service = TokenService(KEY, ttl_seconds=3600, clock=lambda: NOW, fast_hs256=fast)
            start = time.process_time()
            for token in minted:
                service.verify(token)
            best = min(best, (time.process_time() - start) / n * 1e6)
        out[label] = best
    return out


async def webhooks(n: int, port: int) -> dict[str, float]:
    body = '{"objectType":"EVENT","operation":"CREATE","object":' + '"' + "x" * 1000 + '"}'
    url = f"http://127.0.0.1:{port}/hook"
    item = Claimed(1, "nid", "sub:s", "s", url, "token-" + "t" * 40, "sig" * 15, body, 0, 0)
    out: dict[str, float] = {}
    for label, library in (
        ("webhook POST, our HTTP/1.1 client", False),
        ("webhook POST, aiohttp (library=True)", True),
    ):
        best = float("inf")
        for _ in range(3):
            client = WebhookClient(64, 10.0, library=library)
            sem = asyncio.Semaphore(64)
            await asyncio.gather(*(_post(client, sem, item) for _ in range(200)))  # connections open
            start = time.process_time()
            await asyncio.gather(*(_post(client, sem, item) for _ in range(n)))
            best = min(best, (time.process_time() - start) / n * 1e6)
            await client.close()
        out[label] = best
    return out


async def _post(client: WebhookClient, sem: asyncio.Semaphore, item: Claimed) -> None:
    async with sem:
        assert await client.post(item) == 200


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=5000)
    n = p.parse_args().n
    rows = tokens(n)
    port = free_port()
    receiver = spawn("fast-paths-receiver", [PYTHON, "bench/receiver.py", "--port", str(port)], port)
    try:
        wait_http(receiver, "/stats")
        rows |= asyncio.run(webhooks(n, port))
    finally:
        receiver.stop()
    print("µs of CPU per call (this process)")
    for label, value in rows.items():
        print(f"  {label:44s} {value:8.1f}")


if __name__ == "__main__":
    main()
