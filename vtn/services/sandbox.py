"""The partner sandbox: simulated events a sandbox client triggers at itself (docs/sandbox.md).

A sandbox client (`vtn clients add --role ven --sandbox`) owns one sandbox program, made at its
first simulated event, and the events it triggers in it. Both are stored with the client in their
`sandbox_client` column; the visibility rule (vtn/core/visibility.py) shows them to that client alone,
so other VENs, BL, the 3.0.1 and 2.0b front-ends and program automation never see them. The events
are untargeted: the sandbox column, not a target, is what keeps them to their client.

Templates make complete, valid 3.1 events from a few numbers. Limits: at most `max_active` events
not yet ended per sandbox client (so a forgotten script cannot fill the store; templates always
have an end), and a request rate kept by the front-end (vtn/sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.durations import format_duration, to_us
from shared.errors import Conflict
from shared.models import Event, EventRequest, Program, ProgramRequest
from shared.models.common import (
    ClientId,
    EventPayloadDescriptor,
    Interval,
    IntervalPeriod,
    ProgramId,
    ValuesMap,
)
from vtn.storage import Tx

SANDBOX_PROGRAM_PREFIX = "sandbox-"


class Template(StrEnum):
    PRICE_CURVE = "PRICE_CURVE"  # hourly-style price steps over the event
    CAPACITY_LIMIT = "CAPACITY_LIMIT"  # one import capacity limit for the whole event
    SIMPLE_LEVEL = "SIMPLE_LEVEL"  # one SIMPLE level (0-3) for the whole event


@dataclass(frozen=True)
class SimulatedEvent:
    """What a sandbox client asked for; `value` is the template's number (price, kW, level)."""

    template: Template
    start: datetime
    duration: timedelta
    intervals: int = 1
    value: float | None = None


# The template's default number, and the payload type and descriptor it fills in.
_DEFAULTS = {Template.PRICE_CURVE: 0.20, Template.CAPACITY_LIMIT: 5.0, Template.SIMPLE_LEVEL: 1.0}
# A price curve around its base price: cheap, dear, dearer, back (repeated over the intervals).
_CURVE = (0.75, 1.0, 1.5, 1.25)


def event_request(program_id: str, sim: SimulatedEvent) -> EventRequest:
    """The 3.1 event a template makes (validated by the event schema in the tests)."""
    value = _DEFAULTS[sim.template] if sim.value is None else sim.value
    count = sim.intervals if sim.template is Template.PRICE_CURVE else 1
    step = sim.duration / count
    if sim.template is Template.PRICE_CURVE:
        descriptor = EventPayloadDescriptor(payload_type="PRICE", units="KWH", currency="USD")
        payloads = [[round(value * _CURVE[i % len(_CURVE)], 4)] for i in range(count)]
    elif sim.template is Template.CAPACITY_LIMIT:
        descriptor = EventPayloadDescriptor(payload_type="IMPORT_CAPACITY_LIMIT", units="KW")
        payloads = [[value]]
    else:
        descriptor = EventPayloadDescriptor(payload_type="SIMPLE")
        payloads = [[int(value)]]
    return EventRequest(
        program_id=ProgramId(program_id),
        event_name=f"sandbox {sim.template.value.lower().replace('_', ' ')}",
        payload_descriptors=[descriptor],
        interval_period=IntervalPeriod(start=sim.start, duration=format_duration(step)),
        intervals=[
            Interval(id=i, payloads=[ValuesMap(type=descriptor.payload_type, values=list(v))])
            for i, v in enumerate(payloads)
        ],
    )


async def sandbox_program(tx: Tx, client_id: ClientId) -> Program:
    """The client's sandbox program, made (and announced with the write) if it has none yet."""
    found = await tx.programs.sandbox_program(client_id)
    if found is not None:
        return found
    req = ProgramRequest(program_name=f"{SANDBOX_PROGRAM_PREFIX}{client_id}")
    program = tx.programs.new(req)
    await tx.programs.insert(program, {"sandbox_client": client_id})
    tx.created_along.append(program)  # its CREATE notification goes to the client's subscriptions
    return program


async def create_simulated_event(
    tx: Tx, client_id: ClientId, sim: SimulatedEvent, *, max_active: int, now: datetime
) -> Event:
    """Store one simulated event in the client's sandbox program, within its count limit."""
    active = await tx.events.sandbox_count(client_id, active_at=to_us(now))
    if active >= max_active:
        raise Conflict(
            f"the sandbox already holds {active} events that have not ended (sandbox_max_events "
            f"= {max_active}): wait until one ends, or trigger shorter events"
        )
    program = await sandbox_program(tx, client_id)
    req = event_request(program.id, sim)
    event = tx.events.new(req)
    return await tx.events.insert(event, {"sandbox_client": client_id})
