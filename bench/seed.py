"""Seed a VTN database directly through its storage layer, and mint the VENs' tokens.

Creating 100,000 VENs and 1,000,000 resources through the HTTP API would take longer than the
benchmark itself, so the data is written with the VTN's own code instead:

- programs and events go through the services (`vtn.services.programs.create_program/create_event`)
  and their repositories, exactly as POST /programs and POST /events store them;
- vens, resources, subscriptions and their target rows are bulk-inserted into the tables of
  `vtn/storage/tables.py`, each row built from the shared pydantic model with the repository's own
  `stamp()`, `columns()` and `oadr3_json.wire_json()`/`to_us()`, so that every column is what the API
  would have written (the bulk path only batches the INSERTs);
- one `clients` row per VEN (all with the same PBKDF2 hash of one bench secret: hashing 100,000
  distinct secrets would take minutes and the poll path never reads the hash);
- access tokens are minted with the VTN's `TokenService` and the signing key from
  `tx.clients.signing_key()` of the same database, as POST /auth/token would issue them, instead
  of 100,000 calls to /auth/token.

Layout: every VEN is in one of 100 groups (its ven object carries target `group-NN`). Of the 20
events, 10 are untargeted and 10 are each targeted at 10 groups, so every VEN sees 11 events at
every scale and the response size does not change with the number of VENs.
Seeded SQLite files are cached in bench/.data/ under a key that covers the seed parameters and
the storage code, so a second run reuses them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, text

from bench.common import DATA, ROOT
from bench.seed_databases import clean as clean  # re-exported: the scenarios import it from here
from bench.seed_databases import pg_db_url, pg_name, recreate_pg
from bench.seed_databases import working_copy as working_copy  # re-exported, as clean
from shared.durations import to_us, utcnow
from shared.enums import Role
from shared.models import EventRequest, ProgramRequest, Resource, Subscription, Ven
from shared.wire import oadr3_json
from vtn.auth.tokens import TokenService
from vtn.services import programs as program_svc
from vtn.services.notifier import notification_ids
from vtn.storage import migrate, open_store
from vtn.storage.clients import hash_secret
from vtn.storage.engine import is_sqlite
from vtn.storage.tables import clients, object_targets, resources, subscriptions, vens

GROUPS = 100
EVENTS = 20
CHUNK = 20_000
BENCH_SECRET = "bench-shared-secret"  # noqa: S105 - a benchmark credential, documented above
EVENT_START = "2030-01-01T00:00:00Z"  # far enough ahead that every event stays active


@dataclass(frozen=True)
class SeedSpec:
    """What to put in the database."""

    name: str
    vens: int
    resources_per_ven: int = 0
    events: int = EVENTS
    intervals: int = 4  # hourly intervals per event


@dataclass
class Manifest:
    """What was seeded, for building requests: ids, names and groups of the VENs, and the events."""

    url: str
    spec: dict[str, Any]
    key: str
    client_ids: list[str]
    ven_ids: list[str]
    ven_names: list[str]
    program_id: str
    untargeted_event_ids: list[str]
    targeted_event_ids: list[str]
    resource_ids_sample: list[str]
    bl_client_id: str

    def group(self, i: int) -> str:
        return group_of(i)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text()))


def group_of(i: int) -> str:
    return f"group-{i % GROUPS:02d}"


_UNKEYED = frozenset({"outbox.py", "outbox_sql.py", "contacts.py"})


def code_key(spec: SeedSpec) -> str:
    """Cache key: the seed parameters and every file that decides what the rows look like."""
    h = hashlib.sha256(json.dumps(asdict(spec), sort_keys=True).encode())
    watched = [
        ROOT / "bench" / "seed.py",
        # Not the outbox nor the contacts: their code does not shape the seeded rows.
        *sorted(p for p in (ROOT / "vtn" / "storage").glob("*.py") if p.name not in _UNKEYED),
        *sorted((ROOT / "vtn" / "storage" / "migrations" / "versions").glob("*.py")),
        *sorted((ROOT / "shared" / "models").glob("*.py")),
    ]
    for path in watched:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def event_request(program_id: str, k: int, targets: list[str] | None, intervals: int = 4) -> EventRequest:
    """A price event with `intervals` hourly intervals, as a BL would POST it."""
    doc: dict[str, Any] = {
        "programID": program_id,
        "eventName": f"bench-event-{k:02d}",
        "priority": k % 4,
        "intervalPeriod": {"start": EVENT_START, "duration": "PT1H"},
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "PRICE",
                "units": "KWH",
                "currency": "EUR",
            }
        ],
        "intervals": [
            {"id": j, "payloads": [{"type": "PRICE", "values": [round(0.2 + 0.01 * (j + k), 3)]}]}
            for j in range(intervals)
        ],
    }
    if targets:
        doc["targets"] = targets
    return EventRequest.model_validate(doc)


async def _bulk(conn: Any, table: Any, batch: list[dict[str, Any]]) -> None:
    if batch:
        await conn.execute(insert(table), batch)
        batch.clear()


# Placeholders in the template documents, replaced per row (valid ids, unlike anything real).
_ID, _CLIENT, _NAME, _GROUP, _VEN = "zzIDzz", "zzCLIENTzz", "zzNAMEzz", "zzGROUPzz", "zzVENzz"
_PLACEHOLDERS = (_ID, _CLIENT, _NAME, _GROUP, _VEN)


class _Template:
    """A row of `table` (as DocRepo.insert writes it) for a model whose ids are placeholders."""

    def __init__(self, obj: Any, columns: Any) -> None:
        row = _row(obj, columns(obj))
        self.columns = tuple(row)
        self.created_us = row["created_us"]
        # Each value: a constant, a placeholder (the row's value), or a format string over them.
        self._parts: list[tuple[int, Any]] = []
        for v in row.values():
            if v in _PLACEHOLDERS:
                self._parts.append((1, v))
            elif isinstance(v, str) and any(p in v for p in _PLACEHOLDERS):
                fmt = v.replace("{", "{{").replace("}", "}}")
                for p in _PLACEHOLDERS:
                    fmt = fmt.replace(p, "{" + p + "}")
                self._parts.append((2, fmt))
            else:
                self._parts.append((0, v))

    def row(self, subst: dict[str, str]) -> tuple[Any, ...]:
        return tuple(
            v if kind == 0 else subst[v] if kind == 1 else v.format_map(subst) for kind, v in self._parts
        )


async def _bulk_rows(conn: Any, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """executemany of plain tuples (SQLAlchemy's per-row dict binding would double the seeding)."""
    if not rows:
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    order = compiled.positiontup or ()  # positional paramstyles (sqlite, asyncpg) always have one
    at = [columns.index(name) for name in order]
    for begin in range(0, len(rows), CHUNK):
        await conn.exec_driver_sql(
            compiled.string, [tuple(r[i] for i in at) for r in rows[begin : begin + CHUNK]]
        )


def _fast_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """The seed's connections: durability of the seed does not matter, its speed does (the VTN
    itself runs FULL); a large page cache keeps the random-UUID indexes of 10M rows off the disk."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA cache_size=-2000000")
    cursor.close()


async def _seed(url: str, spec: SeedSpec, key: str) -> Manifest:
    store = open_store(url)
    if is_sqlite(url):
        sa_event.listen(store.engine.sync_engine, "connect", _fast_sqlite)
    secret_hash = hash_secret(BENCH_SECRET)
    client_ids = [f"ven-bench-{i:06d}" for i in range(spec.vens)]
    names = [f"bench-ven-{i:06d}" for i in range(spec.vens)]
    ven_ids: list[str] = []
    sample: list[str] = []
    sample_every = max(1, spec.vens // 5000)
    async with store.transaction() as tx:
        await tx.clients.signing_key()
        bl = await tx.clients.add("bench-bl", Role.BL, client_id="bl-bench")
        program_req = ProgramRequest.model_validate({"programName": "bench-tariff"})
        program = await program_svc.create_program(tx, program_req)
        untargeted: list[str] = []
        targeted: list[str] = []
        for k in range(spec.events):
            groups = None
            if k >= spec.events // 2:
                slot = k - spec.events // 2
                groups = [f"group-{g:02d}" for g in range(GROUPS) if g % (spec.events // 2) == slot]
            req = event_request(program.id, k, groups, spec.intervals)
            event = await program_svc.create_event(tx, req)
            (targeted if groups else untargeted).append(event.id)
    for start in range(0, spec.vens, CHUNK):
        async with store.transaction() as tx:
            stop = min(spec.vens, start + CHUNK)
            # One model per chunk and kind, validated and serialized as the API would; each row's
            # document is that template with its own ids (a million VENs with ten resources each
            # would otherwise spend most of the seeding in pydantic).
            ven_tpl = _Template(
                Ven.model_validate(
                    {**tx.vens.stamp(_ID), "client_id": _CLIENT, "ven_name": _NAME, "targets": [_GROUP]}
                ),
                tx.vens.columns,
            )
            res_tpls = [
                _Template(
                    Resource.model_validate(
                        {
                            **tx.resources.stamp(_ID),
                            "client_id": _CLIENT,
                            "resource_name": f"res-{j:02d}",
                            "ven_id": _VEN,
                        }
                    ),
                    tx.resources.columns,
                )
                for j in range(spec.resources_per_ven)
            ]
            created_us = ven_tpl.created_us
            # Random (version 4) UUIDs as new_id() makes them, a chunk's worth from one urandom read.
            ven_uuids = notification_ids(stop - start)
            res_uuids = notification_ids((stop - start) * spec.resources_per_ven)
            ven_rows, client_rows, target_rows, res_rows = [], [], [], []
            for i in range(start, stop):
                ven_id = ven_uuids[i - start]
                ven_ids.append(ven_id)
                subst = {_ID: ven_id, _CLIENT: client_ids[i], _NAME: names[i], _GROUP: group_of(i)}
                ven_rows.append(ven_tpl.row(subst))
                target_rows.append(("VEN", ven_id, group_of(i)))
                client_rows.append((client_ids[i], names[i], Role.VEN.value, secret_hash, None, created_us))
                for j, tpl in enumerate(res_tpls):
                    res_id = res_uuids[(i - start) * spec.resources_per_ven + j]
                    res_rows.append(tpl.row({_ID: res_id, _CLIENT: client_ids[i], _VEN: ven_id}))
                    if j == 0 and i % sample_every == 0:
                        sample.append(res_id)
            await _bulk_rows(tx.conn, vens, ven_tpl.columns, ven_rows)  # FK: the vens first
            await _bulk_rows(tx.conn, resources, res_tpls[0].columns if res_tpls else (), res_rows)
            await _bulk_rows(tx.conn, object_targets, ("kind", "object_id", "target"), target_rows)
            await _bulk_rows(
                tx.conn,
                clients,
                ("client_id", "name", "role", "secret_hash", "cert_fingerprint", "created_us"),
                client_rows,
            )
        if spec.vens >= 100_000 and (stop // CHUNK) % 10 == 0:
            print(f"  seeded {stop:,} VENs", flush=True)
    if is_sqlite(url):
        async with store.engine.connect() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await conn.execute(text("ANALYZE"))
    else:
        async with store.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    await store.close()
    return Manifest(
        url=url,
        spec=asdict(spec),
        key=key,
        client_ids=client_ids,
        ven_ids=ven_ids,
        ven_names=names,
        program_id=program.id,
        untargeted_event_ids=untargeted,
        targeted_event_ids=targeted,
        resource_ids_sample=sample,
        bl_client_id=bl.record.client_id,
    )


def _row(obj: Any, columns: dict[str, Any]) -> dict[str, Any]:
    """The row DocRepo.insert writes for `obj`."""
    return {
        "id": obj.id,
        "created_us": to_us(obj.created_date_time),
        "modified_us": to_us(obj.modification_date_time),
        "doc": (doc := oadr3_json.wire_json(obj)),
        "canonical": oadr3_json.canonical(doc),
        **columns,
    }


def ensure(spec: SeedSpec, backend: str, pg_base: str, *, log: Any = print) -> Manifest:
    """The seeded database for `spec` (reused when its cache key matches), and its manifest."""
    DATA.mkdir(parents=True, exist_ok=True)
    key = code_key(spec)
    if backend == "sqlite":
        db = DATA / f"{spec.name}-{key}.db"
        url = f"sqlite:///{db}"
    else:
        url = pg_db_url(pg_base, pg_name(spec.name))
    manifest_path = DATA / f"{backend}-{spec.name}.json"
    if manifest_path.exists():
        cached = Manifest.load(manifest_path)
        if cached.key == key and cached.url == url and (backend != "sqlite" or Path(db).exists()):
            return cached
    resources_total = spec.vens * spec.resources_per_ven
    log(f"  seeding {spec.name} on {backend}: {spec.vens} VENs, {resources_total} resources ...")
    if backend == "sqlite":
        for old in DATA.glob(f"{spec.name}-*.db*"):
            old.unlink()
    else:
        recreate_pg(pg_base, pg_name(spec.name))
    migrate.upgrade(url)
    manifest = asyncio.run(_seed(url, spec, key))
    manifest.save(manifest_path)
    return manifest


def mint_tokens(url: str, client_ids: list[str], role: Role = Role.VEN, ttl: int = 86_400) -> list[str]:
    """Access tokens as POST /auth/token would issue them, signed with this database's key."""

    async def key() -> bytes:
        store = open_store(url)
        try:
            async with store.transaction() as tx:
                return await tx.clients.signing_key()
        finally:
            await store.close()

    service = TokenService(asyncio.run(key()), ttl_seconds=ttl, clock=utcnow)
    return [service.issue(cid, role).access_token for cid in client_ids]


def add_subscriptions(url: str, manifest: Manifest, count: int, callback_base: str) -> list[str]:
    """`count` VEN subscriptions to EVENT creates/updates, each with its own callback URL and secret;
    their ids, the i-th that of the i-th VEN."""

    async def run() -> list[str]:
        store = open_store(url)
        ids: list[str] = []
        async with store.transaction() as tx:
            batch: list[dict[str, Any]] = []
            for i in range(count):
                sub = Subscription.model_validate(
                    {
                        **tx.subscriptions.stamp(None),
                        "client_id": manifest.client_ids[i],
                        "client_name": manifest.ven_names[i],
                        "object_operations": [
                            {
                                "objects": ["EVENT"],
                                "operations": ["CREATE", "UPDATE"],
                                "callbackUrl": f"{callback_base}/hook/{i}",
                                "bearerToken": f"sub-token-{i}",
                            }
                        ],
                        "secret": f"bench-hmac-secret-{i:06d}",
                    }
                )
                ids.append(sub.id)
                batch.append(_row(sub, {**tx.subscriptions.columns(sub), "role": Role.VEN.value}))
                if len(batch) >= CHUNK:
                    await _bulk(tx.conn, subscriptions, batch)
            await _bulk(tx.conn, subscriptions, batch)
        await store.close()
        return ids

    return asyncio.run(run())
