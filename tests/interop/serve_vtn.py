"""`vtn serve` for the interop tests, with the OpenADR 3.0.1 API mounted.

Runs the real CLI (config from VTN_* environment, migrations, serve). Until create_app calls
vtn.oadr301.routes.add_routes itself, this wraps build_app to add the 3.0.1 routes; afterwards the
wrapper finds them present and does nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import vtn.cli.serve as serve  # noqa: E402
from shared.validation import SchemaRegistry  # noqa: E402
from vtn.cli import main  # noqa: E402
from vtn.config import VtnConfig  # noqa: E402
from vtn.oadr301.routes import add_routes, base_path  # noqa: E402
from vtn.storage import Store  # noqa: E402

_build_app = serve.build_app


async def build_app_with_301(
    config: VtnConfig, store: Store, registry: SchemaRegistry | None = None
) -> web.Application:
    app = await _build_app(config, store, registry)
    prefix = base_path(app) + "/"
    if not any(r.canonical.startswith(prefix) for r in app.router.resources()):
        add_routes(app)
    return app


serve.build_app = build_app_with_301

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
