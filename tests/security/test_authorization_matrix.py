"""The authorization matrix, generated from one table: endpoint × role × ownership × targeting.

KINDS says, per object kind, how VENs may see it (by targeting, or by ownership) and whether VENs may
write it; `expected` derives every cell from that row alone. The world: BL; VEN "a", which owns the
VEN-private objects and was granted target `g-a`; VEN "b", which owns nothing and was granted
nothing. Programs and events exist untargeted and targeted at `g-a`. Every cell (GET one, GET list,
PUT, DELETE) is requested and checked, on SQLite and PostgreSQL (the `db_url` fixture).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from support.api_data import (
    bl_resource,
    bl_ven,
    create,
    event,
    program,
    report,
    subscription,
    ven_resource,
    ven_ven,
)
from support.configured import configured
from support.harness import Api

from shared.enums import Role

ROLES = ("bl", "owner", "other")  # BL, VEN "a" (owner / granted), VEN "b" (neither)
OPS = ("get", "list", "put", "delete")


@dataclass(frozen=True)
class Kind:
    path: str
    visible_by: str  # "targeting": programs, events; "owner": VEN-private objects
    ven_writes: bool
    variants: tuple[str, ...]  # "untargeted", "targeted" (at g-a), "owned" (by VEN a)


KINDS = {
    "programs": Kind("/programs", "targeting", False, ("untargeted", "targeted")),
    "events": Kind("/events", "targeting", False, ("untargeted", "targeted")),
    "reports": Kind("/reports", "owner", True, ("owned",)),
    "subscriptions": Kind("/subscriptions", "owner", True, ("owned",)),
    "vens": Kind("/vens", "owner", True, ("owned",)),
    "resources": Kind("/resources", "owner", True, ("owned",)),
}


def visible(kind: Kind, variant: str, role: str) -> bool:
    if role == "bl" or variant == "untargeted":
        return True
    return role == "owner"  # targeted at g-a (granted to a only), or owned by a


def expected(kind: Kind, variant: str, role: str, op: str) -> int | bool:
    """Status of GET/PUT/DELETE, or for "list" whether the object is in the list answer."""
    seen = visible(kind, variant, role)
    if op == "list":
        return seen
    if op == "get":
        return 200 if seen else 404
    if role != "bl" and not kind.ven_writes:
        return 403  # the route's scope: VEN tokens cannot write programs or events
    return 200 if seen else 404


def cells() -> list[tuple[str, str, str, str]]:
    return [(k, v, r, o) for k, kind in KINDS.items() for v in kind.variants for r in ROLES for o in OPS]


class World:
    def __init__(self, apis: dict[str, Api]) -> None:
        self.apis = apis
        self.n = 0

    def name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}-{self.n}"

    async def setup(self) -> None:
        bl, a = self.apis["bl"], self.apis["owner"]
        # Grants: a BL-made ven for VEN a with target g-a (VEN b has none).
        await create(bl, "/vens", bl_ven("grant-a", a.client_id, ["g-a"]))
        self.host = await create(bl, "/programs", program("host"))
        self.host_event = await create(bl, "/events", event(self.host["id"]))
        self.own_ven = await create(a, "/vens", ven_ven("a-home"))

    async def make(self, kind: str, variant: str) -> tuple[str, Callable[[str], dict[str, Any]]]:
        """A fresh object of `kind`/`variant`; its id and a PUT body for a role."""
        bl, a = self.apis["bl"], self.apis["owner"]
        targets = {"targets": ["g-a"]} if variant == "targeted" else {}
        if kind == "programs":
            body = program(self.name("p"), **targets)
            made = await create(bl, "/programs", body)
            return made["id"], lambda role: body
        if kind == "events":
            body = event(self.host["id"], **targets)
            made = await create(bl, "/events", body)
            return made["id"], lambda role: body
        if kind == "reports":
            body = report(self.host_event["id"])
            made = await create(a, "/reports", body)
            return made["id"], lambda role: body
        if kind == "subscriptions":
            body = subscription()
            made = await create(a, "/subscriptions", body)
            return made["id"], lambda role: body
        if kind == "vens":
            name = self.name("v")
            made = await create(a, "/vens", ven_ven(name))
            return made["id"], lambda role: bl_ven(name, a.client_id) if role == "bl" else ven_ven(name)
        name = self.name("r")
        ven_id = self.own_ven["id"]
        made = await create(a, "/resources", ven_resource(name, ven_id))
        return made[
            "id"
        ], lambda role: bl_resource(name, ven_id, a.client_id) if role == "bl" else ven_resource(name, ven_id)


async def _status(call: Awaitable[Any]) -> int:
    resp = await call
    await resp.read()
    return int(resp.status)


async def test_every_cell_of_the_authorization_matrix(db_url: str) -> None:
    lab = {
        "webhook_allow_private": True,
        "webhook_echo_challenge": False,
        "rate_per_client": 0,
        "rate_per_address": 0,
        "token_rate_per_address": 0,
    }
    async with configured(db_url, **lab) as vtn:
        apis = {
            "bl": await vtn.login("bl", Role.BL),
            "owner": await vtn.login("ven-a", Role.VEN),
            "other": await vtn.login("ven-b", Role.VEN),
        }
        world = World(apis)
        await world.setup()
        wrong: list[str] = []
        checked = 0
        for kind_name, variant, role, op in cells():
            kind, api = KINDS[kind_name], apis[role]
            object_id, put_body = await world.make(kind_name, variant)
            url = f"{kind.path}/{object_id}"
            want = expected(kind, variant, role, op)
            if op == "list":
                listed = await (await api.get(kind.path, params={"limit": "50"})).json()
                got: int | bool = object_id in {o["id"] for o in listed}
            elif op == "get":
                got = await _status(api.get(url))
            elif op == "put":
                got = await _status(api.put(url, json=put_body(role)))
            else:
                got = await _status(api.delete(url))
            checked += 1
            if got != want:
                wrong.append(f"{op} {kind_name}/{variant} as {role}: expected {want}, got {got}")
        assert checked == len(cells()) == 96
        assert not wrong, "\n".join(wrong)
