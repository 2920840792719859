"""The endpoint sweep's setup and bookkeeping outside the measured runs (bench/sweep.py): its own BL
client, what a POST step created, the preflight of a step, per-thread CPU for --profile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from bench import sweep_20b as b20
from bench.common import http_json
from bench.load import Request
from bench.sweep_plan import Obj, Step
from shared.enums import Role
from vtn.storage import open_store
from vtn.storage import tables as t

EXPECTED = {"list": 200, "get": 200, "create": 201, "update": 200, "delete": 200, "token": 200}
TABLES = {
    "programs": t.programs,
    "events": t.events,
    "reports": t.reports,
    "subscriptions": t.subscriptions,
    "vens": t.vens,
    "resources": t.resources,
}


def add_bl_client(url: str) -> tuple[str, str]:
    """A BL client whose secret the sweep knows (the seed's is never shown)."""

    async def run() -> tuple[str, str]:
        store = open_store(url)
        try:
            async with store.transaction() as tx:
                new = await tx.clients.add("sweep-bl", Role.BL, client_id="bl-sweep")
                return new.record.client_id, new.secret
        finally:
            await store.close()

    return asyncio.run(run())


def created(url: str, collection: str, since_us: int, until_us: int) -> list[Obj]:
    """The objects written to `collection` in a time window (the POST step that ran then)."""
    table = TABLES[collection]
    cols = [table.c.id, table.c.client_id if "client_id" in table.c else None]
    cols.append(table.c.ven_id if "ven_id" in table.c else None)

    async def run() -> list[Obj]:
        store = open_store(url)
        try:
            async with store.read() as tx:
                query = select(*[c for c in cols if c is not None]).where(
                    table.c.created_us >= since_us, table.c.created_us <= until_us
                )
                rows = (await tx.conn.execute(query.order_by(table.c.created_us))).all()
        finally:
            await store.close()
        out: list[Obj] = []
        for row in rows:
            values = list(row)
            client = values.pop(1) if cols[1] is not None else None
            ven = values.pop(1) if cols[2] is not None else None
            out.append((str(values[0]), client, ven))
        return out

    return asyncio.run(run())


def post_xml(url: str, body: str) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=body.encode(), method="POST", headers={"Content-Type": "application/xml"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the main thread of `pid` (the event loop) and of its other threads
    (SQLite connections, executors), from Linux /proc."""
    out = {"loop": 0.0, "threads": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        key = "loop" if task.name == str(pid) else "threads"
        out[key] += (int(fields[11]) + int(fields[12])) / tick
    return out


def preflight(port: int, step: Step, req: Request) -> None:
    """The step's first request must get the expected answer before anything is measured."""
    method, path, token, body = req
    url = f"http://127.0.0.1:{port}{path}"
    if step.kind == "20b":
        status, answer = post_xml(url, body)
        if status != 200 or b20.EXPECT not in answer:
            raise RuntimeError(f"preflight: HTTP {status}, not {b20.EXPECT!r}: {answer[:300]}")
        return
    status, doc = http_json(method, url, token or None, json.loads(body) if body else None)
    want = EXPECTED[step.kind]
    if status != want:
        raise RuntimeError(f"preflight: HTTP {status} (expected {want}): {str(doc)[:300]}")
    if step.kind == "list" and not doc:
        raise RuntimeError("preflight: empty list (the step would measure nothing)")


@contextlib.contextmanager
def timed(into: dict[str, float], what: str) -> Iterator[None]:
    """Seconds spent in the block, as `into[what]`."""
    t0 = time.monotonic()
    try:
        yield
    finally:
        into[what] = time.monotonic() - t0


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
