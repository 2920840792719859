"""GET /notifiers and the MQTT topic endpoints (OpenADR 3.1 "Notifications via Additional Protocols" §7-8).

Topic names come from vtn.notify.mqtt.TopicScheme, the same object the MQTT sink publishes with.
All-objects and program-scoped topics are for BL only (they carry every object unhidden); VEN-scoped
topics are handed out to the ven's owner (and BL). Handing out a name grants nothing by itself: the
broker ACL (docs/mqtt-acl.md) is what stops a VEN subscribing to another VEN's topics.

Deviation (docs/interop.md): the topics of a program's events are also named to a VEN that may see
the program, since client libraries ask for them with VEN tokens; the 3.1.0 document lists read_all.
"""

from __future__ import annotations

from aiohttp import web

from shared.errors import BadRequest, Forbidden, NotFound
from vtn.core.visibility import owner
from vtn.handlers.http_io import Handler, caller, path_id, state
from vtn.notify.mqtt import Topics, TopicScheme, advertised_uris, topic_level, topic_scheme
from vtn.services import programs as programs_svc


async def notifiers(request: web.Request) -> web.StreamResponse:
    config = state(request).config
    doc: dict[str, object] = {"WEBHOOK": True}
    if config.mqtt_broker_url:
        # ANONYMOUS: the VTN does not hand out broker credentials; a broker that needs them (per-VEN
        # ACLs) has them provisioned out of band, see docs/mqtt-acl.md.
        doc["MQTT"] = {
            "URIS": advertised_uris(config),
            "serialization": "JSON",
            "authentication": {"method": "ANONYMOUS"},
        }
    return web.json_response(doc)


def _scheme(request: web.Request) -> TopicScheme:
    config = state(request).config
    if not config.mqtt_broker_url:
        raise NotFound("MQTT notifier not configured")
    return topic_scheme(config)


def _answer(topics: Topics) -> web.StreamResponse:
    return web.json_response({"topics": topics.response()})


def _bl_only(request: web.Request, *, hidden: bool = False) -> TopicScheme:
    scheme = _scheme(request)
    # The route's scopes already exclude VEN tokens; this also holds for external issuers' tokens.
    if not caller(request).is_bl:
        if hidden:
            # The program topic routes document no 403 (their scope, read_all, is BL's in 3.1): a
            # VEN is answered as if there were no such topics.
            raise NotFound("no MQTT topics of programs for this client")
        raise Forbidden("all-objects and program-scoped topics are for BL clients only")
    return scheme


def _level(request: web.Request, name: str) -> str:
    value = path_id(request, name)
    try:
        return topic_level(value)
    except ValueError as exc:
        raise BadRequest(f"{name} {value!r} cannot be part of an MQTT topic") from exc


def _all_objects(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _answer(_bl_only(request, hidden=kind == "programs").all_objects(kind))

    handler.__name__ = f"topics_{kind}"
    return handler


async def _existing_program(request: web.Request) -> str:
    """The path's programID if the caller may see that program (the visibility rule), else 404."""
    program_id = _level(request, "programID")
    core = state(request).core
    permission = await core.permission(caller(request))
    async with core.read() as tx:
        await programs_svc.get_program(tx, permission, program_id)
    return program_id


async def program_topics(request: web.Request) -> web.StreamResponse:
    scheme = _bl_only(request, hidden=True)
    return _answer(scheme.program(await _existing_program(request)))


async def program_event_topics(request: web.Request) -> web.StreamResponse:
    # Any client that may see the program: the broker ACL still decides who may subscribe.
    scheme = _scheme(request)
    return _answer(scheme.program_events(await _existing_program(request)))


def _ven_scoped(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        scheme = _scheme(request)
        ven_id = _level(request, "venID")
        async with state(request).core.read() as tx:
            # Another client's venID is answered like a missing one: its existence is private too.
            await tx.vens.require_owned(ven_id, owner(caller(request)))
        return _answer(scheme.ven_scoped(ven_id, kind))

    handler.__name__ = f"ven_topics_{kind}"
    return handler


BASE = "/notifiers/mqtt/topics"

# (path, handler, BL only?) — app.py gives BL-only routes read_bl scopes and the rest read_ven_objects.
# The two program routes admit VEN tokens so that their handlers answer VENs 404, not an
# undocumented 403.
TOPIC_ROUTES: list[tuple[str, Handler, bool]] = [
    (f"{BASE}/programs", _all_objects("programs"), False),
    (f"{BASE}/programs/{{programID}}", program_topics, False),
    (f"{BASE}/programs/{{programID}}/events", program_event_topics, False),
    (f"{BASE}/events", _all_objects("events"), True),
    (f"{BASE}/reports", _all_objects("reports"), True),
    (f"{BASE}/subscriptions", _all_objects("subscriptions"), True),
    (f"{BASE}/vens", _all_objects("vens"), True),
    (f"{BASE}/resources", _all_objects("resources"), True),
    (f"{BASE}/vens/{{venID}}", _ven_scoped("ven"), False),
    (f"{BASE}/vens/{{venID}}/events", _ven_scoped("events"), False),
    (f"{BASE}/vens/{{venID}}/programs", _ven_scoped("programs"), False),
    (f"{BASE}/vens/{{venID}}/resources", _ven_scoped("resources"), False),
]
