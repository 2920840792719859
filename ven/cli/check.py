"""`ven check`: the conformance kit against a VTN (see docs/interop-kit.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "check",
        help="conformance run against a VTN: PASS/FAIL/SKIP per spec clause",
        description="Run the interop kit against a VTN. Exit status 0 only when no check failed. "
        "Secrets may come from $VEN_CHECK_CLIENT_SECRET, $VEN_CHECK_BL_CLIENT_SECRET and "
        "$VEN_CHECK_VEN2_CLIENT_SECRET (kept out of the process list); a secret that starts with '-' "
        "is given as --client-secret=-...",
    )
    p.add_argument("--vtn", required=True, metavar="URL", help="API base, e.g. https://vtn/openadr3/3.1.0")
    p.add_argument("--protocol", choices=["3.1.0", "3.0.1", "2.0b"], default="3.1.0")
    p.add_argument("--client-id", required=True, help="the VEN's client id (2.0b: its venName)")
    p.add_argument(
        "--client-secret",
        default=os.environ.get("VEN_CHECK_CLIENT_SECRET"),
        help="the VEN's client secret (3.x; default $VEN_CHECK_CLIENT_SECRET)",
    )
    p.add_argument("--bl-client-id", help="BL credentials: let the kit create programs, events, vens")
    p.add_argument("--bl-client-secret", default=os.environ.get("VEN_CHECK_BL_CLIENT_SECRET"))
    p.add_argument("--ven2-client-id", help="a second VEN's credentials, for the privacy checks")
    p.add_argument("--ven2-client-secret", default=os.environ.get("VEN_CHECK_VEN2_CLIENT_SECRET"))
    p.add_argument("--cert", metavar="FILE", help="client certificate (mutual TLS; 2.0b signing)")
    p.add_argument("--key", metavar="FILE", help="its private key")
    p.add_argument("--ca", metavar="FILE", help="CA certificate that signed the VTN's certificate")
    p.add_argument(
        "--sign", action="store_true", help="2.0b: sign messages with --cert/--key, require signed answers"
    )
    p.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="webhook receiver address")
    p.add_argument("--callback-url", metavar="URL", help="the receiver as the VTN must call it")
    p.add_argument("--wait", type=float, default=10.0, metavar="S", help="seconds to wait for a notification")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    p.add_argument("--debug", action="store_true", help="log every check's traceback")
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from ven.check import CheckOptions, Protocol, run
    from ven.check.model import VtnUnreachable
    from ven.check.reporters import as_json, junit, text

    protocol = Protocol(args.protocol)
    if protocol is not Protocol.V20B and not args.client_secret:
        print("ven check: --client-secret is required for OpenADR 3.x", file=sys.stderr)
        return 2
    if args.sign and not (args.cert and args.key):
        print("ven check: --sign needs --cert and --key", file=sys.stderr)
        return 2
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"ven check: --listen {args.listen!r} is not HOST:PORT (e.g. 127.0.0.1:0)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    options = CheckOptions(
        vtn=args.vtn,
        protocol=protocol,
        client_id=args.client_id,
        client_secret=args.client_secret,
        bl_client_id=args.bl_client_id,
        bl_client_secret=args.bl_client_secret,
        ven2_client_id=args.ven2_client_id,
        ven2_client_secret=args.ven2_client_secret,
        cert=args.cert,
        key=args.key,
        ca=args.ca,
        sign=args.sign,
        listen_host=host,
        listen_port=int(port),
        callback_url=args.callback_url,
        wait_seconds=args.wait,
    )
    try:
        result = asyncio.run(run(options))
    except VtnUnreachable as exc:
        print(f"ven check: {exc} (check --vtn, and --ca/--cert/--key for TLS)", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:  # e.g. unreadable certificate files, receiver port in use
        if args.debug:
            raise
        print(f"ven check: cannot start: {exc}", file=sys.stderr)
        return 2
    print(as_json(result) if args.json else text(result))
    if args.junit:
        Path(args.junit).write_bytes(junit(result))
    return 0 if result.ok else 1
