"""`vtn db upgrade`: apply the schema migrations."""

from __future__ import annotations

import argparse
from typing import Any

from vtn.cli.common import CliError, add_db_option, database_errors, resolve_db_url
from vtn.storage import migrate


def register(sub: argparse._SubParsersAction[Any]) -> None:
    db = sub.add_parser("db", help="database schema commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help="apply all schema migrations (safe to repeat)")
    add_db_option(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    url = resolve_db_url(args)
    try:
        with database_errors(url):
            migrate.upgrade(url, args.revision)
    except CliError:
        raise
    except Exception as exc:  # alembic and the drivers raise many kinds; show the cause plainly
        raise CliError(f"could not upgrade {url}: {exc}") from exc
    print(f"database at {url} is up to date")
    return 0
