"""What mutual TLS costs the VTN: GET /events throughput over plain HTTP and over mTLS.

The VTN runs as a separate process (`vtn serve`), twice in one run against the same SQLite
database: once plain HTTP, once HTTPS with required client certificates and a CRL. Each is
loaded from separate client processes (bench/mtls_load.py): N workers on N keep-alive connections
(aiohttp), each sending GET {base}/events with a VEN token (over mTLS: a token bound to the client
certificate, obtained with tls_client_auth). It prints requests/s for both and their ratio.

Both servers run side by side and the load alternates between them in rounds (a fresh load
process per round), so background load on a shared machine hits both modes alike; the
per-round spread is printed to show how noisy the machine was.

TLS session resumption: the VTN disables session tickets (revocation safety), so TLS 1.3 never
resumes; TLS 1.2 session-id resumption still works server-side, but asyncio (hence aiohttp)
cannot offer a saved session. With keep-alive it hardly matters (one handshake per connection),
so the load run does not resume; a separate blocking-socket probe measures full handshakes for
TLS 1.3 and 1.2 and TLS 1.2 handshakes that offer the previous session, and reports how many
were actually resumed.

    python bench/mtls.py            # ~10 s per mode
    python bench/mtls.py --quick    # ~3 s per mode
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/mtls.py`: make `bench` importable
    sys.path.insert(0, str(ROOT))
from bench.common import UNLIMITED  # noqa: E402

BASE = "/openadr3/3.1.0"
VEN_ID = "bench-ven"


# -- orchestrator ----------------------------------------------------------------------------------


@dataclass
class Setup:
    work: Path
    db: str
    ca: Path
    server_cert: Path
    server_key: Path
    ven_cert: Path
    ven_key: Path
    crl: Path
    ven_secret: str


def _vtn(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vtn", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"vtn {' '.join(argv)} failed:\n{done.stderr}")
    return done.stdout


def _prepare(work: Path) -> Setup:
    sys.path.insert(0, str(ROOT))
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from vtn.pki import CertificateAuthority, private_key_pem

    db = f"sqlite:///{work / 'bench.db'}"
    _vtn("db", "upgrade", "--db", db)
    ca = CertificateAuthority.init(work / "ca")
    cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
    (work / "server.crt").write_bytes(cert_pem)
    (work / "server.key").write_bytes(key_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, VEN_ID)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    cert = ca.sign_csr(csr.public_bytes(serialization.Encoding.PEM), VEN_ID)
    (work / "ven.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (work / "ven.key").write_bytes(private_key_pem(key))
    ven = json.loads(
        _vtn("clients", "add", "--db", db, "--name", VEN_ID, "--role", "ven", "--client-id", VEN_ID, "--json")
    )
    return Setup(
        work=work,
        db=db,
        ca=ca.cert_path,
        server_cert=work / "server.crt",
        server_key=work / "server.key",
        ven_cert=work / "ven.crt",
        ven_key=work / "ven.key",
        crl=ca.crl_path,
        ven_secret=ven["client_secret"],
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _seed(setup: Setup, base_url: str, events: int) -> None:
    """A program with `events` events, written by a BL client over plain HTTP."""
    bl = json.loads(_vtn("clients", "add", "--db", setup.db, "--name", "bench-bl", "--role", "bl", "--json"))

    def post(path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        if token is None:
            data = urllib.parse.urlencode(body).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        req = urllib.request.Request(base_url + path, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            doc: dict[str, Any] = json.loads(resp.read())
            return doc

    token = post(
        "/auth/token",
        {
            "grant_type": "client_credentials",
            "client_id": bl["client_id"],
            "client_secret": bl["client_secret"],
        },
    )["access_token"]
    program = post("/programs", {"programName": "bench"}, token)
    for i in range(events):
        post(
            "/events",
            {
                "programID": program["id"],
                "eventName": f"e{i}",
                "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
                "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.1 * i]}]}],
            },
            token,
        )


class Server:
    """`vtn serve` in its own process."""

    def __init__(self, setup: Setup, tls: bool) -> None:
        self.port = _free_port()
        self.tls = tls
        argv = [
            sys.executable, "-m", "vtn", "serve", "--db", setup.db, "--no-migrate",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "WARNING",
        ]  # fmt: skip
        if tls:
            argv += [
                "--tls-cert", str(setup.server_cert), "--tls-key", str(setup.server_key),
                "--client-ca", str(setup.ca), "--client-cert", "required", "--crl", str(setup.crl),
            ]  # fmt: skip
        self.log = open(setup.work / f"vtn-{'mtls' if tls else 'http'}.log", "w")  # noqa: SIM115
        # One client at thousands of requests a second: the abuse limits (on by default) would
        # answer all but ~50 a second with 429 (bench/common.py UNLIMITED, as every scenario).
        env = {**os.environ, **UNLIMITED}
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}{BASE}"
        self._wait(setup)

    def _wait(self, setup: Setup) -> None:
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(cafile=str(setup.ca))
            ctx.load_cert_chain(setup.ven_cert, setup.ven_key)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"vtn serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                health = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/health"
                with urllib.request.urlopen(health, timeout=2, context=ctx):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("vtn serve did not come up in 30 s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _run_load(setup: Setup, server: Server, args: argparse.Namespace) -> dict[str, Any]:
    argv = [
        sys.executable, str(Path(__file__).with_name("mtls_load.py")), "--url", server.url,
        "--client-id", VEN_ID, f"--client-secret={setup.ven_secret}",  # a secret may begin with "-"
        "--duration", str(args.duration), "--warmup", str(args.warmup),
        "--concurrency", str(args.concurrency), "--handshakes", str(args.handshakes),
    ]  # fmt: skip
    if server.tls:
        argv += ["--ca", str(setup.ca), "--cert", str(setup.ven_cert), "--key", str(setup.ven_key)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _rounds(setup: Setup, servers: dict[str, Server], args: argparse.Namespace) -> dict[str, Any]:
    """Alternate the load between the servers; sum each mode's rounds."""
    per_round = argparse.Namespace(**vars(args))
    per_round.duration = args.duration / args.rounds
    rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in servers}
    for i in range(args.rounds):
        order = ["http", "mtls"] if i % 2 == 0 else ["mtls", "http"]
        for mode in order:
            # Only the last mTLS round runs the handshake probe.
            per_round.handshakes = args.handshakes if (mode == "mtls" and i == args.rounds - 1) else 0
            rounds[mode].append(_run_load(setup, servers[mode], per_round))
    out: dict[str, Any] = {}
    for mode, runs in rounds.items():
        total = sum(r["requests"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        out[mode] = {
            "rps": total / seconds,
            "requests": total,
            "errors": sum(r["errors"] for r in runs),
            "round_rps": [round(r["rps"], 1) for r in runs],
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": max(r["p99_ms"] for r in runs),
            "events_per_response": runs[0]["events_per_response"],
            "token_bound": runs[0]["token_bound"],
            "handshakes": runs[-1].get("handshakes"),
        }
    return out


def _micro(setup: Setup) -> dict[str, float]:
    """Microseconds per call of what the VTN does per request or per TLS record over mTLS."""
    import timeit

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from shared.tls import check_client_certificate, load_certificate
    from vtn.tls_runtime import HandshakeObserver

    der = load_certificate(setup.ven_cert.read_bytes()).public_bytes(Encoding.DER)
    crl = x509.load_pem_x509_crl(setup.crl.read_bytes())
    observer = HandshakeObserver(lambda: crl)
    conn = object()
    record = b"\x17\x03\x03\x00\x40"
    n = 20000

    def record_seen() -> None:
        # What OpenSSL reports for one application-data record: its header, then its inner type.
        observer(conn, "read", 0x0303, 256, 23, record)
        observer(conn, "read", 0x0304, 257, 23, b"\x17")

    def per_call(stmt: Any) -> float:
        return min(timeit.repeat(stmt, number=n, repeat=3)) / n * 1e6

    return {
        "check_client_certificate(der, crl=...) per request": per_call(
            lambda: check_client_certificate(der, crl=crl)
        ),
        "_msg_callback call per TLS record (header + inner type)": per_call(record_seen),
    }


def _line(label: str, r: dict[str, Any]) -> str:
    spread = ", ".join(f"{x:g}" for x in r["round_rps"])
    return (
        f"{label:<12} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms   "
        f"{r['requests']} requests, {r['errors']} errors; rounds: {spread} req/s"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python bench/mtls.py",
        description="GET /events throughput of the VTN: plain HTTP vs mutual TLS (one run, one DB).",
    )
    p.add_argument("--quick", action="store_true", help="about 3 s per mode instead of 10")
    p.add_argument("--duration", type=float, default=None, help="measured seconds per mode (default 10)")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run (default 1)")
    p.add_argument(
        "--concurrency", type=int, default=32, help="workers = keep-alive connections (default 32)"
    )
    p.add_argument("--events", type=int, default=10, help="events in the database (default 10)")
    p.add_argument(
        "--rounds", type=int, default=None, help="alternating rounds per mode (default 5, quick 3)"
    )
    p.add_argument(
        "--handshakes", type=int, default=None, help="handshakes per probe (default 200, quick 50)"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON as well")
    p.add_argument("--workdir", type=Path, default=None, help="keep the database, certificates and logs here")
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.handshakes is None:
        args.handshakes = 50 if args.quick else 200
    if args.quick:
        args.warmup = min(args.warmup, 0.5)

    with tempfile.TemporaryDirectory(prefix="bench-mtls-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        setup = _prepare(work)
        load_before = os.getloadavg()[0]
        servers = {"http": Server(setup, tls=False)}
        try:
            _seed(setup, servers["http"].url, args.events)
            servers["mtls"] = Server(setup, tls=True)
            results = _rounds(setup, servers, args)
        finally:
            for server in servers.values():
                server.stop()
        micro = _micro(setup)

    http, mtls = results["http"], results["mtls"]
    print(
        f"GET {BASE}/events, {args.concurrency} keep-alive connections, {args.duration:g} s per mode "
        f"in {args.rounds} alternating rounds, SQLite, {http['events_per_response']} events per response"
    )
    print(
        f"CPU: {os.cpu_count()} cores shared by the VTN and the load process; load average {load_before:.2f}"
    )
    print(_line("plain HTTP", http))
    print(_line("mutual TLS", mtls))
    bound = mtls["token_bound"]
    print(
        f"ratio mTLS / HTTP: {mtls['rps'] / http['rps']:.3f}   (mTLS token bound to the certificate: {bound})"
    )
    n = args.handshakes
    print(f"handshake probe (blocking client with TCP_NODELAY, {n} connections each, one GET /health each):")
    for label, h in mtls["handshakes"].items():
        print(f"  {label:<20} {h['per_second']:7.1f} /s   ok {h['ok']}/{h['of']}   resumed {h['resumed']}")
    print("per-request work mTLS adds in the VTN (in-process timing):")
    for label, micros in micro.items():
        print(f"  {label:<58} {micros:6.2f} us")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
