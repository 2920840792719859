"""Swagger UI at {base}/docs for both API versions: served by the VTN alone, never from a CDN."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store

BASES = {"3.1.0": "/openadr3/3.1.0", "3.0.1": "/openadr3/3.0.1"}


@pytest.fixture
async def client(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[TestClient[Any, Any]]:
    shutil.copy(sqlite_template, tmp_path / "vtn.db")
    url = f"sqlite:///{tmp_path / 'vtn.db'}"
    store = open_store(url)
    app = await build_app(VtnConfig(db_url=url, delivery_worker=False), store)
    async with TestClient(TestServer(app)) as c:
        yield c
    await store.close()


@pytest.mark.parametrize("version", list(BASES))
async def test_docs_page_loads_only_local_assets(client: TestClient[Any, Any], version: str) -> None:
    base = BASES[version]
    resp = await client.get(base + "/docs")  # no token: the docs are public, like /openapi.json
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert f"OpenADR {version} API" in page
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "http" not in csp
    assert "<script>" not in page  # no inline script: the CSP forbids it
    refs = re.findall(r'(?:src|href|data-spec)="([^"]+)"', page)
    assert len(refs) == 5
    for ref in refs:
        assert ref.startswith(base + "/docs/"), ref  # same origin, under this API's base
        asset = await client.get(ref)
        assert asset.status == 200, ref
    assert not re.search(r"https?://", page)
    bundle = await client.get(base + "/docs/assets/swagger-ui/swagger-ui-bundle.js")
    assert bundle.content_type in ("application/javascript", "text/javascript")
    assert "SwaggerUIBundle" in await bundle.text()
    init = await (await client.get(base + "/docs/assets/apidocs/init.js")).text()
    assert "validatorUrl: null" in init  # Swagger UI's default would call an online validator


@pytest.mark.parametrize("version", list(BASES))
async def test_docs_document_points_at_this_vtn(client: TestClient[Any, Any], version: str) -> None:
    base = BASES[version]
    doc = await (await client.get(base + "/docs/openapi.json")).json()
    assert doc["info"]["version"] == version
    assert doc["servers"] == [{"url": base, "description": "this VTN"}]
    assert "/programs" in doc["paths"] and "/events/{eventID}" in doc["paths"]


async def test_assets_stay_inside_their_folder(client: TestClient[Any, Any]) -> None:
    for path in ("/docs/assets/../apidocs.py", "/docs/assets/%2e%2e/apidocs.py", "/docs/assets/"):
        resp = await client.get(BASES["3.1.0"] + path)
        assert resp.status in (403, 404), path


def test_vendored_swagger_ui_carries_its_licence() -> None:
    folder = Path(__file__).resolve().parents[2] / "vtn" / "assets" / "swagger-ui"
    assert "Apache License" in (folder / "LICENSE").read_text()
    pinned = re.search(
        r"^VERSION=(\S+)$", (folder.parents[2] / "scripts" / "vendor_assets.sh").read_text(), re.M
    )
    assert pinned is not None and (folder / "VERSION").read_text().split() == ["swagger-ui-dist", pinned[1]]


def test_every_asset_is_declared_package_data() -> None:
    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "vtn"
    ]
    shipped = {p for pattern in patterns for p in (root / "vtn").glob(pattern) if p.is_file()}
    assets = {p for p in (root / "vtn" / "assets").rglob("*") if p.is_file()}
    assert assets and assets <= shipped, sorted(str(p) for p in assets - shipped)
