"""`vtn programs run-due --config FILE`: run the program jobs of the config that are due, once.

What `vtn serve` does on its schedule, for a cron job or a test: each due (job, day) is claimed in
the database, so several processes (or this command beside running VTNs) publish it exactly once.
"""

from __future__ import annotations

import argparse
from typing import Any

from vtn.cli.areas import run_with_core
from vtn.cli.common import CliError, add_db_option
from vtn.config import VtnConfig
from vtn.core.core import Core
from vtn.programs.runner import JobRunner, RunResult


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("programs", help="program automation jobs (price and capacity programs)")
    psub = parser.add_subparsers(dest="programs_command", required=True, metavar="COMMAND")
    due = psub.add_parser("run-due", help="run the configured program jobs that are due, once")
    add_db_option(due)
    due.add_argument(
        "--config", required=True, metavar="FILE", help="VTN config file with [[programs.*]] jobs"
    )
    due.set_defaults(func=_run_due)


def _run_due(args: argparse.Namespace) -> int:
    try:
        config = VtnConfig.load(args.config)
    except (OSError, ValueError) as exc:
        raise CliError(f"config {args.config}: {exc}") from exc
    if args.db is None:
        args.db = config.db_url
    jobs = (*config.programs_prices, *config.programs_capacity)
    if not jobs:
        raise CliError(f"{args.config} has no [[programs.prices]] or [[programs.capacity]] jobs")

    async def work(core: Core) -> list[RunResult]:
        return await JobRunner(core, jobs, lease_s=config.programs_lease_seconds).run_due()

    failed = False
    for result in run_with_core(args, work):
        detail = f": {result.detail}" if result.detail else ""
        print(f"{result.job} {result.day}: {result.outcome.value}{detail}")
        failed = failed or result.outcome.value == "failed"
    return 1 if failed else 0
