"""A day-ahead price file becomes one PRICE event with exactly its intervals and values; publishing
the day again updates that event (subscribers hear an UPDATE), never a second event."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.models import Event
from shared.timing import interval_spans
from vtn.cli import main
from vtn.storage import open_store
from vtn.storage.filters import EventFilter, Page

DAY = "2026-12-07"
PRICES = [0.21, 0.19, 0.18, 0.22, 0.31, 0.35]


def _csv(path: Path, prices: list[float], step: int = 60) -> Path:
    start = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    rows = ["start,price"] + [
        f"{(start + timedelta(minutes=step * i)).isoformat()},{p}" for i, p in enumerate(prices)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _events(url: str) -> list[Event]:
    async def go() -> list[Event]:
        store = open_store(url)
        try:
            async with store.read() as tx:
                return await tx.events.list(EventFilter(page=Page(0, 50)))
        finally:
            await store.close()

    return asyncio.run(go())


def _outbox_ops(url: str) -> list[str]:
    async def go() -> list[str]:
        from sqlalchemy import text

        store = open_store(url)
        try:
            async with store.read() as tx:
                rows = (await tx.conn.execute(text("SELECT body FROM outbox ORDER BY id"))).all()
                return [json.loads(r[0])["operation"] for r in rows]
        finally:
            await store.close()

    return asyncio.run(go())


def _values(event: Event) -> list[tuple[datetime, timedelta, float]]:
    out = []
    for span in interval_spans(event, event.modification_date_time):
        (payload,) = span.interval.payloads
        assert payload.type == "PRICE"
        out.append((span.start, span.duration, float(payload.values[0])))  # type: ignore[arg-type]
    return out


def test_a_price_file_becomes_one_event_and_a_rerun_updates_it(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = _csv(tmp_path / "prices.csv", PRICES)
    args = ["publish", "prices", "--db", db_url, "--program", "day-ahead", "--file", str(prices)]
    assert main([*args, "--currency", "EUR"]) == 0
    assert "created event" in capsys.readouterr().out
    (event,) = _events(db_url)
    assert event.event_name == f"day-ahead prices {DAY}"
    start = datetime(2026, 12, 7, tzinfo=UTC)
    assert _values(event) == [
        (start + timedelta(hours=i), timedelta(hours=1), p) for i, p in enumerate(PRICES)
    ]
    (descriptor,) = event.payload_descriptors or []
    assert (descriptor.payload_type, descriptor.currency, descriptor.units) == ("PRICE", "EUR", "KWH")

    # The utility corrects one price: the same event, a new version, no second event.
    _csv(prices, [*PRICES[:3], 0.25, *PRICES[4:]])
    assert main(args) == 0
    assert "updated event" in capsys.readouterr().out
    (again,) = _events(db_url)
    assert again.id == event.id
    assert again.modification_date_time > event.modification_date_time
    assert [v for _, _, v in _values(again)] == [*PRICES[:3], 0.25, *PRICES[4:]]


def test_a_bl_subscriber_hears_create_then_update(db_url: str, tmp_path: Path) -> None:
    async def subscribe() -> None:
        from shared.models import Subscription

        store = open_store(db_url)
        try:
            async with store.transaction() as tx:
                sub = Subscription.model_validate(
                    {
                        **tx.subscriptions.stamp(None),
                        "clientID": "bl-1",
                        "clientName": "bl",
                        "objectOperations": [
                            {
                                "objects": ["EVENT"],
                                "operations": ["POST", "PUT", "DELETE"],
                                "callbackUrl": "https://127.0.0.1:9/cb",
                            }
                        ],
                    }
                )
                await tx.subscriptions.insert(sub, {"role": "bl"})
        finally:
            await store.close()

    asyncio.run(subscribe())
    prices = _csv(tmp_path / "prices.csv", PRICES)
    args = ["publish", "prices", "--db", db_url, "--program", "day-ahead", "--file", str(prices)]
    assert main(args) == 0
    assert main(args) == 0
    assert _outbox_ops(db_url) == ["CREATE", "UPDATE"]


def test_json_prices_with_uneven_intervals(db_url: str, tmp_path: Path) -> None:
    doc = {
        "currency": "USD",
        "units": "KWH",
        "prices": [
            {"start": "2026-12-07T00:00:00+00:00", "price": 0.1},
            {"start": "2026-12-07T00:15:00+00:00", "price": 0.2},
            {"start": "2026-12-07T01:00:00+00:00", "price": 0.3},
            {"start": "2026-12-07T03:00:00+00:00", "price": 0.4},
        ],
    }
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(doc))
    assert main(["publish", "prices", "--db", db_url, "--program", "rt", "--file", str(path)]) == 0
    (event,) = _events(db_url)
    t0 = datetime(2026, 12, 7, tzinfo=UTC)
    assert _values(event) == [
        (t0, timedelta(minutes=15), 0.1),
        (t0 + timedelta(minutes=15), timedelta(minutes=45), 0.2),
        (t0 + timedelta(hours=1), timedelta(hours=2), 0.3),
        (t0 + timedelta(hours=3), timedelta(hours=2), 0.4),
    ]
    assert (event.payload_descriptors or [])[0].currency == "USD"


def test_a_bad_price_file_is_one_line_and_no_event(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("start,price\n2026-12-07T00:00:00Z,0.2\nyesterday,0.3\n")
    assert main(["publish", "prices", "--db", db_url, "--program", "p", "--file", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "vtn: error: line 3: 'yesterday' is not an ISO 8601 timestamp"
    assert _events(db_url) == []
