"""The console's settings and template environment, built once per application by `app.add_routes`."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiohttp import web


@dataclass(frozen=True)
class ConsoleSettings:
    session_seconds: int = 8 * 3600
    # Lockout: after this many consecutive failed logins, the account is refused for lock_seconds.
    max_failed_logins: int = 5
    lock_seconds: int = 15 * 60
    page_size: int = 50


@dataclass(frozen=True)
class ConsoleState:
    settings: ConsoleSettings
    templates: jinja2.Environment


CONSOLE = web.AppKey("vtn_console", ConsoleState)


def make_templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("vtn.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )
