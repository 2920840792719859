"""Swagger UI renders the API's operations in a real browser (Debian's chromium, driven by Playwright).

Playwright runs the system's /usr/bin/chromium (never a browser of its own); `.ci/run` installs it.
Every request the page makes must go to this VTN. A screenshot is left in var/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store

CHROMIUM = Path("/usr/bin/chromium")
if not os.environ.get("CI"):  # CI has both (.ci/run, the dev extra): there a missing one fails
    pytest.importorskip("playwright.async_api", reason="pip install playwright (the dev extra has it)")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.parametrize("version", ["3.1.0", "3.0.1"])
async def test_swagger_ui_renders_the_operations(tmp_path: Path, sqlite_template: Path, version: str) -> None:
    from playwright.async_api import async_playwright

    shutil.copy(sqlite_template, tmp_path / "vtn.db")
    url = f"sqlite:///{tmp_path / 'vtn.db'}"
    store = open_store(url)
    runner = web.AppRunner(await build_app(VtnConfig(db_url=url, delivery_worker=False), store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    requested: list[str] = []
    problems: list[str] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("request", lambda r: requested.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{origin}/openadr3/{version}/docs")
            await page.wait_for_selector(".opblock", timeout=20_000)
            paths = await page.locator(".opblock-summary-path").all_inner_texts()
            methods = await page.locator(".opblock-summary-method").all_inner_texts()
            title = await page.locator(".info .title").inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / f"apidocs-{version}.png"))
            await browser.close()
    finally:
        await runner.cleanup()
        await store.close()
    assert version in title
    clean = {p.replace("\u200b", "") for p in paths}
    assert {"/programs", "/programs/{programID}", "/events", "/reports", "/subscriptions"} <= clean
    assert {"GET", "POST", "PUT", "DELETE"} <= set(methods)
    assert len(paths) >= 20
    assert requested and all(u.startswith(origin + "/") or u.startswith("data:") for u in requested), (
        requested
    )
    assert not problems, problems
