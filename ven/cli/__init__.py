"""`ven` command line: run, status, certs, check."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ven.cli import agent, certs, check


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ven", description="OpenADR 3.1 VEN agent and tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    agent.register(sub)
    certs.register(sub)
    check.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; each sub-command sets `func(args) -> int`."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
