"""`vtn serve --intake-workers`: reports through a real worker process, and no worker outlives its VTN."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from support.api_data import report
from support.processes import VtnProcess, add_clients_here, lab_env

from shared.enums import Role
from shared.models import EventRequest, ProgramRequest, ReportRequest
from ven.client import VtnClient
from vtn.core.ids import assigned_id


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as fh:
            found += [int(c) for c in fh.read().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""  # gone


async def _gone(pid: int, timeout: float = 10) -> bool:
    for _ in range(int(timeout / 0.05)):
        state = ""
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, not yet reaped by its (dead) parent's reaper
            return True
        await asyncio.sleep(0.05)
    return False


async def test_reports_through_a_worker_process_and_no_orphans(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'vtn.db'}"
    vtn = VtnProcess(db, tmp_path / "vtn.log", lab_env(VTN_INTAKE_WORKERS="1"))
    try:
        vtn.start()
        await vtn.ready()
        assert vtn.proc is not None
        workers = [c for c in _children(vtn.proc.pid) if "vtn.intake.worker" in _cmdline(c)]
        assert len(workers) == 1
        (bl_creds,) = await add_clients_here(db, Role.BL, ["bl"])
        (ven_creds,) = await add_clients_here(db, Role.VEN, ["ven"])
        async with VtnClient(
            vtn.base, client_id=bl_creds["client_id"], client_secret=bl_creds["client_secret"]
        ) as bl:
            program = await bl.create_program(ProgramRequest(program_name="p"))
            event = await bl.create_event(EventRequest(program_id=program.id, event_name="e"))
        async with VtnClient(
            vtn.base, client_id=ven_creds["client_id"], client_secret=ven_creds["client_secret"]
        ) as ven:
            made = await asyncio.gather(
                *(
                    ven.create_report(ReportRequest.model_validate(report(event.id, id=f"r{i}")))
                    for i in range(30)
                )
            )
            # The worker assigns a VEN's report id from its key as the serving process would.
            keys = (f"r{i}" for i in range(30))
            assert sorted(r.id for r in made) == sorted(assigned_id(ven_creds["client_id"], k) for k in keys)
            assert {r.client_id for r in made} == {ven_creds["client_id"]}
        vtn.kill()  # SIGKILL: the worker sees its pipe close and exits on its own
        assert await _gone(workers[0])
    finally:
        vtn.kill()
