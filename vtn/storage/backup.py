"""SQLite backups with SQLite's online backup API: consistent copies of a database in use.

`backup` copies the live database page by page (the VTN may keep serving; WAL content that is
committed is included, and a write during the copy restarts the affected steps). `restore`
copies a backup over the database the same way, after checking that it is a VTN database; the
VTN must be stopped for it. PostgreSQL is backed up with its own tools (pg_dump, docs/deployment.md).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


class BackupError(Exception):
    """The file is not a usable VTN database, or the copy failed."""


def _check(path: Path) -> str:
    """The schema revision of the VTN database at `path` (raises BackupError if it is none)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            if ok is None or ok[0] != "ok":
                raise BackupError(f"{path} fails SQLite's integrity check: {ok}")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a VTN database ({exc})") from exc
    if row is None:
        raise BackupError(f"{path} is not a VTN database (no schema revision)")
    return str(row[0])


def backup(database: Path, target: Path) -> str:
    """Copy the database at `database` to `target` (a new file); returns the schema revision."""
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(database)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst, pages=1024)
            # A self-contained file: no -wal beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
        revision = _check(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return revision


def restore(source: Path, database: Path) -> str:
    """Copy the backup `source` over the database at `database`; returns the schema revision."""
    revision = _check(source)
    database.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(database)) as dst:
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=WAL")
    return revision
