"""What the endpoint sweep (bench/sweep.py) measures: its steps, and the requests of each.

A step is one endpoint of one API as one role: `3.1.0 GET /events/{id} VEN`. Reads rotate over
the seeded VENs (each request with its own VEN's token, for its own objects) or, as BL, over all
objects; writes never destroy what a later step reads: POST creates new objects (a new name per
request, sent once each), PUT rewrites objects the step's POST created, DELETE deletes them.
Events created by the sweep are targeted at a group no VEN is granted, and the sweep's
subscriptions ask for PROGRAM deletions only (their steps run last), so no write starts a fan-out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bench.load import Request
from bench.scenarios_write import report_body
from bench.seed import BENCH_SECRET, Manifest, event_request
from bench.sweep_20b import MESSAGES

API31, API301, API20B = "3.1.0", "3.0.1", "2.0b"
BASES = {API31: "/openadr3/3.1.0", API301: "/openadr3/3.0.1"}
VEN, BL = "VEN", "BL"
COLLECTIONS = ["programs", "events", "reports", "vens", "resources", "subscriptions"]
BL_WRITES_ONLY = {"programs", "events"}  # VENs hold no write scope for these
SWEEP_GROUP = "group-sweep"  # granted to no VEN: the sweep's events reach no VEN subscriber
CALLBACK = "http://127.0.0.1:9/sweep"  # never called: the sweep's VTN runs without delivery worker

Obj = tuple[str, str | None, str | None]  # id, clientID, venID of an object a POST step created


@dataclass(frozen=True)
class Step:
    api: str
    method: str
    path: str  # as shown: /events/{id}; for 2.0b the service and message, EiEvent:oadrRequestEvent
    role: str
    kind: str  # list | get | create | update | delete | token | 20b
    collection: str = ""  # 3.x: programs ...; 2.0b: the message (bench.sweep_20b.MESSAGES)

    @property
    def label(self) -> str:
        return f"{self.api} {self.method} {self.path} {self.role}"

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class World:
    """What the requests are built from: the seeded data, tokens, and the sweep's own objects."""

    m: Manifest
    ven_tokens: list[str]
    bl_token: str
    bl_client_id: str
    bl_secret: str
    report_ids: list[str]  # the i-th: VEN i's seeded report
    sub_ids: list[str]  # the i-th: VEN i's seeded subscription
    # Event and report bodies by shape, spelled once with NAME/CLIENT marks (a write step sends
    # thousands; building each from a dict took ~0.3 ms, seconds per step).
    templates: dict[tuple[object, ...], str] = field(default_factory=dict)

    def token_of(self, client_id: str | None) -> str:
        if client_id is None or not client_id.startswith("ven-bench-"):
            return self.bl_token
        return self.ven_tokens[int(client_id.removeprefix("ven-bench-"))]


def _res_path(api: str, ven_id: str | None) -> str:
    return "/resources" if api == API31 else f"/vens/{ven_id}/resources"


def steps() -> list[Step]:
    """Every step in the order run: reads, tokens, 2.0b, then writes (subscriptions last)."""
    out: list[Step] = []
    for api in (API31, API301):
        for coll in COLLECTIONS:
            lst = _res_path(api, "{venID}") if coll == "resources" else f"/{coll}"
            for role in (VEN, BL):
                out.append(Step(api, "GET", lst, role, "list", coll))
                out.append(Step(api, "GET", f"{lst}/{{id}}", role, "get", coll))
    for api in (API31, API301):
        for role in (VEN, BL):
            out.append(Step(api, "POST", "/auth/token", role, "token", "auth"))
    for label, (service, _, _) in MESSAGES.items():
        out.append(Step(API20B, "POST", f"{service}:{label}", VEN, "20b", label))
    for coll in COLLECTIONS:
        for api in (API31, API301):
            lst = _res_path(api, "{venID}") if coll == "resources" else f"/{coll}"
            roles = (BL,) if coll in BL_WRITES_ONLY else (VEN, BL)
            for role in roles:
                out.append(Step(api, "POST", lst, role, "create", coll))
                out.append(Step(api, "PUT", f"{lst}/{{id}}", role, "update", coll))
                out.append(Step(api, "DELETE", f"{lst}/{{id}}", role, "delete", coll))
    return out


def _dump(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


# ----------------------------------------------------------------------------------------- reads


def read_requests(step: Step, w: World) -> list[Request]:
    """The step's GETs: VENs rotate over their own objects, BL over all."""
    m, base, ven = w.m, BASES[step.api], step.role == VEN
    n = len(m.ven_ids)
    visible = m.untargeted_event_ids

    def per_ven(count: int, path: Any) -> list[Request]:
        return [("GET", base + path(i), w.ven_tokens[i], "") for i in range(count)]

    def per_bl(items: list[str], path: Any) -> list[Request]:
        return [("GET", base + path(x), w.bl_token, "") for x in items]

    coll, listing = step.collection, step.kind == "list"
    if coll == "programs":
        path = "/programs" if listing else f"/programs/{m.program_id}"
        return per_ven(n, lambda i: path) if ven else per_bl([path], lambda p: p)
    if coll == "events":
        if listing:
            return per_ven(n, lambda i: "/events") if ven else per_bl(["/events"], lambda p: p)
        if ven:
            return per_ven(n, lambda i: f"/events/{visible[i % len(visible)]}")
        return per_bl(visible + m.targeted_event_ids, lambda e: f"/events/{e}")
    if coll in ("reports", "subscriptions"):
        ids = w.report_ids if coll == "reports" else w.sub_ids
        if listing:
            return per_ven(len(ids), lambda i: f"/{coll}") if ven else per_bl([f"/{coll}"], lambda p: p)
        if ven:
            return per_ven(len(ids), lambda i: f"/{coll}/{ids[i]}")
        return per_bl(ids, lambda x: f"/{coll}/{x}")
    if coll == "vens":
        if listing:
            return per_ven(n, lambda i: "/vens") if ven else per_bl(["/vens"], lambda p: p)
        if ven:
            return per_ven(n, lambda i: f"/vens/{m.ven_ids[i]}")
        return per_bl(m.ven_ids, lambda v: f"/vens/{v}")
    # resources: 3.1 lists /resources (a VEN its own 10, BL the first 50); 3.0.1 a ven's 10
    res = m.resource_ids_sample  # the i-th: VEN i's first resource
    if listing:
        if step.api == API31:
            return per_ven(n, lambda i: "/resources") if ven else per_bl(["/resources"], lambda p: p)
        if ven:
            return per_ven(n, lambda i: f"/vens/{m.ven_ids[i]}/resources")
        return per_bl(m.ven_ids, lambda v: f"/vens/{v}/resources")

    def one(i: int) -> str:
        return f"{_res_path(step.api, m.ven_ids[i])}/{res[i]}"

    if ven:
        return per_ven(n, one)
    return [("GET", base + one(i), w.bl_token, "") for i in range(n)]


def token_requests(step: Step, w: World) -> list[Request]:
    path = BASES[step.api] + "/auth/token"

    def form(client_id: str, secret: str) -> str:
        return _dump({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})

    if step.role == BL:
        return [("POST", path, "", form(w.bl_client_id, w.bl_secret))]
    return [("POST", path, "", form(cid, BENCH_SECRET)) for cid in w.m.client_ids]


# ---------------------------------------------------------------------------------------- writes


def _name(step: Step, n: int) -> str:
    return f"sweep-{step.api}-{step.role}-{step.collection}-{n}".lower()


NAME, CLIENT = "@sweep-name@", "@sweep-client@"  # marks in a template, replaced per request


def _template(w: World, key: tuple[object, ...], build: Any) -> str:
    found = w.templates.get(key)
    if found is None:
        found = w.templates[key] = _dump(build())
    return found


def _event_doc(step: Step, w: World, k: int) -> dict[str, Any]:
    doc = event_request(w.m.program_id, k, [SWEEP_GROUP], 24).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    doc["eventName"] = NAME
    if step.api == API301:
        doc["targets"] = [{"type": "GROUP", "values": [SWEEP_GROUP]}]
    return doc


def _event(step: Step, w: World, n: int, name: str) -> str:
    """An event of 24 intervals (one of 20 shapes) targeted at the sweep's group, named `name`."""
    k = n % 20
    return _template(w, ("event", step.api, k), lambda: _event_doc(step, w, k)).replace(NAME, name, 1)


def _report_doc(step: Step, w: World, n: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(report_body(w.m.untargeted_event_ids[0], CLIENT, n))
    doc["reportName"] = NAME
    if step.api == API301:
        doc["programID"] = w.m.program_id
    return doc


def _report(step: Step, w: World, n: int, client_name: str, name: str) -> str:
    """A usage report of 24 intervals (its values one of 17 shapes) by `client_name`."""
    k = n % 17
    text = _template(w, ("report", step.api, k), lambda: _report_doc(step, w, k))
    return text.replace(CLIENT, client_name, 1).replace(NAME, name, 1)


def _subscription(step: Step, w: World, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "clientName": name,
        "objectOperations": [
            {
                "objects": ["PROGRAM"],
                "operations": ["DELETE"],
                "callbackUrl": CALLBACK,
                "bearerToken": "sweep",
            }
        ],
    }
    if step.api == API301:
        doc["programID"] = w.m.program_id
    return doc


def create_request(step: Step, w: World, n: int) -> Request:
    """The n-th POST of a create step: a new object named after the step and n."""
    m, base, coll, name = w.m, BASES[step.api], step.collection, _name(step, n)
    i = n % len(m.ven_ids)  # the VEN whose token a VEN request carries, and whose ven it names
    token = w.ven_tokens[i] if step.role == VEN else w.bl_token
    path = f"/{coll}"
    doc: dict[str, Any]
    if coll == "events":
        return ("POST", base + path, token, _event(step, w, n, name))
    if coll == "reports":
        client_name = m.ven_names[i] if step.role == VEN else "sweep-bl"
        return ("POST", base + path, token, _report(step, w, n, client_name, name))
    if coll == "programs":
        doc = {"programName": name}
    elif coll == "subscriptions":
        doc = _subscription(step, w, name)
    elif coll == "vens":
        doc = {"venName": name}
        if step.role == BL:
            doc["clientID"] = f"sweep-client-{n}"
        if step.api == API31:
            doc["objectType"] = "BL_VEN_REQUEST" if step.role == BL else "VEN_VEN_REQUEST"
    else:  # resources, of the ven of seeded VEN i
        doc = {"resourceName": name}
        path = _res_path(step.api, m.ven_ids[i])
        if step.api == API31:
            doc |= {"venID": m.ven_ids[i]}
            doc["objectType"] = "BL_RESOURCE_REQUEST" if step.role == BL else "VEN_RESOURCE_REQUEST"
            if step.role == BL:
                doc["clientID"] = m.client_ids[i]
    return ("POST", base + path, token, _dump(doc))


def object_path(step: Step, obj: Obj) -> str:
    oid, _, ven_id = obj
    if step.collection == "resources":
        return f"{BASES[step.api]}{_res_path(step.api, ven_id)}/{oid}"
    return f"{BASES[step.api]}/{step.collection}/{oid}"


def update_request(step: Step, w: World, obj: Obj, n: int) -> Request:
    """A PUT of an object a POST step created, by its creator: same kind of body, new content."""
    oid, client_id, ven_id = obj
    coll, name = step.collection, f"sweep-put-{oid}"
    token = w.token_of(client_id) if step.role == VEN else w.bl_token
    doc: dict[str, Any]
    if coll == "events":
        return ("PUT", object_path(step, obj), token, _event(step, w, n, name))
    if coll == "reports":
        i = int(client_id.removeprefix("ven-bench-")) if step.role == VEN and client_id else None
        client_name = w.m.ven_names[i] if i is not None else "sweep-bl"
        return ("PUT", object_path(step, obj), token, _report(step, w, n, client_name, name))
    if coll == "programs":
        doc = {"programName": name}
    elif coll == "subscriptions":
        doc = _subscription(step, w, name)
    elif coll == "vens":
        doc = {"venName": name}
        if step.role == BL:
            doc["clientID"] = client_id
        if step.api == API31:
            doc["objectType"] = "BL_VEN_REQUEST" if step.role == BL else "VEN_VEN_REQUEST"
    else:
        doc = {"resourceName": name}
        if step.api == API31:
            doc |= {"venID": ven_id}
            doc["objectType"] = "BL_RESOURCE_REQUEST" if step.role == BL else "VEN_RESOURCE_REQUEST"
            if step.role == BL:
                doc["clientID"] = client_id
    return ("PUT", object_path(step, obj), token, _dump(doc))


def delete_request(step: Step, w: World, obj: Obj) -> Request:
    token = w.token_of(obj[1]) if step.role == VEN else w.bl_token
    return ("DELETE", object_path(step, obj), token, "")


# ------------------------------------------------------------------------------- read cache passes

# What the read cache (vtn/services/read_cache.py) can change, found in the handlers: list answers
# kept by `core.cached` (3.1 and 3.0.1 GET /programs and GET /events, both roles), a VEN's grants
# kept for `core.permission` (every VEN request that asks for it: programs and events read by VEN,
# and the VEN writes of reports and subscriptions, which take the caller's permission), and the
# 2.0b poll cache, which re-reads the change stamps whenever its marker in the read cache is gone
# (oadrPoll). BL's permission never reads grants. Everything else runs the same code either way.
_CACHED_COLLECTIONS = {"programs", "events"}
_VEN_WRITES_WITH_PERMISSION = {("reports", "create"), ("reports", "update")} | {
    ("subscriptions", "create"),
    ("subscriptions", "update"),
}
POLL_20B = "oadrPoll"


def cache_dependent(step: Step) -> bool:
    """Can the read cache (answers, grants, the 2.0b poll cache's marker) change this step's cost?"""
    if step.api == API20B:
        return step.collection == POLL_20B
    if step.collection in _CACHED_COLLECTIONS and step.kind in ("list", "get"):
        return step.kind == "list" or step.role == VEN
    return step.role == VEN and (step.collection, step.kind) in _VEN_WRITES_WITH_PERMISSION


def passes(step: Step) -> tuple[bool, ...]:
    """The cache settings a step is measured with (False: off, True: on). A step the cache cannot
    change runs once, with the cache off: a second figure would only repeat the first."""
    return (False, True) if cache_dependent(step) else (False,)


# --------------------------------------------------------------------------------------- targets

# Issue 16: single-object reads and lists of up to 50 objects ≥ 0.25× the baseline with the read
# cache off; cached GET /events (20 events × 24 intervals) ≥ 0.7×; POST /reports ≥ 0.15×.
READ_OFF_RATIO = 0.25
EVENTS_CACHED_RATIO = 0.7
POST_REPORTS_RATIO = 0.15


def target(step: Step, cache_on: bool) -> tuple[str, float] | None:
    """(what the issue asks, minimum ratio) for this step and cache setting, or None."""
    if step.api == API20B:
        return None
    if step.kind == "list" and step.collection == "events" and cache_on:
        return f"≥ {EVENTS_CACHED_RATIO}× (cached GET /events)", EVENTS_CACHED_RATIO
    if step.kind in ("list", "get") and not cache_on:
        return f"≥ {READ_OFF_RATIO}× (read, cache off)", READ_OFF_RATIO
    if step.kind == "create" and step.collection == "reports":
        return f"≥ {POST_REPORTS_RATIO}× (POST /reports)", POST_REPORTS_RATIO
    return None


# The quick form (`make bench-quick`): the dozen most asked-for steps with the cache off, and
# GET /events with it on.
QUICK_OFF = {
    "3.1.0 GET /events VEN",
    "3.1.0 GET /events BL",
    "3.1.0 GET /events/{id} VEN",
    "3.1.0 GET /programs VEN",
    "3.1.0 GET /vens/{id} BL",
    "3.1.0 GET /resources VEN",
    "3.1.0 GET /resources/{id} BL",
    "3.1.0 GET /reports BL",
    "3.1.0 GET /subscriptions VEN",
    "3.1.0 POST /reports VEN",
    "3.1.0 POST /events BL",
    "3.1.0 POST /auth/token VEN",
    "3.0.1 GET /events VEN",
    "2.0b POST OadrPoll:oadrPoll VEN",
}
QUICK_ON = {"3.1.0 GET /events VEN", "3.1.0 GET /events BL"}
