"""`ven certs ...`: create the VEN's private key and certificate signing request."""

from __future__ import annotations

import argparse
from pathlib import Path

from ven.cli.errors import UserError


def _request(args: argparse.Namespace) -> int:
    # Imported here: `cryptography` costs the long-running agent ~10 MB it never uses.
    from ven.certs import make_key_and_csr

    try:
        key_path, csr_path = make_key_and_csr(args.ven_name, args.out_dir, args.key_type, force=args.force)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc), 2) from exc
    name = args.ven_name
    print(f"wrote {key_path} (private key: keep it secret, mode 0600)")
    print(f"wrote {csr_path} (certificate signing request, CN={name})")
    print("next: give the CSR to the VTN operator, who signs it with the CA (`make run` made certs/dev):")
    print(f"  vtn ca sign {csr_path} --dir {args.ca_dir} --client-id {name} --days 365 --out {name}.crt")
    print("(or submit it through the VTN's onboarding API), then run the VEN with that")
    print(f"certificate, {key_path} and the CA's ca.crt.")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `certs` and its sub-commands to the `ven` parser."""
    certs = sub.add_parser(
        "certs",
        help="client certificate tools",
        description="Create the key and CSR a VEN needs for mutual TLS.",
    )
    actions = certs.add_subparsers(dest="certs_command", required=True, metavar="ACTION")
    text = "Write <ven-name>.key (mode 0600) and <ven-name>.csr into --out-dir."
    p = actions.add_parser("request", help=text, description=text)
    p.add_argument("--ven-name", required=True, help="VEN name; becomes the CSR's CN and the file names")
    p.add_argument("--out-dir", type=Path, required=True, help="directory for the key and CSR")
    p.add_argument(
        "--key-type", choices=["ec", "rsa"], default="ec", help="ec (P-256, default) or rsa (2048)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing key")
    p.add_argument(
        "--ca-dir",
        default="certs/dev",
        metavar="DIR",
        help="the VTN's CA directory, for the suggested `vtn ca sign` (default: certs/dev, what make uses)",
    )
    p.set_defaults(func=_request)
