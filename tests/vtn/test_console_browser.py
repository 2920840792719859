"""The operator console in a real browser: Debian's chromium driven by Playwright for Python.

Playwright runs the system's /usr/bin/chromium (never a browser of its own); `.ci/run` installs it.
Covered: login, lockout, creating an event from the form and a polling VEN client receiving it, the
report chart rendering with data, paging at 10,000 VENs. Every page is screenshotted into
var/console-screenshots/ (git-ignored; docs/console/ holds a few committed ones).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.console import PASSWORD, add_operator, seed_vens

from shared.enums import OperatorRole, Role
from ven.client import VtnClient
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import Store, open_store

CHROMIUM = Path("/usr/bin/chromium")
if not os.environ.get("CI"):  # CI has both (.ci/run, the dev extra): there a missing one fails
    pytest.importorskip("playwright.async_api", reason="pip install playwright (the dev extra has it)")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "console-screenshots"
API = "/openadr3/3.1.0"


@dataclass
class Live:
    origin: str
    store: Store
    requested: list[str]
    problems: list[str]

    async def credentials(self, name: str, role: Role) -> tuple[str, str]:
        async with self.store.transaction() as tx:
            new = await tx.clients.add(name, role)
        return new.record.client_id, new.secret

    async def token(self, name: str, role: Role) -> str:
        client_id, secret = await self.credentials(name, role)
        async with aiohttp.ClientSession() as http:
            got = await http.post(
                f"{self.origin}{API}/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            return str((await got.json())["access_token"])

    async def api(self, method: str, path: str, token: str, body: Any = None) -> Any:
        async with aiohttp.ClientSession() as http:
            got = await http.request(
                method, f"{self.origin}{API}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert got.status < 300, await got.text()
            return await got.json()


@asynccontextmanager
async def live_vtn(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Live]:
    shutil.copy(sqlite_template, tmp_path / "vtn.db")
    url = f"sqlite:///{tmp_path / 'vtn.db'}"
    store = open_store(url)
    runner = web.AppRunner(await build_app(VtnConfig(db_url=url, delivery_worker=False), store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield Live(f"http://127.0.0.1:{runner.addresses[0][1]}", store, [], [])
    finally:
        await runner.cleanup()
        await store.close()


@asynccontextmanager
async def browser_page(live: Live) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        page.on("request", lambda r: live.requested.append(r.url))
        page.on("console", lambda m: live.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: live.problems.append(str(e)))
        try:
            yield page
        finally:
            await browser.close()


async def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def log_in(page: Any, live: Live, name: str, password: str = PASSWORD) -> None:
    await page.goto(f"{live.origin}/console/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


def only_this_vtn(live: Live) -> None:
    assert live.requested and all(u.startswith(live.origin + "/") for u in live.requested), live.requested
    # Refused logins (401/429) and forms (422) answer so on purpose; the browser logs them as failed loads.
    expected = ("status of 401", "status of 429", "status of 422")
    assert not [p for p in live.problems if not any(e in p for e in expected)], live.problems


async def test_login_lockout_and_every_page(tmp_path: Path, sqlite_template: Path) -> None:
    async with live_vtn(tmp_path, sqlite_template) as live:
        await add_operator(live.store, "ada", OperatorRole.ADMIN)
        await add_operator(live.store, "mallory", OperatorRole.OPERATOR)
        bl = await live.token("bl", Role.BL)
        ven = await live.token("ven-1", Role.VEN)
        prog = await live.api("POST", "/programs", bl, {"programName": "tariff"})
        await live.api(
            "POST",
            "/vens",
            bl,
            {"objectType": "BL_VEN_REQUEST", "venName": "site-1", "clientID": "ven-1", "targets": ["g1"]},
        )
        event = await live.api(
            "POST",
            "/events",
            bl,
            {
                "programID": prog["id"],
                "eventName": "evening peak",
                "intervalPeriod": {"start": "2030-01-01T17:00:00Z", "duration": "PT15M"},
                "intervals": [
                    {"id": i, "payloads": [{"type": "PRICE", "values": [0.2 + (i % 8) / 10]}]}
                    for i in range(96)
                ],
            },
        )
        # 2,000 points per resource: the chart must stay a single canvas, not 2,000 DOM nodes.
        await live.api(
            "POST",
            "/reports",
            ven,
            {
                "eventID": event["id"],
                "clientName": "site-1",
                "resources": [
                    {
                        "resourceName": f"meter-{r}",
                        "intervalPeriod": {"start": "2030-01-01T17:00:00Z", "duration": "PT1M"},
                        "intervals": [
                            {"id": i, "payloads": [{"type": "USAGE", "values": [(i * (r + 1)) % 37 / 10]}]}
                            for i in range(1000)
                        ],
                    }
                    for r in range(2)
                ],
            },
        )
        async with browser_page(live) as page:
            for _ in range(5):
                await log_in(page, live, "mallory", "not the password")
                await page.wait_for_selector(".error")
            assert "locked" in await page.inner_text(".error")
            await shot(page, "login-locked")
            await log_in(page, live, "mallory")
            assert "locked" in await page.inner_text(".error")  # the right password, still locked

            await log_in(page, live, "ada")
            await page.wait_for_selector("#ven-count")
            await page.wait_for_selector("#reports-spark canvas")
            await shot(page, "overview")
            for name, path, ready in (
                ("vens", "/console/vens", "#vens"),
                ("events", "/console/events", "#events"),
                ("event-form", "/console/events/new", "#preview"),
                ("subscriptions", "/console/subscriptions", "#subscriptions"),
                ("areas", "/console/areas", "#areas"),
                ("clients", "/console/clients", "#clients"),
                ("operators", "/console/operators", "#operators"),
            ):
                await page.goto(live.origin + path)
                await page.wait_for_selector(ready)
                await shot(page, name)
            await page.goto(f"{live.origin}/console/vens")
            await page.click("#vens a")
            await page.wait_for_selector("text=last contact")
            await shot(page, "ven")

            await page.goto(f"{live.origin}/console/events/{event['id']}")
            await page.wait_for_selector("#report-chart[data-rendered=yes] canvas")
            points = await page.get_attribute("#report-chart", "data-points")
            legend = await page.locator("#report-chart .u-legend .u-label").all_inner_texts()
            await shot(page, "event-report-chart")

            await page.goto(f"{live.origin}/console/clients")
            await page.fill("#add-client input[name=name]", "partner-1")
            await page.click("#add-client button")
            secret = await page.inner_text("#new-secret")
            await shot(page, "client-added")
            await page.goto(f"{live.origin}/console/clients")
            listing = await page.inner_text("#clients")
        only_this_vtn(live)
    assert points is not None and int(points) >= 1000
    assert {"signal", "site-1/meter-0", "site-1/meter-1"} <= set(legend)
    assert "client_secret" in secret and "partner-1" in listing and "client_secret" not in listing


async def test_event_from_the_form_reaches_a_polling_ven(tmp_path: Path, sqlite_template: Path) -> None:
    async with live_vtn(tmp_path, sqlite_template) as live:
        await add_operator(live.store, "op", OperatorRole.OPERATOR)
        bl = await live.token("bl", Role.BL)
        ven_id, ven_secret = await live.credentials("ven-1", Role.VEN)
        ven = VtnClient(f"{live.origin}{API}", client_id=ven_id, client_secret=ven_secret)
        await live.api("POST", "/programs", bl, {"programName": "capacity"})
        before = await ven.list_events()
        async with browser_page(live) as page:
            await log_in(page, live, "op")
            await page.wait_for_selector("#ven-count")
            await page.goto(f"{live.origin}/console/events/new")
            await page.fill("input[name=event_name]", "feeder-7 limit")
            await page.select_option("select[name=signal]", "IMPORT_CAPACITY_LIMIT")
            await page.fill("input[name=units]", "KW")
            await page.fill("input[name=start]", "2030-01-01T17:00")
            await page.fill("input[name=minutes]", "abc")
            await page.fill("input[name=values]", "50, 40, 30, 40")
            await page.click("#event-form button[type=submit]")
            # Refused at the field, the rest of the form kept.
            assert "minutes" in await page.inner_text(".field-error[data-field=minutes]")
            assert await page.input_value("input[name=values]") == "50, 40, 30, 40"
            await page.fill("input[name=minutes]", "30")
            await page.wait_for_selector("#preview canvas")
            await shot(page, "event-form-preview")
            await page.click("#event-form button[type=submit]")
            await page.wait_for_selector("#report-count")
            await shot(page, "event")
            # The console answers after the commit: the VEN's next poll (the VEN package's own
            # client, logging in with its client credentials) sees the event.
            seen = [
                e.model_dump(by_alias=True, exclude_none=True, mode="json") for e in await ven.list_events()
            ]
            await ven.close()
        only_this_vtn(live)
    assert before == [] and [e["eventName"] for e in seen] == ["feeder-7 limit"]
    assert seen[0]["payloadDescriptors"][0] == {
        "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
        "payloadType": "IMPORT_CAPACITY_LIMIT",
        "units": "KW",
    }
    assert [i["payloads"][0]["values"][0] for i in seen[0]["intervals"]] == [50, 40, 30, 40]


async def test_paging_and_search_at_10000_vens(tmp_path: Path, sqlite_template: Path) -> None:
    async with live_vtn(tmp_path, sqlite_template) as live:
        await add_operator(live.store, "vi", OperatorRole.VIEWER)
        await seed_vens(live.store, 10_000)
        async with browser_page(live) as page:
            await log_in(page, live, "vi")
            await page.wait_for_selector("#ven-count")
            assert await page.inner_text("#ven-count") == "10000"
            await page.goto(f"{live.origin}/console/vens")
            first = await page.locator("#vens td:first-child a").all_inner_texts()
            for _ in range(3):
                await page.click("#next-page")
                await page.wait_for_load_state()
            fourth = await page.locator("#vens td:first-child a").all_inner_texts()
            await page.fill("input[name=q]", "ven-0099")
            await page.click(".search button")
            await page.wait_for_load_state()
            found = await page.locator("#vens td:first-child a").all_inner_texts()
            await shot(page, "vens-search")
            await page.goto(f"{live.origin}/console/vens?after=ven-009949")
            last = await page.locator("#vens td:first-child a").all_inner_texts()
            has_next = await page.locator("#next-page").count()
        only_this_vtn(live)
    assert first == [f"ven-{i:06d}" for i in range(50)]
    assert fourth == [f"ven-{i:06d}" for i in range(150, 200)]
    assert found == [f"ven-{i:06d}" for i in range(9900, 9950)]
    assert last == [f"ven-{i:06d}" for i in range(9950, 10000)] and has_next == 0
