"""The program jobs of the VTN config: when each runs, for which program, from which source.

```toml
[[programs.prices]]
program = "day-ahead"           # created if missing
publish_at = "13:00"            # local time in `timezone`
timezone = "Europe/Amsterdam"
source = "https://prices.utility.example/{date}.csv"   # or a file path; {date}: the day published
currency = "EUR"                # default EUR; units default KWH (price per kWh)

[[programs.capacity]]
program = "feeder-capacity"
area = "feeder-12"
publish_at = "14:00"
timezone = "Europe/Amsterdam"
source = "/var/forecasts/feeder-12-{date}.csv"   # optional: without it, the VENs' reported usage
```

A job run at `publish_at` on day D publishes day D + `day_offset` (default 1: day-ahead).
This module imports nothing of the VTN, so that vtn/config.py may build these while loading.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class JobKind(StrEnum):
    PRICES = "prices"
    CAPACITY = "capacity"


@dataclass(frozen=True, kw_only=True)
class ProgramJob:
    kind: JobKind
    program: str
    publish_at: time
    timezone: str = "UTC"
    source: str | None = None
    day_offset: int = 1
    currency: str | None = None
    units: str | None = None
    area: str | None = None  # capacity jobs
    price_incentive: float = 0.10  # capacity jobs: the PRICE signal of the hours at risk (per kWh)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def name(self) -> str:
        """A stable name of the job (the claim key): kind, program and area."""
        return ":".join(p for p in (self.kind.value, self.program, self.area) if p)

    def source_for(self, day: date) -> str | None:
        return None if self.source is None else self.source.replace("{date}", day.isoformat())

    def due_day(self, now: datetime) -> date:
        """The day this job must have published by `now`: its latest run time not after `now`,
        plus the offset."""
        local = now.astimezone(self.tz)
        fired = local.date() if local.time() >= self.publish_at else local.date() - timedelta(days=1)
        return fired + timedelta(days=self.day_offset)


def _job(kind: JobKind, doc: Any, where: str) -> ProgramJob:
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: a table of job settings")
    known = {f.name for f in fields(ProgramJob)} - {"kind"}
    unknown = set(doc) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if "program" not in doc or "publish_at" not in doc:
        raise ValueError(f"{where}: `program` and `publish_at` are required")
    values = dict(doc)
    try:
        values["publish_at"] = time.fromisoformat(str(doc["publish_at"]))
    except ValueError as exc:
        raise ValueError(f"{where}.publish_at: {doc['publish_at']!r} is not HH:MM") from exc
    try:
        ZoneInfo(str(values.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{where}.timezone: unknown time zone {values.get('timezone')!r}") from exc
    if kind is JobKind.CAPACITY and not values.get("area"):
        raise ValueError(f"{where}: a capacity job names its `area`")
    return ProgramJob(kind=kind, **values)


def parse_jobs(kind: JobKind, value: Any) -> tuple[ProgramJob, ...]:
    """The `[[programs.<kind>]]` tables of the config file, checked."""
    if isinstance(value, tuple) and all(isinstance(j, ProgramJob) for j in value):
        return value
    if not isinstance(value, list):
        raise ValueError(f"programs.{kind.value}: a list of [[programs.{kind.value}]] tables")
    return tuple(_job(kind, doc, f"programs.{kind.value}[{i}]") for i, doc in enumerate(value))
