"""`vtn` command line: serve, db, clients, ca. Each group lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vtn.cli import ca, clients, db, serve
from vtn.cli.common import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vtn", description="OpenADR 3.1 / 2.0b VTN server and tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(sub)
    db.register(sub)
    clients.register(sub)
    ca.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; each sub-command sets `func(args) -> int`."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        print(f"vtn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
