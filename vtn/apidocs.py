"""Interactive API docs: Swagger UI at `{base}/docs` for the 3.1.0 and the 3.0.1 API.

Everything the page loads comes from this VTN: Swagger UI is vendored in vtn/assets/swagger-ui/
(scripts/vendor_assets.sh, from the npm package swagger-ui-dist) and the page's Content-Security-
Policy allows no other origin. Each page shows the OpenAPI document of its version with `servers`
set to the VTN's own base path, so "Try it out" calls this VTN.
"""

from __future__ import annotations

import copy
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from shared.resources import schema_dir
from shared.validation import SchemaRegistry

ASSETS = Path(__file__).resolve().parent / "assets"
SPEC_301 = "openadr3/3.0.1/openapi.json"  # in shared/schemas/
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{base}/docs/assets/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="{base}/docs/assets/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{base}/docs/openapi.json"></div>
<script src="{base}/docs/assets/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{base}/docs/assets/apidocs/init.js"></script>
</body>
</html>
"""


@dataclass
class ApiDocs:
    """The docs of one API version under `base`; its document is built once, on first request."""

    base: str
    version: str
    registry: SchemaRegistry
    _spec: bytes | None = field(default=None, init=False)

    def document(self) -> dict[str, Any]:
        if self.version == "3.1.0":
            doc = copy.deepcopy(self.registry.openapi_document())
        else:
            doc = json.loads((schema_dir() / SPEC_301).read_text(encoding="utf-8"))
        doc["servers"] = [{"url": self.base, "description": "this VTN"}]
        return doc

    async def page(self, request: web.Request) -> web.Response:
        title = html.escape(f"OpenADR {self.version} API — Energy Coordination VTN")
        body = _PAGE.format(title=title, base=html.escape(self.base))
        return web.Response(text=body, content_type="text/html", headers={"Content-Security-Policy": CSP})

    async def spec(self, request: web.Request) -> web.Response:
        if self._spec is None:
            self._spec = json.dumps(self.document()).encode()
        return web.Response(body=self._spec, content_type="application/json")


def add_routes(app: web.Application, base: str, version: str, registry: SchemaRegistry) -> None:
    """`{base}/docs`, its OpenAPI document and the vendored assets (public, like /openapi.json)."""
    docs = ApiDocs(base.rstrip("/"), version, registry)
    app.router.add_get(f"{docs.base}/docs", docs.page)
    app.router.add_get(f"{docs.base}/docs/openapi.json", docs.spec)
    app.router.add_static(f"{docs.base}/docs/assets", ASSETS, append_version=False)
