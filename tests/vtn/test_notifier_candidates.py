"""The notifier's cached fan-out candidates never miss (or keep) a subscription, in any process."""

from __future__ import annotations

from support.api_data import bl_resource, bl_ven, create, event, lab_vtn, program
from support.harness import Api, Vtn

from shared.enums import ROLE_SCOPES, ObjectType, Operation, Role
from shared.models import SubscriptionRequest
from shared.models.common import ClientId
from vtn.core.state import STATE
from vtn.principal import Principal
from vtn.services import reports as svc
from vtn.storage import Tx, open_store
from vtn.storage.subscriptions import _candidates_statement


def _subscription(program_id: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "clientName": "sub",
        "objectOperations": [
            {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": "http://127.0.0.1:9/hook"}
        ],
    }
    if program_id is not None:
        body["programID"] = program_id
    return body


async def _queued_after_event(vtn: Vtn, bl: Api, program_id: str) -> int:
    before = await vtn.count("outbox")
    await create(bl, "/events", event(program_id))
    return await vtn.count("outbox") - before


async def test_a_subscription_made_by_another_process_hears_the_next_change(db_url: str) -> None:
    async with lab_vtn(db_url) as a, lab_vtn(db_url) as b:
        bl = await a.login("bl", Role.BL)
        ven = await b.login("ven", Role.VEN)
        p = (await create(bl, "/programs", program("p")))["id"]
        assert await _queued_after_event(a, bl, p) == 0  # A caches: nobody listens to events
        sub = await create(ven, "/subscriptions", _subscription(p))  # written through B
        assert await _queued_after_event(a, bl, p) == 1  # A's very next write sees it
        assert (await ven.delete(f"/subscriptions/{sub['id']}")).status == 200
        assert await _queued_after_event(a, bl, p) == 0


async def test_a_local_subscription_counts_at_once_and_per_program(db_url: str) -> None:
    async with lab_vtn(db_url) as vtn_lab:
        await _local_subscriptions(vtn_lab)


async def _local_subscriptions(vtn_lab: Vtn) -> None:
    bl = await vtn_lab.login("bl", Role.BL)
    ven = await vtn_lab.login("ven", Role.VEN)
    p1 = (await create(bl, "/programs", program("p1")))["id"]
    p2 = (await create(bl, "/programs", program("p2")))["id"]
    assert await _queued_after_event(vtn_lab, bl, p1) == 0
    assert await _queued_after_event(vtn_lab, bl, p2) == 0
    await create(ven, "/subscriptions", _subscription(p1))
    assert await _queued_after_event(vtn_lab, bl, p1) == 1
    assert await _queued_after_event(vtn_lab, bl, p2) == 0  # bound to p1 only
    await create(ven, "/subscriptions", _subscription())  # any program
    assert await _queued_after_event(vtn_lab, bl, p1) == 2
    assert await _queued_after_event(vtn_lab, bl, p2) == 1


async def _queued_after_targeted_event(vtn: Vtn, bl: Api, program_id: str) -> int:
    before = await vtn.count("outbox")
    await create(bl, "/events", event(program_id, targets=["t1"]))
    return await vtn.count("outbox") - before


async def test_a_grant_made_by_another_process_counts_for_the_next_targeted_event(db_url: str) -> None:
    """The notifier keeps VEN subscribers' grants while the grants stamp holds: a grant another
    process writes (a ven object, then a resource) or takes back is seen by the very next write."""
    async with lab_vtn(db_url) as a, lab_vtn(db_url) as b:
        bl_a = await a.login("bl", Role.BL)
        bl_b = await b.login("bl-b", Role.BL)
        ven = await a.login("ven", Role.VEN)
        p = (await create(bl_a, "/programs", program("p")))["id"]
        await create(ven, "/subscriptions", _subscription(p))
        assert await _queued_after_targeted_event(a, bl_a, p) == 0  # not granted t1: A keeps that
        ven_obj = await create(bl_b, "/vens", bl_ven("v", ven.client_id, targets=["t1"]))
        assert await _queued_after_targeted_event(a, bl_a, p) == 1
        resp = await bl_b.put(f"/vens/{ven_obj['id']}", json=bl_ven("v", ven.client_id, targets=[]))
        assert resp.status == 200
        assert await _queued_after_targeted_event(a, bl_a, p) == 0
        await create(bl_b, "/resources", bl_resource("r", ven_obj["id"], ven.client_id, targets=["t1"]))
        assert await _queued_after_targeted_event(a, bl_a, p) == 1
        assert (await bl_b.delete(f"/vens/{ven_obj['id']}")).status == 200  # and its resource
        assert await _queued_after_targeted_event(a, bl_a, p) == 0


async def test_a_transaction_that_wrote_subscriptions_sees_its_own_writes(db_url: str) -> None:
    """A write transaction (a group-commit batch) that wrote subscriptions hears with the committed
    candidates less those it wrote, and with those it wrote that name the change's kind."""
    async with lab_vtn(db_url) as vtn_lab:
        await _own_writes(vtn_lab)


async def _own_writes(vtn: Vtn) -> None:
    bl = await vtn.login("bl", Role.BL)
    ven_a = await vtn.login("ven", Role.VEN)
    core = vtn.client.app[STATE].core
    p = (await create(bl, "/programs", program("p")))["id"]
    e = (await create(bl, "/events", event(p)))["id"]
    await create(ven_a, "/subscriptions", _subscription(p))
    gone = await create(ven_a, "/subscriptions", _subscription())
    assert await _queued_after_event(vtn, bl, p) == 2  # the candidates of (EVENT, p) now cached
    who = Principal(ClientId(ven_a.client_id), Role.VEN, ROLE_SCOPES[Role.VEN])
    permission = await core.permission(who)
    reports_only = _subscription(p)
    reports_only["objectOperations"] = [{**reports_only["objectOperations"][0], "objects": ["REPORT"]}]  # type: ignore[index]

    async def one_transaction(tx: Tx, _changes: object) -> list[int]:
        event_obj = await tx.events.get(e)
        assert event_obj is not None
        heard = []
        for step in ("reports only", "delete", "create"):
            if step == "delete":
                sub = await svc.delete_subscription(tx, who, gone["id"])
                operation = Operation.DELETE
            else:
                req = SubscriptionRequest.model_validate(
                    reports_only if step == "reports only" else _subscription(p)
                )
                sub = await svc.create_subscription(tx, who, permission, req)
                operation = Operation.CREATE
            await core.notifier.changed(tx, operation, sub)
            heard.append(await core.notifier.changed(tx, Operation.CREATE, event_obj))  # as heard
        return heard

    assert await core.run(one_transaction) == [2, 1, 2]


async def test_the_candidates_of_a_kind_are_read_from_its_partial_index(db_url: str) -> None:
    """Each kind's candidates come from that kind's partial index (tables.names_kind), not from a
    scan of every subscription: the query repeats the index's condition, which both stores need to
    use a partial index. (A scan per subscription write cost ~2 ms at 7,400 subscriptions.)"""
    store = open_store(db_url)
    try:
        async with store.read() as tx:
            conn = tx.conn
            postgres = conn.dialect.name == "postgresql"
            if postgres:  # a table this small is read whole unless a plan with the index is forced
                await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for kind in ObjectType:
                compiled = _candidates_statement(kind)().compile(dialect=conn.dialect)  # type: ignore[attr-defined]
                explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
                plan = " ".join(str(r) for r in (await conn.exec_driver_sql(explain + compiled.string)).all())
                assert f"ix_subscriptions_names_{kind.value.lower()}" in plan, plan
    finally:
        await store.close()
