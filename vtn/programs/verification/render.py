"""Verification as a text table, CSV rows or a JSON document (CLI, API extension, export)."""

from __future__ import annotations

import csv
import io
from typing import Any

from vtn.programs.verification.collect import Row, Verification

COLUMNS = (
    "level",
    "area",
    "ven",
    "resource",
    "baselineKWh",
    "actualKWh",
    "deliveredKWh",
    "askedKWh",
    "shareOfAsked",
    "incentive",
    "missingHours",
    "lateHours",
    "status",
)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def row_json(row: Row) -> dict[str, Any]:
    f = row.figures
    return {
        "level": row.level,
        "area": row.area,
        "ven": row.ven,
        "resource": row.resource,
        "baselineKWh": _r(f.baseline_kwh),
        "actualKWh": _r(f.actual_kwh),
        "deliveredKWh": _r(f.delivered_kwh),
        "askedKWh": _r(f.asked_kwh),
        "shareOfAsked": _r(f.share, 4),
        "incentive": _r(f.incentive, 4),
        "missingHours": f.missing_hours,
        "lateHours": f.late_hours,
        "status": f.status.label,
    }


def to_json(v: Verification) -> dict[str, Any]:
    return {
        "eventID": v.event.id,
        "eventName": v.event.event_name,
        "programID": v.event.program_id,
        "method": v.method,
        "hours": [h.isoformat() for h in v.hours],
        "rows": [row_json(r) for r in v.rows],
    }


def to_csv(v: Verification) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in v.rows:
        writer.writerow({k: ("" if x is None else x) for k, x in row_json(row).items()})
    return out.getvalue()


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def to_table(v: Verification) -> str:
    hours = f"{v.hours[0].isoformat()} .. +{len(v.hours)} h" if v.hours else "no hours"
    lines = [
        f"event {v.event.id} ({v.event.event_name or 'unnamed'}), {hours}",
        f"baseline: {v.method}",
        f"{'':<2}{'area / ven / resource':<34}{'baseline':>10}{'actual':>10}{'delivered':>10}"
        f"{'asked':>9}{'share':>8}{'incentive':>10}  status",
    ]
    for row in v.rows:
        f = row.figures
        indent = {"resource": "    ", "ven": "  ", "area": "", "total": ""}[row.level]
        name = {"resource": row.resource, "ven": row.ven, "area": row.area, "total": "TOTAL"}[row.level]
        status = f.status.label + (f" ({f.missing_hours} h missing)" if f.missing_hours else "")
        if f.late_hours:
            status += f" ({f.late_hours} h late)"
        share = "-" if f.share is None else f"{f.share * 100:.0f}%"
        lines.append(
            f"{'':<2}{(indent + name)[:33]:<34}{f.baseline_kwh:>10.2f}{f.actual_kwh:>10.2f}"
            f"{f.delivered_kwh:>10.2f}{_cell(f.asked_kwh, '.2f'):>9}{share:>8}"
            f"{_cell(f.incentive, '.2f'):>10}  {status}"
        )
    return "\n".join(lines)
