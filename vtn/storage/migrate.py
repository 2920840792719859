"""Schema migrations, driven from code so that `vtn db upgrade` needs no alembic.ini."""

from __future__ import annotations

import asyncio
from importlib.resources import files

from alembic import command
from alembic.config import Config

from vtn.storage.engine import sync_url

# Package data of vtn.storage (env.py, script.py.mako, versions/), wherever the package is installed.
MIGRATIONS = files("vtn.storage").joinpath("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option(
        "sqlalchemy.url", sync_url(url).render_as_string(hide_password=False).replace("%", "%%")
    )
    cfg.set_main_option("vtn.plain_url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so it must run in a worker thread here.
    await asyncio.to_thread(upgrade, url, revision)


def head_revision() -> str:
    """The newest migration this code ships (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return str(heads[0])
