"""Helpers shared by the `vtn` sub-command modules."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from vtn.cli.errors import CliError, database_problem
from vtn.config import DEFAULT_DB_URL

__all__ = ["CliError", "add_db_option", "database_errors", "prepare_db_url", "resolve_db_url"]


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help=f"database URL, e.g. sqlite:///var/vtn.db or postgresql://user@host:5432/db "
        f"(default: $VTN_DB_URL or {DEFAULT_DB_URL})",
    )


def resolve_db_url(args: argparse.Namespace, *, create: bool = True) -> str:
    """The database URL of `--db`, `$VTN_DB_URL` or the default.

    `create`: make the folder of a SQLite file so that a first run just works. Commands that only
    read (`clients list`) pass False and say how to create the database instead of leaving an
    empty file behind.
    """
    url: str = args.db or os.environ.get("VTN_DB_URL") or DEFAULT_DB_URL
    prepare_db_url(url, create=create)
    return url


def prepare_db_url(url: str, *, create: bool = True) -> None:
    """Check `url`; for a SQLite file, make its folder (`create`) or insist that it exists."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise CliError(
            f"not a database URL: {url!r} (e.g. sqlite:///var/vtn.db or postgresql://user@host:5432/db)"
        ) from exc
    from vtn.storage.engine import async_url  # here: `vtn --help` need not load the storage layer

    try:
        async_url(url)  # the storage layer's rule for which databases it runs on
    except ValueError as exc:
        raise CliError(f"{exc} (--db / VTN_DB_URL)") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not create and not path.exists():
            raise CliError(f"no database at {path}: create it with `vtn db upgrade --db {url}`")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(
                f"cannot create the folder of the SQLite database {path}: {exc.strerror} "
                "(choose a writable path with --db / VTN_DB_URL)"
            ) from exc


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn the database failures an operator can fix into a `CliError` naming the fix."""
    try:
        yield
    except CliError:
        raise
    except Exception as exc:
        problem = database_problem(url, exc)
        if problem is None:
            raise
        raise CliError(problem) from exc
