"""`vtn db upgrade`: apply the schema migrations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from vtn.cli.common import CliError, add_db_option, database_errors, resolve_db_url
from vtn.storage import migrate
from vtn.storage.backup import BackupError, backup, restore


def register(sub: argparse._SubParsersAction[Any]) -> None:
    db = sub.add_parser("db", help="database schema commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help="apply all schema migrations (safe to repeat)")
    add_db_option(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=_upgrade)

    bk = db_sub.add_parser(
        "backup", help="copy a SQLite database while the VTN runs (PostgreSQL: pg_dump, docs/deployment.md)"
    )
    add_db_option(bk)
    bk.add_argument("file", help="the backup file to write (must not exist)")
    bk.set_defaults(func=_backup)

    rs = db_sub.add_parser("restore", help="put a SQLite backup in place (stop the VTN first)")
    add_db_option(rs)
    rs.add_argument("file", help="a backup made by `vtn db backup`")
    rs.add_argument("--force", action="store_true", help="replace an existing database")
    rs.set_defaults(func=_restore)


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


def _sqlite_path(url: str, verb: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        name, host, user = parsed.database or "DB", parsed.host or "localhost", parsed.username or "postgres"
        example = (
            f"pg_dump -Fc -h {host} -U {user} -f {name}.dump {name}"
            if verb == "backup"
            else f"pg_restore -h {host} -U {user} -d {name} --clean {name}.dump"
        )
        raise CliError(
            f"vtn db {verb} works on SQLite files; for PostgreSQL use `{example}` (see docs/deployment.md)"
        )
    return Path(parsed.database)


def _backup(args: argparse.Namespace) -> int:
    url = resolve_db_url(args, create=False)
    database, target = _sqlite_path(url, "backup"), Path(args.file)
    if target.exists():
        raise CliError(f"{target} exists: choose a new file name (a backup never overwrites)")
    try:
        revision = backup(database, target)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror}") from exc
    print(f"backed up {database} to {target} (schema revision {revision})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    url = resolve_db_url(args)
    database, source = _sqlite_path(url, "restore"), Path(args.file)
    if not source.is_file():
        raise CliError(f"no backup file {source}")
    if database.exists() and not args.force:
        raise CliError(f"{database} exists: stop the VTN, then repeat with --force to replace it")
    try:
        revision = restore(source, database)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write {database}: {exc.strerror}") from exc
    print(
        f"restored {database} from {source} (schema revision {revision}); `vtn db upgrade` moves it to head"
    )
    return 0
