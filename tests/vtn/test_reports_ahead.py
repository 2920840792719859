"""Group commit runs a batch of prepared reports' inserts ahead of their units (one round trip on
PostgreSQL, reports.insert_ahead): each caller gets the answer it would get one by one."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from support.api_data import create, event, ok_json, program, report, twenty_reports_two_bad
from support.harness import REGISTRY, Api, Vtn

from shared.enums import ROLE_SCOPES, Operation, Role
from shared.errors import BadRequest, Conflict
from shared.models import Program
from vtn.core.core import Core
from vtn.core.ids import key_scope
from vtn.core.state import STATE
from vtn.principal import Principal
from vtn.services.reports import prepare_report_body
from vtn.storage import group_commit

Ahead = list[tuple[int, bool | None]]


@pytest.fixture
def ahead(monkeypatch: pytest.MonkeyPatch) -> Ahead:
    """(inserts, ran ahead: None if they failed) per call of reports.insert_ahead."""
    calls: Ahead = []
    real = group_commit.insert_ahead

    async def spy(*args: Any) -> bool:
        calls.append((len(args[3]), None))
        ran = await real(*args)
        calls[-1] = (len(args[3]), ran)
        return ran

    monkeypatch.setattr(group_commit, "insert_ahead", spy)
    return calls


def _core(vtn: Vtn) -> Core:
    return vtn.client.server.app[STATE].core


async def _write_all(core: Core, ven: Api, bodies: list[dict[str, Any]], *also: Any) -> list[Any]:
    """The reports written at once (with the writes `also`), as POST /reports writes them: one
    group-commit batch (the VEN's permission is cached by a first report, so every write queues
    before the batch starts). Each write's result or exception."""
    who = Principal(ven.client_id, Role.VEN, ROLE_SCOPES[Role.VEN])

    def prepared(body: dict[str, Any]) -> Any:
        raw = json.dumps(body).encode()
        return prepare_report_body(REGISTRY, raw, core.new_id(), core.clock(), who.client_id, key_scope(who))

    await core.write_prepared_report(who, prepared(bodies[0] | {"id": "warm-up"}))
    batch = [prepared(b) for b in bodies]
    writes = [*(core.write_prepared_report(who, p) for p in batch), *(make() for make in also)]
    return await asyncio.gather(*writes, return_exceptions=True)


async def test_a_batch_of_reports_runs_its_inserts_ahead(vtn: Vtn, bl: Api, ven_a: Api, ahead: Ahead) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    e1 = await create(bl, "/events", event(p1["id"]))
    e2 = await create(bl, "/events", event(p2["id"]))
    bodies = [report(e1["id"] if i % 2 else e2["id"], id=f"r-{i}") for i in range(20)]
    results = await _write_all(_core(vtn), ven_a, bodies)
    # Each write answers the programID of its report's event.
    assert results == [p1["id"] if i % 2 else p2["id"] for i in range(20)]
    assert (20, vtn.store.engine.dialect.name == "postgresql") in ahead
    assert await vtn.count("reports") == 21
    # The programID each insert resolved is the one its event names.
    in_p1 = await ok_json(await ven_a.get(f"/reports?programID={p1['id']}&limit=50"))
    assert sorted(r["eventID"] for r in in_p1) == [e1["id"]] * 10


async def test_a_failing_report_fails_alone(vtn: Vtn, bl: Api, ven_a: Api, ahead: Ahead) -> None:
    _, bodies = await twenty_reports_two_bad(bl)
    results = await _write_all(_core(vtn), ven_a, bodies)
    assert isinstance(results[5], BadRequest)  # an event the VEN cannot see
    assert isinstance(results[9], Conflict)  # another report's id
    others = [r for i, r in enumerate(results) if i not in (5, 9)]
    assert len(others) == 18 and all(isinstance(r, str) for r in others)  # their programIDs
    assert await vtn.count("reports") == 19
    # On PostgreSQL the inserts ran ahead and one failed (the duplicate): the batch ran again, one by one.
    assert (20, None if vtn.store.engine.dialect.name == "postgresql" else False) in ahead


async def test_a_batch_with_another_write_runs_each_in_turn(
    vtn: Vtn, bl: Api, ven_a: Api, ahead: Ahead
) -> None:
    p = await create(bl, "/programs", program("p"))
    e = await create(bl, "/events", event(p["id"]))
    core = _core(vtn)
    admin = Principal(bl.client_id, Role.BL, ROLE_SCOPES[Role.BL])

    async def new_program(tx: Any) -> Program:
        made = Program.model_validate({**tx.programs.stamp(None), "program_name": "beside"})
        await tx.programs.insert(made)
        return made

    results = await _write_all(
        core,
        ven_a,
        [report(e["id"], id=f"m-{i}") for i in range(5)],
        lambda: core.write(admin, Operation.CREATE, new_program),
    )
    assert results[:5] == [p["id"]] * 5 and isinstance(results[5], Program)
    assert not [call for call in ahead if call[0] > 1]  # the batch held a program: no insert ran ahead
    assert await vtn.count("reports") == 6
    assert await vtn.count("programs") == 2
