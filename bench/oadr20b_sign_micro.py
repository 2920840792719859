"""CPU µs per 2.0b signature step (sign, verify, parse + XSD) as a signed-both oadrPoll costs the VTN.

    .venv/bin/python bench/oadr20b_sign_micro.py [--n 2000] [--profile]

Certificates come from a throw-away dev CA (vtn.pki), P-256 and RSA-2048. Times are process time
(time.process_time) per call, so other work on a shared machine does not inflate them much.
"verify" is XmlVerifier as the VTN runs it (the fast path, shared/oadr20b/fast_verify.py); the
"signxml only" row is the same with `fast_path=False`, i.e. verification as it was before; the
"sign, signxml" row is XmlSigner with `library=True` (signxml signs).
The last rows run the VTN's own `Oadr20bService.handle` (admission, poll cache, signing) on a seeded
SQLite store with one signing VEN, without HTTP. `--profile` prints the top functions of a cProfile
run of that service path.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root instead of bench/ (whose profile.py would shadow the stdlib's, which cProfile needs).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import timedelta  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from lxml import etree  # noqa: E402

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema  # noqa: E402
from shared.oadr20b import messages as m  # noqa: E402
from shared.oadr20b.parts import EiResponse  # noqa: E402
from shared.oadr20b.signing import XmlSigner, XmlVerifier  # noqa: E402
from vtn.pki import CertificateAuthority, KeyType, generate_key  # noqa: E402


def make_signer(ca: CertificateAuthority, name: str, kind: KeyType) -> XmlSigner:
    key = generate_key(kind)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    cert = ca.sign_csr(csr.public_bytes(serialization.Encoding.PEM), name, 30)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return XmlSigner(cert, key)


def per_call(fn: Callable[[int], object], n: int) -> float:
    """µs of process time per call of fn(i), best of three rounds."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for i in range(n):
            fn(i)
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


async def service_rows(n: int, kind: KeyType, profile: bool) -> dict[str, float]:
    """µs per signed-both oadrPoll through Oadr20bService.handle, as `vtn serve` runs it (no HTTP)."""
    from bench.oadr20b_poll import make_pki, seed
    from vtn.app import build_app
    from vtn.config import VtnConfig
    from vtn.oadr20b.routes import SERVICE, add_routes
    from vtn.oadr20b.settings import Oadr20bSettings
    from vtn.storage import open_store

    root = Path(tempfile.mkdtemp(prefix="oadr20b-micro-svc-"))
    pki = make_pki(root, 1, kind)
    db_url = f"sqlite:///{root / 'vtn.db'}"
    _, signing = await seed(db_url, pki)
    store = open_store(db_url)
    settings = Oadr20bSettings(
        sign=True,
        require_signatures=True,
        sign_cert_file=str(root / "vtn-ours.crt"),
        sign_key_file=str(root / "vtn-ours.key"),
        replay_window=timedelta(hours=1),
    )
    try:
        app = await build_app(VtnConfig(db_url=db_url, delivery_worker=False), store)
        add_routes(app, settings)
        svc = app[SERVICE]
        codec = svc.codec
        ven = XmlSigner.from_files(pki["vens"][0]["cert"], pki["vens"][0]["key"])
        poll = codec.build(m.Poll(ven_id=signing[0]))
        bodies = iter([codec.sign_built(poll, ven) for _ in range(4 * n + 10)])
        for _ in range(10):  # warm: poll cache filled, certificate -> client cached
            assert b"responseCode>200<" in await svc.handle("OadrPoll", next(bodies))

        async def run() -> float:
            start = time.process_time()
            for _ in range(n):
                await svc.handle("OadrPoll", next(bodies))
            return (time.process_time() - start) / n * 1e6

        best = min([await run() for _ in range(3)])
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            await run()
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return {"signed-both oadrPoll via Oadr20bService.handle (no HTTP)": best}
    finally:
        await store.close()


def codec_rows(ca: CertificateAuthority, codec: Oadr20bCodec, kind: KeyType, n: int) -> dict[str, float]:
    """µs per signing step, and per read + verify + sign of a signed-both poll, outside the VTN."""
    answer = codec.build(m.Response(response=EiResponse(), ven_id="ven-00001"))
    poll = codec.build(m.Poll(ven_id="ven-00001"))
    ven, vtn = make_signer(ca, "ven", kind), make_signer(ca, "vtn", kind)
    vtn_signxml = XmlSigner(vtn.certificate, vtn._key, library=True)
    verifier = XmlVerifier(window=timedelta(hours=1), max_nonces=10**7)
    slow = XmlVerifier(window=timedelta(hours=1), max_nonces=10**7, fast_path=False)
    # Fresh signed requests (each its own nonce, never verified twice), made before timing.
    requests = [codec.sign_built(poll, ven) for _ in range(6 * n)]
    roots = [codec.read(r).root for r in requests[: 3 * n]]
    slow_roots = iter([codec.read(r).root for r in requests[: 3 * n]])
    parsed = etree.fromstring(poll)
    used = iter(range(len(requests)))

    def verify(_: int) -> None:
        verifier.verify(roots[next(used)], ven.certificate)

    def verify_signxml(_: int) -> None:
        slow.verify(next(slow_roots), ven.certificate)

    def poll_path(_: int) -> None:
        doc = codec.read(requests[next(used)])
        verifier.verify(doc.root, ven.certificate)
        codec.sign_built(answer, vtn)

    rows = {
        "sign (XmlSigner.sign, parsed root)": per_call(lambda _: vtn.sign(parsed), n),
        "sign, signxml (library=True)": per_call(lambda _: vtn_signxml.sign(parsed), n),
        "sign_built (parse + sign + serialise)": per_call(lambda _: codec.sign_built(answer, vtn), n),
        "read signed poll (parse + XSD + decode)": per_call(lambda i: codec.read(requests[i]), n),
        "verify (XmlVerifier.verify)": per_call(verify, n),
        "verify, signxml only (fast_path=False, as before)": per_call(verify_signxml, n),
    }
    assert verifier.fast_verified == 3 * n and slow.signxml_verified == 3 * n
    verifier = XmlVerifier(window=timedelta(hours=1), max_nonces=10**7)
    rows["signed-both poll path (read + verify + sign_built)"] = per_call(poll_path, n)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    ca = CertificateAuthority.init(Path(tempfile.mkdtemp(prefix="oadr20b-micro-")) / "ca")
    codec = Oadr20bCodec(Oadr20bSchema())
    kinds: tuple[KeyType, ...] = ("ec", "rsa")
    for kind in kinds:
        rows = codec_rows(ca, codec, kind, args.n)
        rows |= asyncio.run(service_rows(args.n, kind, args.profile and kind == "ec"))
        print(f"--- {kind} keys, µs of CPU per call")
        for label, value in rows.items():
            print(f"{label:58s} {value:8.1f}")


if __name__ == "__main__":
    main()
