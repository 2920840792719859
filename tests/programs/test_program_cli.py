"""`vtn areas`, `vtn verify` and the scheduler inside a serving VTN: one-line errors, JSON output,
and a price job published at startup when its day is due (the restart catch-up)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vtn.app import PROGRAMS, build_app
from vtn.cli import main
from vtn.config import VtnConfig
from vtn.programs.jobs import JobKind, ProgramJob
from vtn.storage import open_store
from vtn.storage.filters import EventFilter, Page


def test_areas_cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", db_url]
    assert main(["areas", "add", "feeder-12", "--kind", "feeder", "--import-kw", "250", *db]) == 0
    assert "import 250 kW" in capsys.readouterr().out
    assert main(["areas", "add", "feeder-12", "--kind", "feeder", "--import-kw", "1", *db]) == 2
    assert capsys.readouterr().err.strip() == "vtn: error: an area named 'feeder-12' already exists"
    assert main(["areas", "list", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "feeder-12", "kind": "feeder", "importKW": 250.0, "exportKW": 0.0}
    ]
    assert main(["areas", "members", "feeder-12", "--add-ven", "nobody", *db]) == 2
    assert capsys.readouterr().err.strip() == "vtn: error: no ven named 'nobody'"
    assert main(["areas", "members", "feeder-12", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == {"vens": [], "resources": []}
    assert main(["areas", "remove", "feeder-12", *db]) == 0
    assert main(["areas", "members", "feeder-12", *db]) == 2
    assert capsys.readouterr().err.strip().endswith("no area named 'feeder-12'")


def test_verify_cli_unknown_event(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--db", db_url, "--event", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "vtn: error: no event with id 'nope'"


async def test_a_serving_vtn_publishes_a_due_price_day_at_start(db_url: str, tmp_path: Path) -> None:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    prices = tmp_path / f"prices-{day}.csv"
    prices.write_text("".join(f"{day}T{h:02d}:00:00Z,{0.1 + h / 100:.2f}\n" for h in range(24)))
    job = ProgramJob(
        kind=JobKind.PRICES,
        program="day-ahead",
        publish_at=time(0, 0),
        source=str(tmp_path / "prices-{date}.csv"),
    )
    store = open_store(db_url)
    app = await build_app(VtnConfig(db_url=db_url, programs_prices=(job,)), store)
    try:
        async with TestClient(TestServer(app)):
            first = app[PROGRAMS].first_check
            assert first is not None
            await asyncio.wait_for(first, 30)
            async with store.read() as tx:
                found = await tx.events.list(EventFilter(page=Page(0, 5)))
        (event,) = found
        assert event.event_name == f"day-ahead prices {day}"
        assert len(event.intervals or []) == 24
    finally:
        await store.close()


def test_publish_capacity_cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", db_url]
    assert main(["areas", "add", "feeder-9", "--kind", "substation", "--import-kw", "50", *db]) == 0
    forecast = tmp_path / "forecast.csv"
    forecast.write_text(
        "".join(f"2026-12-07T{h:02d}:00:00Z,{70 if h in (18, 19) else 30}\n" for h in range(24))
    )
    args = ["publish", "capacity", "--program", "cap", "--area", "feeder-9", "--day", "2026-12-07", *db]
    capsys.readouterr()
    assert main([*args, "--forecast", str(forecast)]) == 0
    assert "feeder-9 2026-12-07: 2 h at risk (40.0 kWh above 50 kW), CREATE event" in capsys.readouterr().out
    forecast.write_text("".join(f"2026-12-07T{h:02d}:00:00Z,30\n" for h in range(24)))
    assert main([*args, "--forecast", str(forecast)]) == 0
    assert capsys.readouterr().out.strip() == "feeder-9 2026-12-07: no hours at risk, event withdrawn"
    assert main([*args, "--day", "tomorrow"]) == 2
    assert capsys.readouterr().err.strip() == "vtn: error: --day 'tomorrow': use YYYY-MM-DD"
