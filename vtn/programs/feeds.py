"""Feeds: a series of (start, value) rows, as a utility's system gives day-ahead prices or a load forecast.

Formats: CSV with `start,value` rows (a header row is optional; `start,price` or `start,kw`), or JSON,
either a list of `{"start": ..., "price"|"value"|"kw": ...}` or an object whose `prices`/`values`
key holds that list (and may carry `currency` and `units`). Timestamps are ISO 8601; one without
an offset is read in the program's time zone. Intervals may have any length: each row lasts until
the next one starts, the last as long as the one before it (an hour for a single row).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import aiohttp

from shared.errors import BadRequest

VALUE_KEYS = ("price", "value", "kw", "kW", "load")


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    duration: timedelta
    value: float

    @property
    def end(self) -> datetime:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class Series:
    slots: tuple[Slot, ...]
    currency: str | None = None
    units: str | None = None

    def day(self, tz: tzinfo) -> date:
        """The day the series is about: the date of its first interval in the program's time zone."""
        return self.slots[0].start.astimezone(tz).date()


def _moment(text: str, tz: tzinfo, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{where}: {text!r} is not an ISO 8601 timestamp") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _number(value: object, where: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{where}: {value!r} is not a number") from exc


def _series(rows: list[tuple[datetime, float]], currency: str | None, units: str | None) -> Series:
    if not rows:
        raise BadRequest("the feed has no rows")
    rows.sort(key=lambda r: r[0])
    slots: list[Slot] = []
    for i, (start, value) in enumerate(rows):
        if i + 1 < len(rows):
            length = rows[i + 1][0] - start
        else:
            length = slots[-1].duration if slots else timedelta(hours=1)
        if length <= timedelta(0):
            raise BadRequest(f"two rows start at {start.isoformat()}")
        slots.append(Slot(start, length, value))
    return Series(tuple(slots), currency, units)


def parse_csv(text: str, tz: tzinfo) -> Series:
    rows: list[tuple[datetime, float]] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if n == 1 and row[0].strip().lower() in ("start", "time", "timestamp"):
            continue
        if len(row) < 2:
            raise BadRequest(f"line {n}: expected `start,value`, got {','.join(row)!r}")
        rows.append((_moment(row[0], tz, f"line {n}"), _number(row[1], f"line {n}")))
    return _series(rows, None, None)


def parse_json(text: str, tz: tzinfo) -> Series:
    try:
        doc: Any = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"the feed is not JSON: {exc}") from exc
    currency = units = None
    if isinstance(doc, dict):
        currency, units = doc.get("currency"), doc.get("units")
        doc = doc.get("prices", doc.get("values"))
    if not isinstance(doc, list):
        raise BadRequest('a JSON feed is a list of {"start", "price"} objects, or {"prices": [...]}')
    rows: list[tuple[datetime, float]] = []
    for i, item in enumerate(doc):
        where = f"item {i}"
        if not isinstance(item, dict) or "start" not in item:
            raise BadRequest(f'{where}: expected {{"start": ..., "price": ...}}')
        key = next((k for k in VALUE_KEYS if k in item), None)
        if key is None:
            raise BadRequest(f"{where}: no value (one of {', '.join(VALUE_KEYS)})")
        rows.append((_moment(str(item["start"]), tz, where), _number(item[key], where)))
    return _series(rows, currency, units)


def parse(text: str, tz: tzinfo, *, name: str = "") -> Series:
    """A feed's text, as JSON when it looks like JSON (or is named *.json), else CSV."""
    if name.endswith(".json") or text.lstrip()[:1] in ("[", "{"):
        return parse_json(text, tz)
    return parse_csv(text, tz)


async def load(source: str, tz: tzinfo, *, timeout_s: float = 30.0) -> Series:
    """A feed from a file path or an HTTP(S) URL of the utility's own system."""
    if source.startswith(("http://", "https://")):
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(source) as resp:
                if resp.status != 200:
                    raise BadRequest(f"{source} answered HTTP {resp.status}")
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BadRequest(f"cannot fetch {source}: {str(exc) or type(exc).__name__}") from exc
        return parse(text, tz, name=source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"cannot read {source}: {exc.strerror}") from exc
    return parse(text, tz, name=path.name)
