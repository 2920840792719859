"""`vtn verify --event ID [--json|--csv]`: baseline, actual and delivered change of an event."""

from __future__ import annotations

import argparse
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vtn.cli.areas import run_with_core
from vtn.cli.common import CliError, add_db_option
from vtn.core.core import Core
from vtn.programs.verification.collect import Verification, verify
from vtn.programs.verification.render import to_csv, to_json, to_table


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("verify", help="did partners respond to an event: baseline, actual, delivered")
    add_db_option(parser)
    parser.add_argument("--event", required=True, metavar="ID", help="eventID")
    parser.add_argument("--timezone", default="UTC", help="time zone of days and clock hours (default UTC)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON document")
    out.add_argument("--csv", action="store_true", help="print CSV rows (the export)")
    parser.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    try:
        tz = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CliError(f"unknown time zone {args.timezone!r}; use a name like Europe/Amsterdam") from exc

    async def work(core: Core) -> Verification:
        return await verify(core, args.event, tz=tz)

    found = run_with_core(args, work)
    if args.json:
        print(json.dumps(to_json(found), indent=2))
    elif args.csv:
        print(to_csv(found), end="")
    else:
        print(to_table(found))
    return 0
