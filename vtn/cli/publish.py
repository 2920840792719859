"""`vtn publish prices|capacity`: publish a program's event for a day from a feed, now."""

from __future__ import annotations

import argparse
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vtn.cli.areas import run_with_core
from vtn.cli.common import CliError, add_db_option
from vtn.core.core import Core
from vtn.programs import feeds
from vtn.programs.capacity_job import Decision, run_capacity
from vtn.programs.jobs import JobKind, ProgramJob
from vtn.programs.prices import publish_prices
from vtn.programs.publish import Published


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "publish", help="publish a program's event for a day from a price or forecast feed"
    )
    psub = parser.add_subparsers(dest="publish_command", required=True, metavar="COMMAND")

    prices = psub.add_parser("prices", help="a day-ahead price file becomes that day's PRICE event")
    add_db_option(prices)
    prices.add_argument("--program", required=True, help="program name (created if missing)")
    prices.add_argument("--file", required=True, help="CSV (start,price) or JSON file, or an HTTP(S) URL")
    prices.add_argument(
        "--timezone", default="UTC", help="zone of timestamps without an offset (default UTC)"
    )
    prices.add_argument("--currency", help="currency of the prices (default: the file's, else EUR)")
    prices.add_argument("--units", help="what a price is per (default: the file's, else KWH)")
    prices.set_defaults(func=_prices)

    cap = psub.add_parser(
        "capacity", help="an area's load forecast against its capacity becomes targeted events"
    )
    add_db_option(cap)
    cap.add_argument("--program", required=True, help="program name (created if missing)")
    cap.add_argument("--area", required=True)
    cap.add_argument("--day", required=True, help="the day (YYYY-MM-DD) the forecast is for")
    cap.add_argument(
        "--forecast", help="CSV/JSON forecast (start,kw) file or URL; default: the VENs' reported usage"
    )
    cap.add_argument("--timezone", default="UTC")
    cap.add_argument(
        "--price", type=float, default=0.10, help="PRICE incentive of the hours at risk (default 0.10)"
    )
    cap.set_defaults(func=_capacity)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CliError(f"unknown time zone {name!r}; use a name like Europe/Amsterdam") from exc


def _prices(args: argparse.Namespace) -> int:
    tz = _zone(args.timezone)

    async def work(core: Core) -> tuple[Published, int]:
        series = await feeds.load(args.file, tz)
        done = await publish_prices(core, args.program, series, tz, currency=args.currency, units=args.units)
        return done, len(series.slots)

    done, count = run_with_core(args, work)
    assert done.event is not None
    print(
        f"{done.operation.value.lower()}d event {done.event.id} ({done.event.event_name}, {count} intervals)"
    )
    return 0


def _capacity(args: argparse.Namespace) -> int:
    tz = _zone(args.timezone)
    try:
        day = date.fromisoformat(args.day)
    except ValueError as exc:
        raise CliError(f"--day {args.day!r}: use YYYY-MM-DD") from exc
    job = ProgramJob(
        kind=JobKind.CAPACITY,
        program=args.program,
        area=args.area,
        publish_at=time(0, 0),
        timezone=args.timezone,
        price_incentive=args.price,
    )

    async def work(core: Core) -> Decision:
        forecast = None if args.forecast is None else await feeds.load(args.forecast, tz)
        return await run_capacity(core, job, day, forecast)

    print(run_with_core(args, work).summary)
    return 0
