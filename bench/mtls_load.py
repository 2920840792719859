"""The load process of bench/mtls.py: one client process, N keep-alive connections, GET /events.

It fetches a token (over mTLS with tls_client_auth, so the token is bound to the certificate),
loads the URL for --duration seconds after --warmup, and prints its counts and latencies as JSON
on stdout; with a certificate and --handshakes N, it also runs the blocking-socket handshake probe
(see bench/mtls.py's docstring). bench/mtls.py starts it once per round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import ssl
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _client_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.url.startswith("https"):
        return None
    from shared.tls import client_ssl_context

    return client_ssl_context(ca_file=args.ca, cert_file=args.cert, key_file=args.key)


async def _load(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    ctx = _client_context(args)
    connector = aiohttp.TCPConnector(limit=args.concurrency, ssl=ctx if ctx is not None else False)
    async with aiohttp.ClientSession(connector=connector) as http:
        form = {"grant_type": "client_credentials", "client_id": args.client_id}
        if ctx is None:  # over mTLS the certificate authenticates the client (tls_client_auth)
            form["client_secret"] = args.client_secret
        async with http.post(args.url + "/auth/token", data=form) as resp:
            doc = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"token request failed: {resp.status} {doc}")
        token = doc["access_token"]
        bound = "cnf" in _claims(token)
        headers = {"Authorization": f"Bearer {token}"}
        url = args.url + "/events"
        async with http.get(url, headers=headers) as resp:
            events = len(await resp.json())
        latencies: list[float] = []
        errors = 0
        counting = False
        stop_at = 0.0

        async def worker() -> None:
            nonlocal errors
            while True:
                started = time.perf_counter()
                if stop_at and started >= stop_at:
                    return
                try:
                    async with http.get(url, headers=headers) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                if counting:
                    if ok:
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors += 1

        tasks = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
        await asyncio.sleep(args.warmup)  # connections (and handshakes) are made during the warm-up
        counting = True
        begin = time.perf_counter()
        stop_at = begin + args.duration
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    result: dict[str, Any] = {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p99_ms": _percentile(latencies, 0.99) * 1000 if latencies else None,
        "events_per_response": events,
        "token_bound": bound,
    }
    if ctx is not None and args.handshakes > 0:
        result["handshakes"] = await asyncio.to_thread(_handshake_probe, args)
    return result


def _claims(token: str) -> dict[str, Any]:
    import base64

    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _handshake_probe(args: argparse.Namespace) -> dict[str, Any]:
    """Blocking-socket handshakes (each with one request), which, unlike asyncio, can offer a session."""
    from urllib.parse import urlsplit

    from shared.tls import client_ssl_context

    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    out: dict[str, Any] = {}
    for label, version, resume in (
        ("tls13_full", ssl.TLSVersion.TLSv1_3, False),
        ("tls12_full", ssl.TLSVersion.TLSv1_2, False),
        ("tls12_offer_session", ssl.TLSVersion.TLSv1_2, True),
        ("tls13_offer_session", ssl.TLSVersion.TLSv1_3, True),
    ):
        ctx = client_ssl_context(ca_file=args.ca, cert_file=args.cert, key_file=args.key)
        ctx.minimum_version = ctx.maximum_version = version
        session: ssl.SSLSession | None = None
        reused = ok = 0
        begin = time.perf_counter()
        for _ in range(args.handshakes):
            with socket.create_connection((host, port), timeout=10) as raw:
                # Without it, Nagle + delayed ACK add ~40 ms whenever the server has nothing to send
                # after the client's Finished (TLS 1.3 without tickets, resumed TLS 1.2).
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    with ctx.wrap_socket(raw, server_hostname=host, session=session) as tls:
                        tls.sendall(
                            f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
                        )
                        while tls.recv(65536):
                            pass
                        ok += 1
                        reused += bool(tls.session_reused)
                        if resume:
                            session = tls.session
                except (ssl.SSLError, OSError):
                    session = None
        elapsed = time.perf_counter() - begin
        out[label] = {
            "per_second": args.handshakes / elapsed,
            "ok": ok,
            "resumed": reused,
            "of": args.handshakes,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/mtls_load.py", description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="the VTN's base URL (https: mutual TLS)")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--duration", type=float, required=True, help="measured seconds")
    p.add_argument("--warmup", type=float, required=True, help="unmeasured seconds before")
    p.add_argument("--concurrency", type=int, required=True, help="workers = keep-alive connections")
    p.add_argument("--handshakes", type=int, default=0, help="handshakes in the probe (0: no probe)")
    p.add_argument("--ca", help="the CA to trust (https)")
    p.add_argument("--cert", help="the client certificate (https)")
    p.add_argument("--key", help="its key (https)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    print(json.dumps(asyncio.run(_load(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
