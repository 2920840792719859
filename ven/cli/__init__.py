"""`ven` command line: run, status, certs, check.

A failure the user can cause ends in one line on stderr that says what to do (a `UserError`) and
a non-zero exit status; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata

from ven.cli import agent, certs, check
from ven.cli.errors import UserError


def _version() -> str:
    try:
        return metadata.version("energy-coordination")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ven", description="OpenADR 3.1 / 2.0b VEN agent and tools.")
    parser.add_argument("--version", action="version", version=f"ven (energy-coordination) {_version()}")
    # Its own dest: `ven check --debug` (a sub-command option) must not reset it.
    parser.add_argument(
        "--debug", dest="traceback", action="store_true", help="show the traceback of a failure"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    agent.register(sub)
    certs.register(sub)
    check.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; each sub-command sets `func(args) -> int` and raises UserError for user mistakes."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        if args.traceback:
            traceback.print_exc()
        print(f"ven: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
