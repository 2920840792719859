"""The application state: what create_app builds once and every front-end reaches by request.

Front-ends get the core (writes, reads, visibility), the config and the wire-side collaborators
here; the store, the notifier and the read cache are reached through the core only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shared.errors import Unauthorized
from shared.validation import SchemaRegistry
from vtn.auth.tokens import TokenService
from vtn.config import VtnConfig
from vtn.core.core import Core
from vtn.intake.pool import IntakePool
from vtn.notify.callbacks import CallbackPolicy
from vtn.principal import Principal

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class VtnState:
    """Everything a handler may use, built once by create_app."""

    config: VtnConfig
    core: Core
    registry: SchemaRegistry
    tokens: TokenService
    callbacks: CallbackPolicy
    intake: IntakePool | None = None  # report intake workers (config intake_workers), None: in-process


STATE = web.AppKey("vtn_state", VtnState)
PRINCIPAL_KEY = web.RequestKey("vtn_principal", Principal)


def state(request: web.Request) -> VtnState:
    return request.app[STATE]


def caller(request: web.Request) -> Principal:
    who = request.get(PRINCIPAL_KEY)
    if not isinstance(who, Principal):
        raise Unauthorized("no access token")
    return who
