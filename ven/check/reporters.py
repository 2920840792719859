"""A run's results as readable text, JSON, or JUnit XML (one testcase per check)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from ven.check.model import Outcome, RunResult


def text(run: RunResult) -> str:
    lines = [f"ven check: {run.vtn} (OpenADR {run.protocol})", ""]
    width = max((len(r.check_id) for r in run.results), default=10)
    for r in run.results:
        lines.append(f"{r.outcome.value:<4}  {r.check_id:<{width}}  {r.title}")
        lines.append(f"      {'':<{width}}  {r.reason}")
        lines.append(f"      {'':<{width}}  [{r.clause}]")
    lines.append("")
    passed, failed, skipped = (run.count(o) for o in (Outcome.PASS, Outcome.FAIL, Outcome.SKIP))
    counts = f"{passed} passed, {failed} failed, {skipped} skipped"
    verdict = "no check failed" if run.ok else "NOT conformant"
    lines.append(f"{counts} in {run.seconds:.1f} s: {verdict}")
    return "\n".join(lines)


def as_dict(run: RunResult) -> dict[str, Any]:
    return {
        "vtn": run.vtn,
        "protocol": run.protocol.value,
        "ok": run.ok,
        "seconds": round(run.seconds, 3),
        "counts": {o.value: run.count(o) for o in Outcome},
        "checks": [
            {
                "id": r.check_id,
                "title": r.title,
                "clause": r.clause,
                "outcome": r.outcome.value,
                "reason": r.reason,
                "seconds": round(r.seconds, 3),
            }
            for r in run.results
        ],
    }


def as_json(run: RunResult) -> str:
    return json.dumps(as_dict(run), indent=2)


def junit(run: RunResult) -> bytes:
    suite = ET.Element(
        "testsuite",
        name=f"ven check OpenADR {run.protocol}",
        tests=str(len(run.results)),
        failures=str(run.count(Outcome.FAIL)),
        skipped=str(run.count(Outcome.SKIP)),
        errors="0",
        time=f"{run.seconds:.3f}",
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="vtn", value=run.vtn)
    for r in run.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"ven.check.{run.protocol}", name=r.check_id, time=f"{r.seconds:.3f}"
        )
        if r.outcome is Outcome.FAIL:
            ET.SubElement(case, "failure", message=r.reason).text = f"{r.title} [{r.clause}]: {r.reason}"
        elif r.outcome is Outcome.SKIP:
            ET.SubElement(case, "skipped", message=r.reason)
        else:
            ET.SubElement(case, "system-out").text = f"{r.reason} [{r.clause}]"
    root = ET.Element("testsuites")
    root.append(suite)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
