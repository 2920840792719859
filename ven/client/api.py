"""VtnClient: typed async access to every endpoint of the OpenADR 3.1 VTN.

Each method raises an OadrError subclass when the VTN rejects the request (NotFound, Conflict,
Forbidden, Unauthorized, BadRequest or SchemaViolation with `.pointer`, ...) and VtnUnavailable when
the VTN cannot be reached. Lists are capped by the VTN at 50 objects; `iter_*` pages through all.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from ssl import SSLContext
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from shared.enums import ObjectType
from shared.errors import ServerError
from shared.models import (
    Event,
    EventRequest,
    Program,
    ProgramRequest,
    Report,
    ReportRequest,
    Resource,
    ResourceRequest,
    Subscription,
    SubscriptionRequest,
    ValuesMap,
    Ven,
    VenRequest,
    WireModel,
)
from ven.client import registration
from ven.client.errors import InvalidAnswer
from ven.client.messages import M, answer_model, object_path, query, request_body
from ven.client.paging import MAX_PAGE_SIZE, pages
from ven.client.transport import Clock, Params, Transport

if TYPE_CHECKING:
    from shared.validation import SchemaRegistry


class VtnClient:
    """Async client of one VTN; use `async with VtnClient(...) as vtn:` or call `close()`.

    `base_url` ends with the API base path (e.g. http://host:8080/openadr3/3.1.0). Authenticate with
    `client_id`/`client_secret` (tokens fetched and refreshed as needed) or a fixed `token` (given
    both, the token is used first). `session` is used and left open if given; `ssl` (SSLContext or
    aiohttp.Fingerprint) goes to every request; `token_url` skips discovery via GET /auth/server;
    `timeout` is seconds (or a ClientTimeout) per request; `clock` (seconds) times token refresh.
    Over mutual TLS (`ssl` with a client certificate) `client_id` alone may do: the VTN then
    authenticates the certificate (RFC 8705 tls_client_auth). Given `schemas`, every answer is
    validated against the 3.1 schemas (shared/wire) before it becomes a model.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token: str | None = None,
        scope: str | None = None,
        session: aiohttp.ClientSession | None = None,
        ssl: SSLContext | aiohttp.Fingerprint | None = None,
        token_url: str | None = None,
        timeout: float | aiohttp.ClientTimeout = 30.0,
        clock: Clock = time.monotonic,
        schemas: SchemaRegistry | None = None,
    ) -> None:
        self._schemas = schemas
        self._t = Transport(
            base_url,
            client_id=client_id,
            client_secret=client_secret,
            token=token,
            scope=scope,
            session=session,
            ssl=ssl,
            token_url=token_url,
            timeout=timeout,
            clock=clock,
        )

    @property
    def base_url(self) -> str:
        return self._t.base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if the client made it."""
        await self._t.close()

    # -- plumbing -------------------------------------------------------------------------------

    async def _list(self, path: str, model: type[M], params: Params) -> list[M]:
        doc = await self._t.call("GET", path, params=params)
        if not isinstance(doc, list):
            raise InvalidAnswer(f"GET {path}: the VTN did not answer a JSON array")
        return [answer_model(model, item, f"GET {path}", self._schemas) for item in doc]

    async def _one(
        self, method: str, path: str, model: type[M], body: WireModel | None = None, params: Params = ()
    ) -> M:
        doc = await self._t.call(
            method, path, body=None if body is None else request_body(body), params=params
        )
        return answer_model(model, doc, f"{method} {path}", self._schemas)

    # -- discovery ------------------------------------------------------------------------------

    async def auth_server(self) -> str:
        """The token URL the VTN advertises at GET /auth/server (no token needed)."""
        doc = await self._t.call("GET", "/auth/server", auth=False)
        url = doc.get("tokenURL") if isinstance(doc, dict) else None
        if not isinstance(url, str):
            raise ServerError("GET /auth/server: no tokenURL in the answer")
        return url

    async def get_notifiers(self) -> dict[str, Any]:
        """GET /notifiers: the notification bindings the VTN offers, e.g. {"WEBHOOK": true}."""
        doc = await self._t.call("GET", "/notifiers")
        if not isinstance(doc, dict):
            raise ServerError("GET /notifiers: the VTN did not answer a JSON object")
        return doc

    async def mqtt_topics(self, path: str) -> dict[str, str]:
        """GET /notifiers/mqtt/topics/{path}: topic names per operation (CREATE?, UPDATE, DELETE, ALL?)."""
        doc = await self._t.call("GET", f"/notifiers/mqtt/topics/{path.strip('/')}")
        topics = doc.get("topics") if isinstance(doc, dict) else None
        if not isinstance(topics, dict):
            raise ServerError(f"GET /notifiers/mqtt/topics/{path}: no topics in the answer")
        return {str(k): str(v) for k, v in topics.items()}

    # -- programs -------------------------------------------------------------------------------

    async def list_programs(
        self, *, targets: Iterable[str] | None = None, skip: int | None = None, limit: int | None = None
    ) -> list[Program]:
        return await self._list("/programs", Program, query(targets=targets, skip=skip, limit=limit))

    def iter_programs(
        self, *, targets: Iterable[str] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[Program]:
        """Every program, fetched page by page."""
        return pages(lambda s, n: self.list_programs(targets=targets, skip=s, limit=n), page_size)

    async def get_program(self, program_id: str, *, targets: Iterable[str] | None = None) -> Program:
        return await self._one(
            "GET", object_path("programs", program_id), Program, params=query(targets=targets)
        )

    async def create_program(self, req: ProgramRequest) -> Program:
        return await self._one("POST", "/programs", Program, req)

    async def update_program(self, program_id: str, req: ProgramRequest) -> Program:
        return await self._one("PUT", object_path("programs", program_id), Program, req)

    async def delete_program(self, program_id: str) -> Program:
        """Delete and return the deleted program."""
        return await self._one("DELETE", object_path("programs", program_id), Program)

    # -- events ---------------------------------------------------------------------------------

    async def list_events(
        self,
        program_id: str | None = None,
        *,
        targets: Iterable[str] | None = None,
        active: bool | None = None,
        skip: int | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events, optionally of one program; `active=True` leaves out events that have transpired."""
        params = query(programID=program_id, targets=targets, active=active, skip=skip, limit=limit)
        return await self._list("/events", Event, params)

    def iter_events(
        self,
        program_id: str | None = None,
        *,
        targets: Iterable[str] | None = None,
        active: bool | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Event]:
        return pages(
            lambda s, n: self.list_events(program_id, targets=targets, active=active, skip=s, limit=n),
            page_size,
        )

    async def get_event(self, event_id: str, *, targets: Iterable[str] | None = None) -> Event:
        return await self._one("GET", object_path("events", event_id), Event, params=query(targets=targets))

    async def create_event(self, req: EventRequest) -> Event:
        return await self._one("POST", "/events", Event, req)

    async def update_event(self, event_id: str, req: EventRequest) -> Event:
        return await self._one("PUT", object_path("events", event_id), Event, req)

    async def delete_event(self, event_id: str) -> Event:
        return await self._one("DELETE", object_path("events", event_id), Event)

    # -- reports --------------------------------------------------------------------------------

    async def list_reports(
        self,
        program_id: str | None = None,
        event_id: str | None = None,
        client_name: str | None = None,
        *,
        skip: int | None = None,
        limit: int | None = None,
    ) -> list[Report]:
        params = query(programID=program_id, eventID=event_id, clientName=client_name, skip=skip, limit=limit)
        return await self._list("/reports", Report, params)

    def iter_reports(
        self,
        program_id: str | None = None,
        event_id: str | None = None,
        client_name: str | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Report]:
        return pages(
            lambda s, n: self.list_reports(program_id, event_id, client_name, skip=s, limit=n), page_size
        )

    async def get_report(self, report_id: str) -> Report:
        return await self._one("GET", object_path("reports", report_id), Report)

    async def create_report(self, req: ReportRequest) -> Report:
        return await self._one("POST", "/reports", Report, req)

    async def update_report(self, report_id: str, req: ReportRequest) -> Report:
        return await self._one("PUT", object_path("reports", report_id), Report, req)

    async def delete_report(self, report_id: str) -> Report:
        return await self._one("DELETE", object_path("reports", report_id), Report)

    # -- subscriptions --------------------------------------------------------------------------

    async def list_subscriptions(
        self,
        program_id: str | None = None,
        client_name: str | None = None,
        objects: Iterable[ObjectType] | None = None,
        *,
        skip: int | None = None,
        limit: int | None = None,
    ) -> list[Subscription]:
        params = query(programID=program_id, clientName=client_name, objects=objects, skip=skip, limit=limit)
        return await self._list("/subscriptions", Subscription, params)

    def iter_subscriptions(
        self,
        program_id: str | None = None,
        client_name: str | None = None,
        objects: Iterable[ObjectType] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Subscription]:
        return pages(
            lambda s, n: self.list_subscriptions(program_id, client_name, objects, skip=s, limit=n),
            page_size,
        )

    async def get_subscription(self, subscription_id: str) -> Subscription:
        return await self._one("GET", object_path("subscriptions", subscription_id), Subscription)

    async def create_subscription(self, req: SubscriptionRequest) -> Subscription:
        """Create; the VTN first checks each callbackUrl (https, public address, echo challenge)."""
        return await self._one("POST", "/subscriptions", Subscription, req)

    async def update_subscription(self, subscription_id: str, req: SubscriptionRequest) -> Subscription:
        return await self._one("PUT", object_path("subscriptions", subscription_id), Subscription, req)

    async def delete_subscription(self, subscription_id: str) -> Subscription:
        return await self._one("DELETE", object_path("subscriptions", subscription_id), Subscription)

    async def deliveries(self, subscription_id: str, *, limit: int | None = None) -> dict[str, Any]:
        """Extension GET /subscriptions/{id}/deliveries: {"subscriptionID", "health", "attempts"}."""
        path = object_path("subscriptions", subscription_id, "/deliveries")
        doc = await self._t.call("GET", path, params=query(limit=limit))
        if not isinstance(doc, dict):
            raise ServerError(f"GET {path}: the VTN did not answer a JSON object")
        return doc

    # -- vens -----------------------------------------------------------------------------------

    async def list_vens(
        self,
        ven_name: str | None = None,
        *,
        targets: Iterable[str] | None = None,
        skip: int | None = None,
        limit: int | None = None,
    ) -> list[Ven]:
        """Vens the caller may see: a VEN its own, BL all."""
        params = query(venName=ven_name, targets=targets, skip=skip, limit=limit)
        return await self._list("/vens", Ven, params)

    def iter_vens(
        self,
        ven_name: str | None = None,
        *,
        targets: Iterable[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Ven]:
        return pages(lambda s, n: self.list_vens(ven_name, targets=targets, skip=s, limit=n), page_size)

    async def get_ven(self, ven_id: str) -> Ven:
        return await self._one("GET", object_path("vens", ven_id), Ven)

    async def create_ven(self, req: VenRequest) -> Ven:
        return await self._one("POST", "/vens", Ven, req)

    async def update_ven(self, ven_id: str, req: VenRequest) -> Ven:
        return await self._one("PUT", object_path("vens", ven_id), Ven, req)

    async def delete_ven(self, ven_id: str) -> Ven:
        return await self._one("DELETE", object_path("vens", ven_id), Ven)

    # -- resources ------------------------------------------------------------------------------

    async def list_resources(
        self,
        resource_name: str | None = None,
        ven_id: str | None = None,
        *,
        targets: Iterable[str] | None = None,
        skip: int | None = None,
        limit: int | None = None,
    ) -> list[Resource]:
        params = query(resourceName=resource_name, venID=ven_id, targets=targets, skip=skip, limit=limit)
        return await self._list("/resources", Resource, params)

    def iter_resources(
        self,
        resource_name: str | None = None,
        ven_id: str | None = None,
        *,
        targets: Iterable[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Resource]:
        return pages(
            lambda s, n: self.list_resources(resource_name, ven_id, targets=targets, skip=s, limit=n),
            page_size,
        )

    async def get_resource(self, resource_id: str) -> Resource:
        return await self._one("GET", object_path("resources", resource_id), Resource)

    async def create_resource(self, req: ResourceRequest) -> Resource:
        return await self._one("POST", "/resources", Resource, req)

    async def update_resource(self, resource_id: str, req: ResourceRequest) -> Resource:
        return await self._one("PUT", object_path("resources", resource_id), Resource, req)

    async def delete_resource(self, resource_id: str) -> Resource:
        return await self._one("DELETE", object_path("resources", resource_id), Resource)

    # -- idempotent helpers for VEN agents --------------------------------------------------------

    async def ensure_ven(
        self, ven_name: str, *, ven_id: str | None = None, attributes: list[ValuesMap] | None = None
    ) -> Ven:
        """As a VEN: the caller's ven named `ven_name`, created (VEN_VEN_REQUEST) if missing.

        Found by name, so the ven's id is whatever the VTN assigned: `ven_id` is only the key sent
        with the create (our VTN derives the id from it and the client, docs/security.md), so use
        the returned `.id`. Safe to repeat and to race: a 409 on create is answered by reading
        again. Given `attributes` that differ from the stored ones, the ven is updated. Raises
        Conflict when the name is held by another client.
        """
        return await registration.ensure_ven(self, ven_name, ven_id=ven_id, attributes=attributes)

    async def ensure_resource(
        self,
        ven_id: str,
        resource_name: str,
        *,
        resource_id: str | None = None,
        attributes: list[ValuesMap] | None = None,
    ) -> Resource:
        """As a VEN: the resource `resource_name` of ven `ven_id`, created or updated to `attributes`.

        Found by name like ensure_ven: `resource_id` is only the key sent with the create, the
        resource's id is the returned `.id`. Safe to repeat and to race; `attributes=None` leaves
        stored ones untouched.
        """
        return await registration.ensure_resource(
            self, ven_id, resource_name, resource_id=resource_id, attributes=attributes
        )
