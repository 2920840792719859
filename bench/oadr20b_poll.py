"""oadrPoll per second from many registered 2.0b VENs: our VTN against an OpenLEADR VTN, same run.

Setup (outside the measured window): a dev CA (vtn.pki) issues a certificate per VEN and one for
each VTN (P-256 by default, `--key-type rsa` for RSA-2048); our VTN gets a migrated SQLite database
with 2 x N registered ven objects: N lab VENs (unsigned, admitted by venName: their clients
registered no certificate) and N signing VENs (their clients registered the short fingerprint).
The OpenLEADR VTN (PyPI openleadr 0.5.36, its own virtualenv, never imported here) knows the same
venIDs through `ven_lookup`, so it answers polls instead of asking for re-registration.

Each server runs as its own process and is loaded by wrk (`--connections` keep-alive connections,
every request an oadrPoll of the next of the N VENs, answered with an empty oadrResponse), after a
warm-up in which every VEN polls every server process (steady state: caches warm). Modes:

- unsigned: plain oadrPoll payloads, one per VEN, cycled; plain answers;
- signed-answers: the same requests; both VTNs sign every answer (fresh nonce each);
- signed-both: every request carries a fresh XML signature (own nonce) by its VEN's key,
  pre-generated before the run (a replayed one would be refused); our VTN verifies each one against
  the VEN's registered certificate and signs every answer (require_signatures + sign). OpenLEADR
  signs its answers but, over plain HTTP, does not verify requests (it only does over mutual TLS,
  which wrk cannot present): it does less work per request than ours in this mode.

A response counts as good only if HTTP 200 and it carries responseCode 200. Both VTNs run on plain
HTTP, SQLite for ours. Results go to stdout and bench/.data/oadr20b_poll.json.

    .venv/bin/python bench/oadr20b_poll.py                 # 1,000 VENs, 10 s per run
    .venv/bin/python bench/oadr20b_poll.py --quick         # 3 s per run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, VTN_BIN, Proc, free_port, machine_info, spawn, wait_http  # noqa: E402

PREFIX = "/OpenADR2/Simple/2.0b"
MODES = ("unsigned", "signed-answers", "signed-both")
OPENLEADR_VENV = Path(
    os.environ.get("EC_OPENLEADR_VENV", Path.home() / ".cache/energy-coordination/venvs/openleadr")
)

LUA = r"""
local reqs, n, idx, counter, once, threads = {}, 0, 0, 0, false, {}
bad = 0 -- global: done() reads it from each thread
function setup(thread)
   thread:set("tid", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3]
   once = args[4] == "once"
   local i = 0
   for line in io.lines(file) do
      if i % nthreads == tid then
         n = n + 1
         reqs[n] = wrk.format("POST", path, {["Content-Type"] = "application/xml"}, (line:gsub("\\n", "\n")))
      end
      i = i + 1
   end
end
function request()
   idx = idx + 1
   if idx > n then idx = 1 end
   return reqs[idx]
end
function response(status, headers, body)
   if status ~= 200 or not string.find(body, "responseCode>200<", 1, true) then bad = bad + 1 end
   if once and idx >= n then wrk.thread:stop() end
end
function done(summary, latency, requests)
   local total_bad = 0
   for _, t in ipairs(threads) do total_bad = total_bad + (t:get("bad") or 0) end
   io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"bad":%d,"errors":%d,' ..
      '"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration, total_bad,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50), latency:percentile(99)))
end
"""

OPENLEADR_SERVER = r"""
import asyncio, json, logging, sys
from datetime import timedelta
from openleadr import OpenADRServer
port, ids_file, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
logging.getLogger("openleadr").setLevel(logging.ERROR)
VENS = set(json.loads(open(ids_file).read()))
def ven_lookup(ven_id):
    if ven_id not in VENS:
        return {}
    return {"ven_id": ven_id, "ven_name": ven_id, "registration_id": "reg-" + ven_id, "fingerprint": None}
signing = {"cert": cert, "key": key} if cert != "-" else {}
async def main():
    server = OpenADRServer(vtn_id="OpenLEADR-Bench", http_port=port, ven_lookup=ven_lookup,
                           show_fingerprint=False, **signing)
    await server.run()
    await asyncio.Event().wait()
asyncio.run(main())
"""


# -- setup ---------------------------------------------------------------------------------------


def make_pki(root: Path, vens: int, key_type: str) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from shared.tls import fingerprint_short_2b
    from vtn.pki import CertificateAuthority, KeyType, generate_key, private_key_pem

    kind: KeyType = "rsa" if key_type == "rsa" else "ec"
    ca = CertificateAuthority.init(root / "ca", key_type="ec")
    out: dict[str, Any] = {"vens": []}
    for who in ("ours", "openleadr"):
        cert_pem, key_pem = ca.issue_server(f"vtn-{who}", ["127.0.0.1"], key_type=kind)
        (root / f"vtn-{who}.crt").write_bytes(cert_pem)
        (root / f"vtn-{who}.key").write_bytes(key_pem)
    for i in range(vens):
        client_id = f"bench-client-{i:05d}"
        key = generate_key(kind)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, client_id)]))
            .sign(key, hashes.SHA256())
        )
        cert = ca.sign_csr(csr.public_bytes(serialization.Encoding.PEM), client_id, 30)
        cert_path, key_path = root / f"{client_id}.crt", root / f"{client_id}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(private_key_pem(key))
        der = cert.public_bytes(serialization.Encoding.DER)
        out["vens"].append(
            {"client_id": client_id, "cert": cert_path, "key": key_path, "fp": fingerprint_short_2b(der)}
        )
    return out


async def seed(db_url: str, pki: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Two sets of N registered ven objects: lab VENs (their clients registered no certificate, so
    they poll unsigned over plain HTTP) and signing VENs (certificate fingerprint registered)."""
    from vtn.storage import migrate, open_store
    from vtn.storage.oadr20b.records import Registration

    await migrate.upgrade_async(db_url)
    from shared.enums import Role
    from shared.models import Ven

    store = open_store(db_url)
    lab: list[str] = []
    signing: list[str] = []
    try:
        async with store.transaction() as tx:
            st = tx.oadr20b(store.clock)
            for i, ven in enumerate(pki["vens"]):
                for kind, ids in (("lab", lab), ("signing", signing)):
                    client_id = f"{ven['client_id']}-{kind}"
                    fingerprint = ven["fp"] if kind == "signing" else None
                    await tx.clients.add(
                        client_id, Role.VEN, client_id=client_id, cert_fingerprint=fingerprint
                    )
                    now = tx.vens.clock()
                    obj = Ven(
                        id=tx.vens.new_id(),
                        created_date_time=now,
                        modification_date_time=now,
                        client_id=client_id,
                        ven_name=f"bench-{kind}-ven-{i:05d}",
                    )
                    await tx.vens.insert(obj)
                    reg = Registration(ven_id=obj.id, registration_id=f"reg-{obj.id}", ven_name=obj.ven_name)
                    await st.save_registration(reg)
                    ids.append(obj.id)
    finally:
        await store.close()
    return lab, signing


def write_bodies(path: Path, pki: dict[str, Any], ven_ids: list[str], signed: bool, count: int) -> int:
    """One oadrPoll per line (newlines escaped); signed bodies each carry a fresh nonce."""
    from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
    from shared.oadr20b import messages as m
    from shared.oadr20b.signing import XmlSigner

    codec = Oadr20bCodec(Oadr20bSchema())
    unsigned = [codec.build(m.Poll(ven_id=v)) for v in ven_ids]
    signers = [XmlSigner.from_files(v["cert"], v["key"]) for v in pki["vens"]] if signed else []
    with open(path, "wb") as fh:
        for i in range(count if signed else len(ven_ids)):
            k = i % len(ven_ids)
            body = codec.sign_built(unsigned[k], signers[k]) if signed else unsigned[k]
            fh.write(body.replace(b"\\", b"\\\\").replace(b"\n", b"\\n") + b"\n")
    return count if signed else len(ven_ids)


# -- servers and load -----------------------------------------------------------------------------


def start_ours(db_url: str, root: Path, mode: str, processes: int) -> Proc:
    port = free_port()
    env = {
        "VTN_DELIVERY_WORKER": "false",
        "VTN_LOG_LEVEL": "WARNING",
        "VTN_OADR20B_VTN_ID": "EnergyCoordinationVTN",
        "VTN_REUSE_PORT": "true" if processes > 1 else "false",
    }
    if mode != "unsigned":
        env |= {
            "VTN_OADR20B_SIGN": "true",
            "VTN_OADR20B_REQUIRE_SIGNATURES": "true" if mode == "signed-both" else "false",
            "VTN_OADR20B_SIGN_CERT_FILE": str(root / "vtn-ours.crt"),
            "VTN_OADR20B_SIGN_KEY_FILE": str(root / "vtn-ours.key"),
            "VTN_OADR20B_REPLAY_WINDOW_SECONDS": "3600",
        }
    argv = [VTN_BIN, "serve", "--db", db_url, "--port", str(port), "--no-migrate"]
    main = spawn(f"oadr20b-ours-{mode}", argv, port, env)
    for k in range(1, processes):
        main.extra.append(spawn(f"oadr20b-ours-{k}", argv, port, env))
    wait_http(main, "/health")
    return main


def start_openleadr(root: Path, ids_file: Path, mode: str) -> Proc:
    port = free_port()
    script = root / "openleadr_bench_vtn.py"
    script.write_text(OPENLEADR_SERVER)
    signed = mode != "unsigned"
    cert, key = (str(root / "vtn-openleadr.crt"), str(root / "vtn-openleadr.key")) if signed else ("-", "-")
    python = OPENLEADR_VENV / "bin" / "python"
    proc = spawn(
        f"oadr20b-openleadr-{mode}",
        [str(python), str(script), str(port), str(ids_file), cert, key],
        port,
    )
    wait_http(proc, f"{PREFIX}/OadrPoll")
    return proc


def run_wrk(proc: Proc, bodies: Path, duration: float, connections: int, once: bool) -> dict[str, Any]:
    lua = bodies.with_suffix(".lua")
    lua.write_text(LUA)
    before = proc.cpu_seconds()
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
    ]
    argv += [
        f"http://127.0.0.1:{proc.port}",
        "--",
        str(bodies),
        "1",
        f"{PREFIX}/OadrPoll",
        "once" if once else "cycle",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}\n{proc.tail()}")
    doc: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    seconds = doc["duration_us"] / 1e6
    good = doc["requests"] - doc["bad"]
    cpu = proc.cpu_seconds() - before  # utime + stime of the server process(es), /proc/<pid>/stat
    return {
        "good_per_s": round(good / seconds, 1),
        "requests": doc["requests"],
        "bad": doc["bad"],
        "socket_errors": doc["errors"],
        "p50_ms": round(doc["p50_us"] / 1000, 2),
        "p99_ms": round(doc["p99_us"] / 1000, 2),
        "server_cores": round(cpu / seconds, 2),
        "server_cpu_us_per_request": round(cpu / max(1, doc["requests"]) * 1e6),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vens", type=int, default=1000)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument(
        "--processes",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="our VTN processes sharing the port",
    )
    p.add_argument("--key-type", choices=["ec", "rsa"], default="ec")
    p.add_argument(
        "--signed-rate-guess", type=float, default=2500.0, help="signed bodies = guess x duration x 1.3"
    )
    p.add_argument("--quick", action="store_true", help="3 s per run")
    p.add_argument("--skip-openleadr", action="store_true")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}")
    args = p.parse_args()
    duration = 3.0 if args.quick else args.duration
    root = Path(tempfile.mkdtemp(prefix="oadr20b-bench-"))
    print(f"setting up {args.vens} VENs ({args.key_type} keys) in {root} ...", flush=True)
    pki = make_pki(root, args.vens, args.key_type)
    db_url = f"sqlite:///{root / 'vtn.db'}"
    lab_ids, signing_ids = asyncio.run(seed(db_url, pki))
    ids_file = root / "ven_ids.json"
    ids_file.write_text(json.dumps(lab_ids + signing_ids))
    have_openleadr = (OPENLEADR_VENV / "bin" / "python").exists() and not args.skip_openleadr
    results: dict[str, Any] = {
        "machine": machine_info(""),
        "vens": args.vens,
        "duration_s": duration,
        "connections": args.connections,
        "processes": args.processes,
        "key_type": args.key_type,
    }
    plain = root / "polls-unsigned.txt"
    write_bodies(plain, pki, lab_ids, False, 0)
    for mode in [m for m in MODES if m in args.modes.split(",")]:
        bodies = warm = plain
        if mode == "signed-both":
            print(f"[{mode}] signing request bodies ...", flush=True)
            bodies, warm = root / "polls-signed.txt", root / "polls-signed-warm-up.txt"
            write_bodies(bodies, pki, signing_ids, True, int(args.signed_rate_guess * duration * 1.3))
            write_bodies(warm, pki, signing_ids, True, 8 * len(signing_ids))
        once = mode == "signed-both"
        servers: list[tuple[str, Callable[[], Proc]]] = [
            ("ours", partial(start_ours, db_url, root, mode, args.processes))
        ]
        if have_openleadr:
            servers.append(("openleadr", partial(start_openleadr, root, ids_file, mode)))
        for name, start in servers:
            proc = start()
            try:
                # Warm-up: every VEN polls every server process (caches as in steady state).
                run_wrk(proc, warm, 60.0 if once else 8.0, args.connections, once=once)
                result = run_wrk(proc, bodies, duration, args.connections, once=once)
            finally:
                proc.stop()
            results[f"{name}_{mode}"] = result
            print(f"[{mode}] {name:9s} {result}", flush=True)
    for mode in MODES:
        ours, theirs = results.get(f"ours_{mode}"), results.get(f"openleadr_{mode}")
        if ours and theirs and theirs["good_per_s"]:
            results[f"ratio_{mode}"] = round(ours["good_per_s"] / theirs["good_per_s"], 2)
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "oadr20b_poll.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
