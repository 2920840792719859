"""The application state: what create_app builds once and every front-end reaches by request.

Front-ends get the core (writes, reads, visibility), the config and the wire-side collaborators
here; the store, the notifier and the read cache are reached through the core only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
T = TypeVar("T")
MAX_PARSED_QUERIES = 4096


class QueryMemo:
    """What a handler read from a request's path and query string, kept per raw path and reader.

    Polling VENs send the same few URLs thousands of times; reading their query parameters
    (parsing, checking each value, building the filter's parts) cost more than the cached answer's
    lookup. A reader must depend on the raw path and query string only (never on the caller or the
    time) and raise for what it refuses; refusals are never kept. Bounded: cleared when full.
    """

    def __init__(self, max_entries: int = MAX_PARSED_QUERIES) -> None:
        self._max = max_entries
        self._read: dict[tuple[Callable[[web.Request], Any], str], Any] = {}

    def read(self, request: web.Request, reader: Callable[[web.Request], T]) -> T:
        key = (reader, request.raw_path)
        try:
            found: T = self._read[key]
            return found
        except KeyError:
            pass
        value = reader(request)
        if len(self._read) >= self._max:
            self._read.clear()
        self._read[key] = value
        return value


@dataclass(frozen=True)
class VtnState:
    """Everything a handler may use, built once by create_app."""

    config: VtnConfig
    core: Core
    registry: SchemaRegistry
    tokens: TokenService
    callbacks: CallbackPolicy
    intake: IntakePool | None = None  # report intake workers (config intake_workers), None: in-process
    queries: QueryMemo = field(default_factory=QueryMemo)


STATE = web.AppKey("vtn_state", VtnState)
PRINCIPAL_KEY = web.RequestKey("vtn_principal", Principal)


def state(request: web.Request) -> VtnState:
    return request.app[STATE]


def caller(request: web.Request) -> Principal:
    who = request.get(PRINCIPAL_KEY)
    if not isinstance(who, Principal):
        raise Unauthorized("no access token")
    return who
