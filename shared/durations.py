"""ISO 8601 durations as OpenADR uses them, and the event end-time rule shared by VTN and VEN.

Calendar units are approximated the way deployed OpenADR clients do (Y = 365 days, M = 30 days)
because a duration here is a length of time, not a calendar step.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(
    r"^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)

# P9999Y means "forever" in OpenADR 3; anything this long is treated as unbounded.
INFINITE = timedelta(days=9999 * 365)
# intervalPeriod.start of 0001-01-01 means "now" (the moment the event is read or created).
NOW_SENTINEL_YEAR = 1


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration such as `PT1H`, `P1DT30M` or `P9999Y`; raise ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    sign, years, months, days, day_unit, hours, minutes, seconds = match.groups()
    try:
        total = _total(years, months, days, day_unit, hours, minutes, seconds)
    except OverflowError:
        # Longer than timedelta can hold: as good as forever.
        total = INFINITE
    return -total if sign else total


def _total(
    years: str | None,
    months: str | None,
    days: str | None,
    day_unit: str | None,
    hours: str | None,
    minutes: str | None,
    seconds: str | None,
) -> timedelta:
    total = timedelta(
        days=int(years or 0) * 365 + int(months or 0) * 30,
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )
    if days:
        total += timedelta(weeks=int(days)) if day_unit == "W" else timedelta(days=int(days))
    return min(total, INFINITE)


def format_duration(value: timedelta) -> str:
    """Render a timedelta as an ISO 8601 duration (days, hours, minutes, seconds)."""
    seconds = value.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    frac = seconds - int(seconds)
    out = f"{sign}P"
    if days:
        out += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if secs or frac or not (days or hours or minutes):
        time_part += f"{secs + frac:g}S"
    if time_part:
        out += "T" + time_part
    return out


def is_now_sentinel(start: datetime) -> bool:
    return start.year == NOW_SENTINEL_YEAR


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch: how the VTN stores and compares instants (exact, on every store)."""
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)
