"""`vtn ca ...`: the dev/test certificate authority for mutual TLS (see certs/README.md)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from shared.tls import fingerprint_sha256, fingerprint_short_2b, load_certificate
from vtn.cli.common import CliError
from vtn.pki import CertificateAuthority, CertificateRequest, PkiError
from vtn.pki.records import atomic_write

Handler = Callable[[argparse.Namespace], int]


def _pki_errors(func: Handler) -> Handler:
    """Turn PKI and file errors into CliError so users see a message, not a traceback."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except PkiError as exc:
            raise CliError(str(exc)) from exc
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise CliError(f"{where}{exc.strerror or exc}") from exc

    return run


# Where `make run` (scripts/dev_certs.sh) keeps its CA, and the historical default.
DEFAULT_DIRS = (Path("certs"), Path("certs/dev"))


def ca_dir(given: Path | None) -> Path:
    """--dir, else $VTN_CA_DIR, else certs/ or certs/dev/, whichever holds a CA (certs/ if neither).

    So that `vtn ca sign ...` after `make run` finds the CA it made instead of asking for a second one.
    """
    if given is not None:
        return given
    env = os.environ.get("VTN_CA_DIR")
    if env:
        return Path(env)
    for candidate in DEFAULT_DIRS:
        if (candidate / "ca.crt").is_file():
            return candidate
    return DEFAULT_DIRS[0]


def _with_dir(func: Handler) -> Handler:
    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        args.dir = ca_dir(args.dir)
        return func(args)

    return run


def _load(args: argparse.Namespace) -> CertificateAuthority:
    return CertificateAuthority.load(args.dir, crl_days=getattr(args, "crl_days", 7))


def _print_cert(cert: x509.Certificate) -> None:
    print(f"serial:              {cert.serial_number:x}")
    print(f"valid until:         {cert.not_valid_after_utc.isoformat()}")
    print(f"SHA-256 fingerprint: {fingerprint_sha256(cert)}")
    print(f"2.0b fingerprint:    {fingerprint_short_2b(cert)}")


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    atomic_write(path, cert.public_bytes(Encoding.PEM))
    print(f"wrote {path}")


# -- commands --------------------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.init(
        args.dir,
        common_name=args.common_name,
        key_type=args.key_type,
        rsa_bits=args.rsa_bits,
        days=args.days,
        force=args.force,
        crl_days=args.crl_days,
    )
    print(f"created CA {args.common_name!r} in {ca.directory}/")
    print(f"  {ca.directory / 'ca.key'}  private key: keep secret (mode 0600)")
    print(f"  {ca.cert_path}  CA certificate: give to servers and VENs as their trust anchor")
    print(f"  {ca.crl_path}  revocation list: load it into the server and reload after revokes")
    print(f"SHA-256 fingerprint: {fingerprint_sha256(ca.certificate)}")
    return 0


def _issue_server(args: argparse.Namespace) -> int:
    ca = _load(args)
    cert_pem, key_pem = ca.issue_server(args.host, args.ip, args.days, key_type=args.key_type)
    atomic_write(args.out_key, key_pem, mode=0o600)
    print(f"wrote {args.out_key} (private key, mode 0600)")
    cert = load_certificate(cert_pem)
    _write_cert(args.out_cert, cert)
    _print_cert(cert)
    return 0


def _sign(args: argparse.Namespace) -> int:
    ca = _load(args)
    cert = ca.sign_csr(Path(args.csr).read_bytes(), args.client_id, args.days)
    _write_cert(args.out, cert)
    print(f"client id:           {args.client_id}")
    _print_cert(cert)
    return 0


def _resolve_target(ca: CertificateAuthority, text: str) -> int | x509.Certificate:
    """A certificate file, or a serial in hex (optionally 0x-prefixed or colon-separated) or decimal."""
    path = Path(text)
    if path.is_file():
        try:
            return load_certificate(path.read_bytes())
        except ValueError as exc:
            raise CliError(f"{path} is not a certificate: {exc}") from exc
    cleaned = text.strip().lower().replace(":", "")
    if cleaned.startswith("0x"):
        try:
            return int(cleaned[2:], 16)
        except ValueError:
            raise CliError(f"{text!r} is not a hex serial") from None
    candidates: set[int] = set()
    for base in (16, 10):
        with contextlib.suppress(ValueError):
            candidates.add(int(cleaned, base))
    if not candidates:
        raise CliError(f"{text!r} is neither a certificate file nor a serial number")
    # Random serials almost always contain a-f; when digits alone could be either, look both up.
    known = [c for c in candidates if ca.issued_certificate(c) is not None]
    if len(known) > 1:
        raise CliError(f"serial {text} is ambiguous: write it as 0x{cleaned} for hex")
    if not known:
        raise CliError(f"no certificate with serial {text} in {ca.directory}/issued/ (see `vtn ca list`)")
    return known[0]


def _revoke(args: argparse.Namespace) -> int:
    ca = _load(args)
    target = _resolve_target(ca, args.target)
    before = {e.serial for e in ca.revocations()}
    entry = ca.revoke(target, reason=args.reason)
    state = "was already revoked" if entry.serial in before else "revoked"
    print(f"serial {entry.serial:x} {state} ({entry.reason}, {entry.revoked_at.isoformat()})")
    print(f"CRL: {ca.crl_path} (reload the server so it takes effect)")
    return 0


def _crl(args: argparse.Namespace) -> int:
    ca = _load(args)
    crl = ca.write_crl()
    print(f"wrote {ca.crl_path}: {len(crl)} revoked, next update {crl.next_update_utc}")
    return 0


def _list(args: argparse.Namespace) -> int:
    records = _load(args).list_issued()
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=2))
        return 0
    if not records:
        print("no certificates issued yet")
        return 0
    print(f"{'SERIAL':<41} {'KIND':<6} {'STATUS':<7} {'NOT AFTER':<20} {'NAME':<24} FINGERPRINT")
    for r in records:
        status = "revoked" if r.revoked else "valid"
        name = r.client_id or r.subject_cn or "-"
        print(
            f"{r.serial_hex:<41} {r.kind:<6} {status:<7} {r.not_after:%Y-%m-%d %H:%M:%S} "
            f"{name:<24} {r.fingerprint}"
        )
    return 0


def _print_requests(records: list[CertificateRequest]) -> None:
    print(f"{'REQUEST ID':<32}  {'STATUS':<8}  {'CREATED':<20}  CLIENT ID")
    for r in records:
        print(f"{r.request_id:<32}  {r.status:<8}  {r.created:%Y-%m-%d %H:%M:%S}  {r.client_id}")


def _requests(args: argparse.Namespace) -> int:
    ca = _load(args)
    records = ca.onboarding.all() if args.all else ca.pending_requests()
    if not records:
        print("no pending certificate requests" if not args.all else "no certificate requests")
        return 0
    _print_requests(records)
    return 0


def _approve(args: argparse.Namespace) -> int:
    ca = _load(args)
    cert = ca.approve(args.request_id, args.days)
    print(f"approved request {args.request_id} for client {ca.request_status(args.request_id).client_id}")
    if args.out is not None:
        _write_cert(args.out, cert)
    _print_cert(cert)
    return 0


def _reject(args: argparse.Namespace) -> int:
    record = _load(args).reject(args.request_id)
    print(f"rejected request {record.request_id} from client {record.client_id}")
    return 0


# -- parser ----------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ca` and its sub-commands to the `vtn` parser."""
    ca = sub.add_parser(
        "ca",
        help="dev/test certificate authority for mutual TLS",
        description="Manage the dev/test CA: server and client certificates, revocation, CSR approvals.",
    )
    actions = ca.add_subparsers(dest="ca_command", required=True, metavar="ACTION")

    def leaf(name: str, text: str, func: Handler) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=text, description=text)
        p.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="CA directory (default: $VTN_CA_DIR, else certs/ or certs/dev/, whichever holds a CA)",
        )
        p.set_defaults(func=_pki_errors(_with_dir(func)))
        return p

    def crl_days(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--crl-days", type=int, default=7, help="days until the CRL's next update (default: 7)"
        )

    p = leaf("init", "Create a new CA (ca.key, ca.crt, crl.pem) in --dir.", _init)
    p.add_argument("--key-type", choices=["ec", "rsa"], default="ec", help="ec (P-256, default) or rsa")
    p.add_argument("--rsa-bits", type=int, default=2048, help="RSA key size, at least 2048 (default: 2048)")
    p.add_argument("--common-name", default="Energy Coordination Dev CA", help="CA subject CN")
    p.add_argument("--days", type=int, default=3650, help="CA validity in days (default: 3650)")
    p.add_argument("--force", action="store_true", help="replace an existing CA (old files are moved aside)")
    crl_days(p)

    p = leaf("issue-server", "Issue a server certificate and key for --host.", _issue_server)
    p.add_argument("--host", required=True, help="DNS name (or IP address) the server is reached by")
    p.add_argument("--ip", action="append", default=[], metavar="ADDR", help="extra IP SAN (repeatable)")
    p.add_argument("--out-cert", type=Path, required=True, help="where to write the certificate (PEM)")
    p.add_argument("--out-key", type=Path, required=True, help="where to write the private key (PEM, 0600)")
    p.add_argument("--days", type=int, default=825, help="validity in days (default: 825)")
    p.add_argument("--key-type", choices=["ec", "rsa"], default=None, help="key type (default: the CA's)")

    p = leaf("sign", "Sign a client CSR; prints the SHA-256 and 2.0b fingerprints.", _sign)
    p.add_argument(
        "csr", metavar="CSR", help="PEM certificate signing request (e.g. from `ven certs request`)"
    )
    p.add_argument("--client-id", required=True, help="client id put in the CN and SAN URI")
    p.add_argument("--days", type=int, default=365, help="validity in days (default: 365)")
    p.add_argument("--out", type=Path, required=True, help="where to write the certificate (PEM)")

    p = leaf("revoke", "Revoke a certificate and rewrite crl.pem.", _revoke)
    p.add_argument(
        "target", metavar="CERTFILE_OR_SERIAL", help="PEM file, or serial in hex (0x optional) or decimal"
    )
    p.add_argument("--reason", default="unspecified", help="RFC 5280 reason, e.g. keyCompromise, superseded")
    crl_days(p)

    p = leaf("crl", "Re-sign crl.pem (do this before its next update passes).", _crl)
    crl_days(p)

    p = leaf("list", "List issued certificates.", _list)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = leaf("requests", "List certificate requests submitted through the API.", _requests)
    p.add_argument("--all", action="store_true", help="include approved and rejected requests")

    p = leaf("approve", "Approve a pending request: sign its CSR.", _approve)
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument("--days", type=int, default=365, help="validity in days (default: 365)")
    p.add_argument("--out", type=Path, default=None, help="also write the certificate here (PEM)")

    p = leaf("reject", "Reject a pending request.", _reject)
    p.add_argument("request_id", metavar="REQUEST_ID")
