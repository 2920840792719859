"""Helpers shared by the `vtn` sub-command modules."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from vtn.config import DEFAULT_DB_URL


class CliError(Exception):
    """A user-facing failure: printed without a traceback, exit status 2."""


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help=f"database URL, e.g. sqlite:///var/vtn.db or postgresql://user@host:5432/db "
        f"(default: $VTN_DB_URL or {DEFAULT_DB_URL})",
    )


def resolve_db_url(args: argparse.Namespace) -> str:
    url: str = args.db or os.environ.get("VTN_DB_URL") or DEFAULT_DB_URL
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise CliError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        # Create the folder of a SQLite file so a first run just works.
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url
