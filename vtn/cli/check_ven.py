"""`vtn check-ven`: a scripted test VTN that a partner points its VEN at, and the VEN's grades.

Prints the URL and credentials for the VEN, plays the scenario (vtn/checkven/runner.py), and prints
PASS/FAIL per check (or `--json`). Exit status 0 only when every check passed, 1 when one failed,
2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from vtn.cli.common import CliError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("check-ven", help="run a scripted test VTN and grade the VEN pointed at it")
    p.add_argument("--port", type=int, required=True, help="port of the test VTN")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--protocol", default="3.1.0", choices=["3.1.0", "2.0b"], help="protocol the VEN speaks")
    p.add_argument("--scenario", default="basic", help="scenario to play (basic)")
    p.add_argument(
        "--unit",
        type=float,
        default=10.0,
        help="seconds per scenario time unit (default 10; the run takes about 14 units); "
        "the VEN must poll and report at least once a unit",
    )
    p.add_argument("--fast", action="store_true", help="a fast clock for tests: --unit 1")
    p.add_argument(
        "--onboard-timeout", type=float, default=120.0, help="seconds to wait for the VEN to log in"
    )
    p.add_argument("--credentials-file", help="also write the VEN's URL and credentials to this JSON file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_check_ven)


def _check_ven(args: argparse.Namespace) -> int:
    from vtn.checkven.runner import SCENARIOS, Credentials, Options, run

    if args.scenario not in SCENARIOS:
        raise CliError(f"unknown scenario {args.scenario!r}: use one of {', '.join(SCENARIOS)}")
    unit = 1.0 if args.fast else args.unit
    if unit <= 0:
        raise CliError("--unit must be positive")
    options = Options(
        port=args.port,
        host=args.host,
        protocol=args.protocol,
        scenario=args.scenario,
        unit=unit,
        onboard_timeout=args.onboard_timeout,
    )

    async def ready(creds: Credentials) -> None:
        doc = {"url": creds.url, "client_id": creds.client_id, "client_secret": creds.client_secret}
        if creds.vtn_id:
            doc = {"url": creds.url, "ven_name": creds.client_id, "vtn_id": creds.vtn_id}
        if args.credentials_file:
            with open(args.credentials_file, "w") as fh:
                json.dump(doc, fh)
        out = sys.stderr if args.json else sys.stdout
        print(
            f"check-ven: test VTN at {creds.url} (OpenADR {args.protocol}, scenario {args.scenario})",
            file=out,
        )
        if creds.vtn_id:  # 2.0b, plain HTTP: admitted by venName (a ven object made for it)
            print(f"  venName:       {creds.client_id}", file=out)
            print(f"  vtnID:         {creds.vtn_id}", file=out)
        else:
            print(f"  client_id:     {creds.client_id}", file=out)
            print(f"  client_secret: {creds.client_secret}", file=out)
        print(
            f"Point the VEN at it now; waiting up to {args.onboard_timeout:.0f} s for it to register."
            if creds.vtn_id
            else f"Point the VEN at it now; waiting up to {args.onboard_timeout:.0f} s for it to log in.",
            file=out,
        )
        out.flush()

    try:
        outcome = asyncio.run(run(options, ready))
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    if args.json:
        print(
            json.dumps(
                {
                    "url": outcome.credentials.url,
                    "protocol": args.protocol,
                    "scenario": args.scenario,
                    "passed": outcome.passed,
                    "checks": [
                        {
                            "name": v.name,
                            "title": v.title,
                            "status": "PASS" if v.passed else "FAIL",
                            "detail": v.detail,
                        }
                        for v in outcome.verdicts
                    ],
                },
                indent=2,
            )
        )
    else:
        print()
        for v in outcome.verdicts:
            print(f"{'PASS' if v.passed else 'FAIL'}  {v.name:<24} {v.title}")
            print(f"      {'':<24} {v.detail}")
        failed = sum(1 for v in outcome.verdicts if not v.passed)
        print()
        print(f"{len(outcome.verdicts) - failed} passed, {failed} failed")
    return 0 if outcome.passed else 1
