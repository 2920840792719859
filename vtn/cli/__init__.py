"""`vtn` command line: serve, db, clients, ca, check-ven. Each group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vtn.cli.common import CliError

# Sub-command modules, imported only when used: `vtn clients add` need not load the server.
COMMANDS = {
    "serve": "vtn.cli.serve",
    "db": "vtn.cli.db",
    "clients": "vtn.cli.clients",
    "ca": "vtn.cli.ca",
    "areas": "vtn.cli.areas",
    "publish": "vtn.cli.publish",
    "programs": "vtn.cli.programs",
    "verify": "vtn.cli.verify",
    "check-ven": "vtn.cli.check_ven",
    "operators": "vtn.cli.operators",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vtn", description="OpenADR 3.1 / 2.0b VTN server and tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or only == name:
            importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; each sub-command sets `func(args) -> int`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(only).parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        print(f"vtn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
