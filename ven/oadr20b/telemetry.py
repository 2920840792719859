"""Telemetry of the 2.0b agent: sample devices for the requests in force, queue, send in order.

Each oadrUpdateReport is written to the local outbox (ven/outbox.py, unsigned) before anything is
sent; the sender drains it in order and signs each at sending time (fresh nonce), so a VTN outage
or a restart loses nothing. A 2.0b error answer marks the update rejected (kept, with the reason);
an oadrCancelReport inside oadrUpdatedReport stops those requests.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.oadr20b import Oadr20bError
from shared.oadr20b import messages as m
from ven.agent import Device
from ven.client import VtnUnavailable
from ven.oadr20b.client import Oadr20bClient
from ven.oadr20b.reports import Reporter
from ven.outbox import ReportOutbox
from ven.timeline import ActiveInterval


class Telemetry:
    def __init__(
        self,
        reporter: Reporter,
        devices: Sequence[Device],
        outbox: ReportOutbox,
        client: Oadr20bClient,
        *,
        ven_name: str,
        clock: Callable[[], datetime],
        on_contact: Callable[[], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self.reporter = reporter
        self.devices = devices
        self.outbox = outbox
        self.client = client
        self.ven_name = ven_name
        self.ven_id: str | None = None
        self.clock = clock
        self._contact = on_contact
        self._failed = on_failure
        self._wakeup = asyncio.Event()

    async def tick(self) -> None:
        """Sample the devices if a request is due; queue the updates that are due."""
        now = self.clock()
        if not self.reporter.wants_sample(now):
            return
        readings = {}
        for device in self.devices:
            device.adapter.step(now)
            readings[device.config.id] = device.adapter.readings()
        for report in self.reporter.tick(now, readings):
            msg = m.UpdateReport(request_id=uuid.uuid4().hex, reports=(report,), ven_id=self.ven_id)
            self.outbox.add(self.ven_name, {"oadr20b": self.client.codec.build(msg).decode()})
            self._wakeup.set()

    async def send_loop(self) -> None:
        delay = 1.0
        while True:
            pending = self.outbox.next_pending()
            if pending is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                answer = await self.client.post(m.REPORT, str(pending.body["oadr20b"]).encode())
            except VtnUnavailable as exc:
                self.outbox.mark_attempt(pending.seq, str(exc))
                self._failed(exc)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 60.0)
                continue
            except Oadr20bError as exc:
                self.outbox.mark_rejected(pending.seq, f"{int(exc.code)} {exc.description}")
                continue
            code = answer.response.code if isinstance(answer, m.UpdatedReport | m.Response) else 200
            if code == 200:
                self.outbox.mark_sent(pending.seq)
            else:
                self.outbox.mark_rejected(pending.seq, f"{code} {getattr(answer, 'response', None)}")
            if isinstance(answer, m.UpdatedReport) and answer.cancel is not None:
                self.reporter.cancel(answer.cancel.report_request_ids)
            self._contact()
            delay = 1.0


def interval_doc(a: ActiveInterval) -> dict[str, Any]:
    """An active or upcoming interval in status.json (the same keys as the 3.1 agent's)."""
    return {
        "eventID": a.event_id,
        "eventName": a.event_name,
        "intervalID": a.interval_id,
        "start": a.start.isoformat(),
        "end": a.end.isoformat(),
        "signals": {s.payload_type: list(s.values) for s in a.signals},
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    tmp.replace(path)
