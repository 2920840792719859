"""The VEN runtime with a fake 3.1 wire client handed in: all of the agent's logic, none of the network.

The fake stands in for VtnClient only (what goes over the wire); onboarding, the timeline, the
devices, the outbox and its sender, and status.json are the real ones. Reports are delivered in
order, retried while the VTN is away (as soon as a sync gets through again), a repeat answered 409
counts as delivered, and a rejected one stays in the outbox with the reason.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.errors import BadRequest, Conflict
from shared.models import Event, Report, ReportRequest, Resource, ValuesMap, Ven
from ven.agent import build_agent
from ven.client import VtnUnavailable
from ven.config import VenConfig
from ven.oadr31.transport import Oadr31Transport

STAMPS = {"createdDateTime": "2026-01-01T00:00:00Z", "modificationDateTime": "2026-01-01T00:00:00Z"}


class FakeWire:
    """Answers like a VTN that knows one ven, one resource and one active SIMPLE event."""

    base_url = "http://vtn.invalid/openadr3/3.1.0"

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.event = Event.model_validate(
            {
                **STAMPS,
                "id": "event-1",
                "programID": "program-1",
                "intervalPeriod": {"start": (now - timedelta(minutes=1)).isoformat(), "duration": "PT1H"},
                "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [2]}]}],
            }
        )
        self.ven = Ven.model_validate(
            {**STAMPS, "id": "ven-1", "clientID": "client-1", "venName": "gw-1", "targets": ["group-a"]}
        )
        # What create_report does with each call, in order; then it accepts.
        self.report_answers: list[Exception | None] = []
        self.reports: list[ReportRequest] = []
        self.resources: list[tuple[str, list[ValuesMap] | None]] = []
        self.syncs = 0
        self.delivered = asyncio.Event()
        self.closed = False

    async def ensure_ven(self, ven_name: str, *, ven_id: str | None = None) -> Ven:
        assert ven_name == "gw-1"
        return self.ven

    async def ensure_resource(
        self,
        ven_id: str,
        name: str,
        *,
        resource_id: str | None = None,
        attributes: list[ValuesMap] | None = None,
    ) -> Resource:
        self.resources.append((name, attributes))
        return _resource(resource_id or name, ven_id)

    async def get_ven(self, ven_id: str) -> Ven:
        return self.ven

    async def iter_resources(self, *, ven_id: str) -> AsyncIterator[Resource]:
        yield _resource("heater-1", ven_id, ["b"])

    async def iter_events(self, *, targets: list[str] | None, active: bool) -> AsyncIterator[Event]:
        assert targets == ["b", "group-a"] and active
        self.syncs += 1
        yield self.event

    async def create_report(self, req: ReportRequest) -> Report:
        answer = self.report_answers.pop(0) if self.report_answers else None
        if answer is not None:
            raise answer
        self.reports.append(req)
        self.delivered.set()
        return Report.model_validate({**req.to_wire(), **STAMPS, "id": req.id or "r", "clientID": "client-1"})

    async def close(self) -> None:
        self.closed = True


def _resource(name: str, ven_id: str, targets: list[str] | None = None) -> Resource:
    doc = {**STAMPS, "id": name, "clientID": "client-1", "resourceName": name, "venID": ven_id}
    return Resource.model_validate({**doc, "targets": targets} if targets else doc)


def _config(state: Path) -> VenConfig:
    doc: dict[str, Any] = {
        "vtn": {"url": FakeWire.base_url, "client_id": "client-1", "client_secret": "s"},
        "ven": {"name": "gw-1", "state_dir": str(state), "seed": 3},
        "events": {"poll_seconds": 0.05},
        "resources": [
            {"id": "heater-1", "adapter": "water_heater", "attributes": {"MAX_POWER_CONSUMPTION": 4.5}},
        ],
        "telemetry": [{"name": "telemetry", "every_seconds": 0.05, "payload_types": ["USAGE"]}],
    }
    return VenConfig.from_dict(doc, {})


async def _until(check: Any, what: str) -> None:
    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


async def test_onboard_follow_the_event_and_deliver_reports_through_outages(tmp_path: Path) -> None:
    wire = FakeWire()
    unavailable = VtnUnavailable("connection refused", url=wire.base_url)
    wire.report_answers = [unavailable, unavailable, Conflict("already stored"), BadRequest("bad payload")]
    agent = build_agent(_config(tmp_path / "state"), client=wire)  # type: ignore[arg-type]
    assert isinstance(agent.transport, Oadr31Transport)
    await agent.start()
    try:
        assert agent.ven_id == "ven-1"
        assert wire.resources == [("heater-1", [ValuesMap(type="MAX_POWER_CONSUMPTION", values=[4.5])])]
        assert agent.timeline.signals_at(datetime.now(UTC))["SIMPLE"].values == (2.0,)
        assert agent.transport.targets == ["b", "group-a"]
        await asyncio.wait_for(wire.delivered.wait(), 10)
        counts = agent.outbox.counts()
        # Two refusals were retried, then 409 (an earlier attempt got through) counts as sent, and
        # the 400 is kept as rejected with its reason; the next report reached the fake VTN.
        assert counts.get("rejected") == 1 and counts.get("sent", 0) >= 2, counts
        (report,) = wire.reports[:1]
        assert (report.event_id, report.client_name, report.report_name) == ("event-1", "gw-1", "telemetry")
        await _until(
            lambda: json.loads((tmp_path / "state" / "status.json").read_text())["lastError"] is None, "ok"
        )
    finally:
        await agent.stop()
    assert wire.closed
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert (status["protocol"], status["onboarded"], status["venID"]) == ("3.1", True, "ven-1")
    assert [c["eventID"] for c in status["current"]] == ["event-1"]
    with sqlite3.connect(tmp_path / "state" / "ven.db") as db:
        rejected = db.execute("SELECT error FROM reports WHERE status = 'rejected'").fetchall()
    assert rejected == [("400 bad payload",)]
