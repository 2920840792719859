"""The VEN's report outbox (durable, ordered) and the report bodies it sends (valid for the VTN)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.errors import SchemaViolation
from shared.models import ReportRequest
from shared.validation import SchemaRegistry
from shared.wire.oadr3_json import decode_doc
from ven.adapters.base import Readings
from ven.adapters.registry import BUILTIN_ADAPTERS, AdapterRegistry
from ven.outbox import ReportOutbox
from ven.reporting import Sample, payload_values, report_body
from ven.timeline import Signal

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)  # midday: the PV inverter produces
ALL_TYPES = ("USAGE", "DEMAND", "READING", "STORAGE_CHARGE_LEVEL", "OPERATING_STATE", "EXPORT_USAGE")


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry()


def vtn_accepts(registry: SchemaRegistry, body: dict[str, Any]) -> ReportRequest:
    """What POST /reports does with a body: schema, payload enumerations, then the model."""
    registry.validate("reportRequest", body)
    return decode_doc(registry, "reportRequest", ReportRequest, body)


def body(n: int = 0) -> dict[str, Any]:
    return {"eventID": "event-1", "clientName": "gw", "resources": [], "n": n}


# -- outbox ---------------------------------------------------------------------------------------


def test_reports_are_sent_in_the_order_they_were_made(tmp_path: Path) -> None:
    box = ReportOutbox(tmp_path)
    ids = [box.add("gw", body(i)) for i in range(4)]
    assert box.depth() == 4
    seen = []
    while (pending := box.next_pending()) is not None:
        seen.append((pending.report_id, pending.body["n"]))
        box.mark_sent(pending.seq)
    assert seen == [(rid, i) for i, rid in enumerate(ids)]
    assert box.depth() == 0
    assert box.counts() == {"sent": 4}


def test_the_head_stays_until_it_is_delivered_or_rejected(tmp_path: Path) -> None:
    box = ReportOutbox(tmp_path)
    first, second, third = (box.add("gw", body(i)) for i in range(3))
    head = box.next_pending()
    assert head is not None and head.report_id == first and head.attempts == 0
    box.mark_attempt(head.seq, "connection refused")
    box.mark_attempt(head.seq, "connection refused")
    again = box.next_pending()
    assert again is not None and (again.report_id, again.attempts) == (first, 2)
    assert box.depth() == 3
    box.mark_rejected(again.seq, "400 DEMAND values: -5.0 is less than the minimum of 0")
    nxt = box.next_pending()
    assert nxt is not None and nxt.report_id == second
    box.mark_sent(nxt.seq)
    last = box.next_pending()
    assert last is not None and last.report_id == third
    assert box.depth() == 1
    assert box.counts() == {"pending": 1, "rejected": 1, "sent": 1}
    # A rejected report is kept with its reason and attempt count, never dropped.
    row = box._db.execute(
        "SELECT status, attempts, error FROM reports WHERE report_id = ?", (first,)
    ).fetchone()
    assert row == ("rejected", 3, "400 DEMAND values: -5.0 is less than the minimum of 0")


def test_report_ids_name_the_ven_and_are_unique(tmp_path: Path, registry: SchemaRegistry) -> None:
    box = ReportOutbox(tmp_path)
    ids = [box.add("gw 1/ä", body()) for _ in range(50)]
    assert len(set(ids)) == 50
    for rid in ids:
        # objectID is ASCII: a VEN named with an umlaut must still get ids the VTN accepts.
        assert re.fullmatch(r"gw-1---[0-9a-f]{32}", rid), rid
    vtn_accepts(registry, {"id": ids[0], "eventID": "e", "clientName": "gw 1/ä", "resources": []})
    long = box.add("v" * 200, body())
    assert re.fullmatch(r"v{80}-[0-9a-f]{32}", long)
    pending = box.next_pending()
    assert pending is not None
    assert pending.body["id"] == ids[0]  # the id travels inside the body, so every retry carries it
    assert {k: v for k, v in pending.body.items() if k != "id"} == body()


def test_state_values(tmp_path: Path) -> None:
    box = ReportOutbox(tmp_path)
    assert box.get_state("webhook_token") is None
    box.set_state("webhook_token", "a")
    box.set_state("webhook_token", "b")
    box.set_state("other", "c")
    assert (box.get_state("webhook_token"), box.get_state("other")) == ("b", "c")


def test_the_outbox_survives_reopening(tmp_path: Path) -> None:
    box = ReportOutbox(tmp_path / "state")
    ids = [box.add("gw", body(i)) for i in range(3)]
    head = box.next_pending()
    assert head is not None
    box.mark_sent(head.seq)
    pending = box.next_pending()
    assert pending is not None
    box.mark_attempt(pending.seq, "timeout")
    box.set_state("webhook_token", "tok")
    box.close()

    box = ReportOutbox(tmp_path / "state")
    again = box.next_pending()
    assert again is not None
    assert (again.report_id, again.attempts, again.body["n"]) == (ids[1], 1, 1)
    assert box.depth() == 2
    assert box.counts() == {"pending": 2, "sent": 1}
    assert box.get_state("webhook_token") == "tok"
    # New reports continue the sequence after the old ones.
    newer = box.add("gw", body(9))
    order = [r[0] for r in box._db.execute("SELECT report_id FROM reports ORDER BY seq")]
    assert order == [*ids, newer]


def test_reports_survive_a_killed_process(tmp_path: Path) -> None:
    """Each add is committed when it returns: a SIGKILL right after loses nothing."""
    script = (
        "import os, signal, sys\n"
        "from ven.outbox import ReportOutbox\n"
        "box = ReportOutbox(sys.argv[1])\n"
        "doc = {'eventID': 'e', 'clientName': 'gw', 'resources': []}\n"
        "ids = [box.add('gw', doc) for _ in range(5)]\n"
        "box.mark_sent(box.next_pending().seq)\n"
        "print(' '.join(ids), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -9, proc.stderr
    ids = proc.stdout.split()
    assert len(ids) == 5
    box = ReportOutbox(tmp_path)
    rows = box._db.execute("SELECT report_id, status FROM reports ORDER BY seq").fetchall()
    assert rows == [(ids[0], "sent"), *((rid, "pending") for rid in ids[1:])]
    # The on-disk layout the agent's operators (and the e2e tests) read.
    with sqlite3.connect(tmp_path / "ven.db") as db:
        assert db.execute("SELECT count(*) FROM reports WHERE status = 'pending'").fetchone() == (4,)


# -- report bodies --------------------------------------------------------------------------------


def readings(power: float, energy: float, *, soc: float | None = None, exported: float = 0.0) -> Readings:
    state = "RUNNING_NORMAL" if power else "IDLE_NORMAL"
    return Readings(power, energy, state, exported_kwh=exported, soc_percent=soc)


def sample(name: str, now: Readings, prev: Readings | None, seconds: float = 10) -> Sample:
    return Sample(name, T0, T0 + timedelta(seconds=seconds), now, prev)


def make(samples: list[Sample], types: tuple[str, ...] = ("USAGE", "DEMAND")) -> dict[str, Any] | None:
    return report_body(
        event_id="event-1",
        client_name="gw",
        report_name="telemetry",
        interval_id=3,
        payload_types=types,
        samples=samples,
    )


def payloads(doc: dict[str, Any], resource: str) -> dict[str, list[Any]]:
    (res,) = [r for r in doc["resources"] if r["resourceName"] == resource]
    (interval,) = res["intervals"]
    return {p["type"]: p["values"] for p in interval["payloads"]}


def test_usage_is_the_energy_since_the_previous_sample_and_demand_the_power_now() -> None:
    doc = make([sample("heater", readings(3.0, 10.25), readings(2.0, 10.0))])
    assert doc is not None
    assert payloads(doc, "heater") == {"USAGE": [0.25], "DEMAND": [3.0]}
    # Without a previous sample there is no window to measure: zero usage, not the meter total.
    first = make([sample("heater", readings(3.0, 10.25), None)])
    assert first is not None and payloads(first, "heater")["USAGE"] == [0.0]


def test_report_shape() -> None:
    doc = make([sample("battery-1", readings(5.0, 1.0, soc=55.123), readings(5.0, 0.9))], ALL_TYPES)
    assert doc is not None
    assert {k: doc[k] for k in ("eventID", "clientName", "reportName")} == {
        "eventID": "event-1",
        "clientName": "gw",
        "reportName": "telemetry",
    }
    (res,) = doc["resources"]
    (interval,) = res["intervals"]
    assert interval["id"] == 3  # the event interval the report answers
    assert interval["intervalPeriod"] == {"start": "2026-06-21T12:00:00Z", "duration": "PT10S"}
    assert payloads(doc, "battery-1") == {
        "USAGE": [0.1],
        "DEMAND": [5.0],
        "READING": [1.0],
        "STORAGE_CHARGE_LEVEL": [55.12],
        "OPERATING_STATE": ["RUNNING_NORMAL"],
        "EXPORT_USAGE": [0.0],
    }


def test_storage_charge_level_only_for_devices_with_a_state_of_charge() -> None:
    types = ("USAGE", "DEMAND", "STORAGE_CHARGE_LEVEL")
    doc = make(
        [
            sample("battery-1", readings(5.0, 1.0, soc=60.0), readings(5.0, 1.0)),
            sample("heater-1", readings(3.0, 2.0), readings(3.0, 2.0)),
        ],
        types,
    )
    assert doc is not None
    assert set(payloads(doc, "battery-1")) == {"USAGE", "DEMAND", "STORAGE_CHARGE_LEVEL"}
    assert set(payloads(doc, "heater-1")) == {"USAGE", "DEMAND"}
    assert [d["payloadType"] for d in doc["payloadDescriptors"]] == list(types)
    # Descriptors list only what some resource carries.
    heater_only = make([sample("heater-1", readings(3.0, 2.0), None)], types)
    assert heater_only is not None
    assert [d["payloadType"] for d in heater_only["payloadDescriptors"]] == ["USAGE", "DEMAND"]
    # No resource has any of the types: no report at all.
    assert make([sample("heater-1", readings(3.0, 2.0), None)], ("STORAGE_CHARGE_LEVEL",)) is None
    assert make([sample("heater-1", readings(3.0, 2.0), None)], ("NOT_A_TYPE",)) is None


def test_payload_descriptors_carry_units() -> None:
    doc = make([sample("b", readings(1.0, 1.0, soc=50.0), None)], ALL_TYPES)
    assert doc is not None
    assert doc["payloadDescriptors"] == [
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"},
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "DEMAND", "units": "KW"},
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "READING", "units": "KWH"},
        {
            "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
            "payloadType": "STORAGE_CHARGE_LEVEL",
            "units": "PERCENT",
        },
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "OPERATING_STATE"},
        {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "EXPORT_USAGE", "units": "KWH"},
    ]


def test_an_exporting_device_reports_zero_demand_and_its_export() -> None:
    """DEMAND and USAGE have minimum 0 in the 3.1 report enumerations; export goes to EXPORT_USAGE."""
    now = readings(-5.0, 1.0, soc=40.0, exported=2.5)
    prev = readings(-5.0, 1.0, soc=41.0, exported=2.0)
    assert payload_values("DEMAND", sample("b", now, prev)) == [0.0]
    assert payload_values("USAGE", sample("b", now, prev)) == [0.0]
    assert payload_values("EXPORT_USAGE", sample("b", now, prev)) == [0.5]
    assert str(payload_values("DEMAND", sample("b", readings(-0.0, 0.0), None))[0]) == "0.0"  # type: ignore[index]


def test_bodies_validate_against_the_vtn_schema(registry: SchemaRegistry) -> None:
    doc = make(
        [
            sample("battery-1", readings(-5.0, 1.0, soc=99.999, exported=3.0), readings(-5.0, 1.0)),
            sample("heater-1", readings(3.0, 2.0), readings(3.0, 1.5)),
        ],
        ALL_TYPES,
    )
    assert doc is not None
    req = vtn_accepts(registry, doc)
    assert req.event_id == "event-1"
    assert [r.resource_name for r in req.resources] == ["battery-1", "heater-1"]


def test_the_body_the_outbox_sends_validates_too(registry: SchemaRegistry, tmp_path: Path) -> None:
    doc = make([sample("heater-1", readings(3.0, 2.0), None)], ALL_TYPES)
    assert doc is not None
    box = ReportOutbox(tmp_path)
    rid = box.add("gw", doc)
    pending = box.next_pending()
    assert pending is not None
    assert vtn_accepts(registry, pending.body).id == rid
    # Round trip through JSON as stored: nothing lost.
    assert json.loads(json.dumps(pending.body)) == {"id": rid, **doc}


def test_the_check_used_here_rejects_what_the_vtn_rejects(registry: SchemaRegistry) -> None:
    """Guard for the tests above: a negative DEMAND is a schema violation at the VTN."""
    doc = make([sample("b", readings(1.0, 1.0), None)])
    assert doc is not None
    doc["resources"][0]["intervals"][0]["payloads"][1]["values"] = [-5.0]
    with pytest.raises(SchemaViolation, match="DEMAND"):
        vtn_accepts(registry, doc)
    del doc["eventID"]
    with pytest.raises(SchemaViolation):
        vtn_accepts(registry, doc)


@pytest.mark.parametrize("price", [0.01, 0.30, 0.90], ids=["low", "normal", "high"])
async def test_every_builtin_adapter_produces_reports_the_vtn_accepts(
    registry: SchemaRegistry, price: float
) -> None:
    """Real simulated devices, charging and discharging, importing and exporting, at midday."""
    adapters = AdapterRegistry(discover=False)
    priced = {"low_price": 0.1, "high_price": 0.5}
    options: dict[str, dict[str, object]] = {
        "battery": priced,
        "ev_charger": {**priced, "arrival": "00:00", "departure": "23:59"},
        "heat_pump": priced,
        "pv_inverter": {},
        "water_heater": priced,
    }
    assert set(options) == set(BUILTIN_ADAPTERS)
    devices = {name: adapters.create(name, opts) for name, opts in options.items()}
    signals = {"PRICE": Signal("PRICE", (price,), "KWH", "EUR")}
    before = {}
    for device in devices.values():
        await device.apply(signals, T0)
    for name, device in devices.items():
        before[name] = device.readings()
    later = T0 + timedelta(minutes=5)
    samples = []
    for name, device in devices.items():
        device.step(later)
        samples.append(Sample(name, T0, later, device.readings(), before[name]))
    doc = make(samples, ALL_TYPES)
    assert doc is not None
    vtn_accepts(registry, doc)
    assert payloads(doc, "pv_inverter")["EXPORT_USAGE"][0] > 0  # it did export
    assert "STORAGE_CHARGE_LEVEL" not in payloads(doc, "heat_pump")
    assert "STORAGE_CHARGE_LEVEL" in payloads(doc, "battery")
    if price >= 0.5:
        assert samples[0].now.power_kw < 0  # the battery discharges: the case the VTN used to reject
