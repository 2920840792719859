"""The VTN core (vtn/core): observers of the write path, the visibility rule's permissions."""

from __future__ import annotations

from support.api_data import bl_resource, bl_ven, create, program
from support.harness import Api, Vtn

from shared.enums import ROLE_SCOPES, Operation, Role
from shared.models.common import ClientId
from vtn.core.core import Core
from vtn.core.state import STATE
from vtn.principal import Principal
from vtn.services.notifier import AnyObject
from vtn.storage.filters import EVERYTHING, Permission


def _core(vtn: Vtn) -> Core:
    return vtn.client.app[STATE].core


def _ven(client_id: str) -> Principal:
    return Principal(ClientId(client_id), Role.VEN, ROLE_SCOPES[Role.VEN])


async def test_observers_hear_each_committed_write_and_no_failed_one(vtn: Vtn, bl: Api) -> None:
    heard: list[tuple[str, Operation, str]] = []

    def observe(who: Principal, operation: Operation, obj: AnyObject) -> None:
        heard.append((who.client_id, operation, obj.id))

    _core(vtn).observers.append(observe)
    created = await create(bl, "/programs", program("p"))
    assert (await bl.post("/programs", json=program("p"))).status == 409  # rolled back: not heard
    assert (await bl.delete(f"/programs/{created['id']}")).status == 200
    assert heard == [
        (bl.client_id, Operation.CREATE, created["id"]),
        (bl.client_id, Operation.DELETE, created["id"]),
    ]


async def test_permissions_are_requested_and_granted_targets_and_shared_by_equal_grants(
    vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api
) -> None:
    for api, name in ((ven_a, "a"), (ven_b, "b")):
        ven = await create(bl, "/vens", bl_ven(name, api.client_id, ["t1"]))
        await create(bl, "/resources", bl_resource(f"r-{name}", ven["id"], api.client_id, ["t2"]))
    core = _core(vtn)
    bl_who = Principal(ClientId(bl.client_id), Role.BL, ROLE_SCOPES[Role.BL])
    assert await core.permission(bl_who) is EVERYTHING
    assert await core.permission(bl_who, frozenset({"x"})) == Permission(targets=frozenset({"x"}))
    a = await core.permission(_ven(ven_a.client_id))
    assert a == Permission(access=frozenset({"t1", "t2"})) and a.hides_targets
    assert await core.permission(_ven(ven_a.client_id), frozenset({"t2", "t9"})) == Permission(
        access=frozenset({"t2"})
    )
    # Cached answers are keyed by the permission: two VENs with the same grants share them.
    b = await core.permission(_ven(ven_b.client_id))
    assert a == b and hash(a) == hash(b)
    assert await core.permission(_ven("nobody")) == Permission(access=frozenset())
