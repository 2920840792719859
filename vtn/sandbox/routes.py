"""Handlers of the partner sandbox, our API extension beside the 3.1 API (docs/sandbox.md).

- `POST {base}/sandbox/events`: a simulated event from a template, targeted at the caller alone.
- `POST {base}/sandbox/subscriptions/{subscriptionID}/test`: a test notification to each callback
  of one of the caller's subscriptions.

Only sandbox clients may call them (403 otherwise). Every write goes through the core; the
simulated objects are hidden from everyone else by the visibility rule.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from aiohttp import web

from shared.durations import parse_duration
from shared.enums import Operation
from shared.errors import BadRequest, Forbidden
from shared.models import Event, Program
from vtn.core.queries import Tx
from vtn.core.state import STATE, caller, state
from vtn.handlers.http_io import mutate, path_id, raw_body
from vtn.http_answer import JSON
from vtn.principal import Principal
from vtn.sandbox.limits import RateLimit
from vtn.services import sandbox as svc

LIMIT = web.AppKey("vtn_sandbox_rate", RateLimit)
MAX_INTERVALS = 24
_FIELDS = {"template", "start", "duration", "intervals", "value"}


def _sandbox_caller(request: web.Request) -> Principal:
    who = caller(request)
    if not who.sandbox:
        raise Forbidden(
            "this client is not a sandbox client; ask the VTN operator for one "
            "(vtn clients add --role ven --sandbox)"
        )
    request.app[LIMIT].take(who.client_id)
    return who


def _simulated(doc: object, now: datetime, max_duration: timedelta) -> svc.SimulatedEvent:
    """The simulated event a request body asks for; BadRequest with a pointer for each mistake."""
    if not isinstance(doc, dict):
        raise BadRequest("the body must be a JSON object with a `template`")
    unknown = sorted(set(doc) - _FIELDS)
    if unknown:
        raise BadRequest(f"unknown member {unknown[0]!r}; allowed: {', '.join(sorted(_FIELDS))}")
    try:
        template = svc.Template(str(doc.get("template")))
    except ValueError:
        names = ", ".join(t.value for t in svc.Template)
        raise BadRequest(f"template must be one of {names}", pointer="/template") from None
    start = now
    if doc.get("start") is not None:
        try:
            start = datetime.fromisoformat(str(doc["start"]))
        except ValueError:
            raise BadRequest("start must be an ISO 8601 date-time", pointer="/start") from None
        if start.tzinfo is None:
            raise BadRequest("start needs a UTC offset (e.g. 2026-12-04T18:00:00Z)", pointer="/start")
    try:
        duration = parse_duration(str(doc.get("duration", "PT1H")))
    except ValueError:
        raise BadRequest("duration must be an ISO 8601 duration such as PT1H", pointer="/duration") from None
    if not timedelta(0) < duration <= max_duration:
        raise BadRequest(
            f"duration must be positive and at most {max_duration} (sandbox_max_duration_seconds)",
            pointer="/duration",
        )
    intervals = doc.get("intervals", 4 if template is svc.Template.PRICE_CURVE else 1)
    if not isinstance(intervals, int) or isinstance(intervals, bool) or not 1 <= intervals <= MAX_INTERVALS:
        raise BadRequest(f"intervals must be an integer from 1 to {MAX_INTERVALS}", pointer="/intervals")
    value = doc.get("value")
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise BadRequest("value must be a number", pointer="/value")
    if template is svc.Template.SIMPLE_LEVEL and value is not None and value not in (0, 1, 2, 3):
        raise BadRequest("a SIMPLE level is 0, 1, 2 or 3", pointer="/value")
    return svc.SimulatedEvent(template, start, duration, intervals, None if value is None else float(value))


async def create_event(request: web.Request) -> web.StreamResponse:
    who = _sandbox_caller(request)
    st = state(request)
    try:
        doc = json.loads(await raw_body(request))
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    core, config = st.core, st.config
    sim = _simulated(doc, core.clock(), timedelta(seconds=config.sandbox_max_duration_seconds))

    async def work(tx: Tx) -> Event:
        return await svc.create_simulated_event(
            tx, who.client_id, sim, max_active=config.sandbox_max_events, now=core.clock()
        )

    return await mutate(request, Operation.CREATE, work, 201)


async def test_notification(request: web.Request) -> web.StreamResponse:
    who = _sandbox_caller(request)
    subscription_id = path_id(request, "subscriptionID")

    async def program(tx: Tx) -> Program:
        return await svc.sandbox_program(tx, who.client_id)

    sent = await state(request).core.send_test(who, subscription_id, program)
    body = {"subscriptionID": subscription_id, "notifications": sent}
    return web.Response(text=json.dumps(body), status=202, content_type=JSON)


def install(app: web.Application) -> None:
    """Give an app built by vtn.app.create_app the sandbox's request rate limit (its routes are in
    vtn/app.py's route table, open to any client token: the handlers refuse all but sandbox clients)."""
    app[LIMIT] = RateLimit(app[STATE].config.sandbox_requests_per_minute, time.monotonic)
