"""`vtn` command line: serve, db, clients, ca, config, areas, publish, programs, verify,
check-ven, operators. Each group lives in its own module.

Failures a user can cause are one line on stderr and exit status 2; `--debug` adds the traceback.
The sub-command modules need the server stack (the `vtn` extra); a gateway that installed only
`energy-coordination[ven]` gets one line naming the extra instead of an ImportError.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata

from vtn.cli.errors import CliError

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
    "config": "vtn.cli.config_cmd",
}
# Distributions of the `vtn` extra (import names).
SERVER_STACK = frozenset({"sqlalchemy", "aiosqlite", "asyncpg", "alembic", "jwt", "greenlet"})
MISSING_EXTRA = (
    "the VTN server stack is not installed: pip install 'energy-coordination[vtn]' "
    "(this install has only the VEN)"
)


def version() -> str:
    try:
        return metadata.version("energy-coordination")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vtn", description="OpenADR 3.1 / 2.0b VTN server and tools.")
    parser.add_argument("--version", action="version", version=f"vtn (energy-coordination) {version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or only == name:
            importlib.import_module(module).register(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The sub-command named on the command line (after global options), if any."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _missing_server_stack(exc: ModuleNotFoundError) -> bool:
    return (exc.name or "").split(".")[0] in SERVER_STACK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; each sub-command sets `func(args) -> int`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser(_command(argv)).parse_args(argv)
        args.argv = argv  # `vtn serve --processes N` starts its children with the same arguments
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if not _missing_server_stack(exc):
            raise
        if debug:
            traceback.print_exc()
        print(f"vtn: error: {MISSING_EXTRA}", file=sys.stderr)
        return 2
    except CliError as exc:
        if debug:
            traceback.print_exc()
        print(f"vtn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
