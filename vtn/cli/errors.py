"""Failures a user can cause, turned into one line that says what to do.

The drivers and SQLAlchemy wrap the cause several levels deep (`DBAPIError` around asyncpg's
`InvalidCatalogNameError` around ...); `database_problem` walks the whole chain of causes and
recognises the few situations an operator can fix: a database that does not exist, a server that
cannot be reached, a refused login, a SQLite file that cannot be opened, a missing schema. Anything
else is a bug or a surprise and keeps its traceback.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator


class CliError(Exception):
    """A user-facing failure: printed as one line without a traceback, exit status 2."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it was raised from or during, outermost first (each once)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _where(url: object) -> str:
    """`host:port` of a parsed database URL (sqlalchemy's URL; imported lazily, see database_problem)."""
    return f"{getattr(url, 'host', None) or 'localhost'}:{getattr(url, 'port', None) or 5432}"


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def database_problem(url: str, exc: BaseException) -> str | None:
    """One line for a database failure the operator can fix, or None."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return f"not a database URL: {url!r} (e.g. sqlite:///var/vtn.db or postgresql://user@host:5432/db)"
    shown = _redacted(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    for cause in causes(exc):
        text = str(cause)
        kind = type(cause).__name__
        # Before "database ... does not exist": asyncpg says 'relation "x" does not exist'.
        if "UndefinedTableError" in kind + text or "no such table" in text or text.startswith("relation"):
            return f"the database at {shown} has no VTN schema: run `vtn db upgrade --db {shown}`"
        if kind == "InvalidCatalogNameError" or ("database" in text and "does not exist" in text):
            name = parsed.database or "?"
            return (
                f'database "{name}" does not exist on {_where(parsed)}: create it '
                f"(createdb -h {parsed.host or 'localhost'} -U {parsed.username or 'postgres'} {name}) "
                f"or fix --db / VTN_DB_URL"
            )
        if text.startswith("role ") and "does not exist" in text:
            return (
                f"the database server at {_where(parsed)} has no user {parsed.username!r}: "
                "create it (createuser) or fix the user in --db / VTN_DB_URL"
            )
        if kind == "InvalidPasswordError" or "password authentication failed" in text:
            return (
                f"the database server at {_where(parsed)} refused user {parsed.username!r}: "
                "check the user and password in --db / VTN_DB_URL"
            )
        if isinstance(cause, socket.gaierror):
            return (
                f"cannot resolve the database host {parsed.host!r}: check the host name in --db / VTN_DB_URL"
            )
        if isinstance(cause, ConnectionRefusedError | TimeoutError) or (
            isinstance(cause, OSError) and cause.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH)
        ):
            return (
                f"cannot reach the database server at {_where(parsed)} ({cause.strerror or kind}): "
                "is PostgreSQL running there? check --db / VTN_DB_URL"
            )
        if sqlite and "unable to open database file" in text:
            return (
                f"cannot open the SQLite database {parsed.database!r}: "
                "check that its folder exists and is writable, or fix --db / VTN_DB_URL"
            )
    return None


def listen_problem(host: str, port: int, exc: OSError) -> str:
    """One line for a listening socket that could not be opened."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {host}:{port}: the address is already in use "
            "(another VTN running? stop it, or choose another --port / VTN_PORT)"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot listen on {host}:{port}: permission denied "
            "(ports below 1024 need privileges: choose a port from 1024 up, e.g. --port 8080)"
        )
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"cannot listen on {host}:{port}: no such local address (fix --host / VTN_HOST)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
