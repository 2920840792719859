"""OAuth2 clients (BL and VEN credentials) and the VTN's own token signing key.

Client secrets are random 256-bit strings made by the VTN, so a salted PBKDF2 hash with a modest
iteration count is enough: there is no low-entropy password to stretch, and token requests stay fast.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import Role
from shared.errors import Conflict
from vtn.storage import _rows, versions
from vtn.storage.audit import OPERATOR, AuditEntry, AuditRepo
from vtn.storage.tables import clients, settings

_ITERATIONS = 20_000
SIGNING_KEY = "jwt_hs256_key"


def new_secret() -> str:
    """A new client secret: 32 random bytes, URL-safe base64.

    Why not token_urlsafe alone: one secret in 64 would start with "-", which a command line
    (`ven check --client-secret ...`, curl's `-u`) reads as an option.
    """
    while (secret := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return secret


def hash_secret(secret: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    client_id: str
    name: str
    role: Role
    secret_hash: str
    cert_fingerprint: str | None
    created: datetime
    # A partner's sandbox client: sees its own sandbox program and events besides the real ones.
    sandbox: bool = False
    # After `vtn clients rotate`: the replaced secret's hash, accepted until `previous_until`.
    previous_secret_hash: str | None = None
    previous_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewClient:
    record: ClientRecord
    secret: str  # shown once, never stored


# Built once: read by every 2.0b request admitted without a certificate (check_owner).
_BY_ID = select(clients).where(clients.c.client_id == bindparam("client_id", type_=clients.c.client_id.type))


class ClientRepo:
    def __init__(self, conn: AsyncConnection, clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.clock = clock

    async def add(
        self,
        name: str,
        role: Role,
        *,
        client_id: str | None = None,
        cert_fingerprint: str | None = None,
        sandbox: bool = False,
        actor: str = OPERATOR,
        address: str | None = None,
    ) -> NewClient:
        """A new client and its secret; the audit row names `actor` (the CLI: plain "operator")."""
        secret = new_secret()
        record = ClientRecord(
            client_id=client_id or f"{role.value}-{secrets.token_hex(8)}",
            name=name,
            role=role,
            secret_hash=hash_secret(secret),
            cert_fingerprint=cert_fingerprint.lower().replace(":", "") if cert_fingerprint else None,
            created=self.clock(),
            sandbox=sandbox,
        )
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    insert(clients).values(
                        client_id=record.client_id,
                        name=record.name,
                        role=record.role.value,
                        secret_hash=record.secret_hash,
                        cert_fingerprint=record.cert_fingerprint,
                        created_us=_rows.to_us(record.created),
                        sandbox=record.sandbox,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(
                f"a client named {name!r} (or with this id or fingerprint) already exists"
            ) from exc
        await self._changed(
            "client_add", record.client_id, f"name={name} role={role.value}", actor=actor, address=address
        )
        return NewClient(record, secret)

    async def rotate(self, id_or_name: str, grace_until: datetime) -> NewClient | None:
        """A new secret for a client; the current one keeps working until `grace_until`."""
        found = await self.get(id_or_name) or await self._by_name(id_or_name)
        if found is None:
            return None
        secret = new_secret()
        new_hash = hash_secret(secret)
        until_us = _rows.to_us(grace_until)
        await self.conn.execute(
            update(clients)
            .where(clients.c.client_id == found.client_id)
            .values(secret_hash=new_hash, previous_secret_hash=found.secret_hash, previous_until_us=until_us)
        )
        await self._changed("client_rotate", found.client_id, f"old secret valid until {grace_until:%FT%TZ}")
        record = dataclasses.replace(
            found, secret_hash=new_hash, previous_secret_hash=found.secret_hash, previous_until=grace_until
        )
        return NewClient(record, secret)

    async def live_ids(self) -> set[str]:
        """Every client id that exists (tokens of any other client are refused)."""
        return {str(r[0]) for r in (await self.conn.execute(select(clients.c.client_id))).all()}

    async def _by_name(self, name: str) -> ClientRecord | None:
        row = (await self.conn.execute(select(clients).where(clients.c.name == name))).first()
        return None if row is None else _record(row)

    async def _changed(
        self,
        action: str,
        client_id: str,
        detail: str | None = None,
        *,
        actor: str = OPERATOR,
        address: str | None = None,
    ) -> None:
        """Every process drops its view of the clients (revocation), and the operator's change is audited."""
        await versions.bump(self.conn, versions.CLIENTS)
        entry = AuditEntry(
            actor=actor,
            role=OPERATOR,
            action=action,
            object_type="CLIENT",
            object_id=client_id,
            address=address,
            detail=detail,
        )
        await AuditRepo(self.conn, self.clock).add(entry)

    async def get(self, client_id: str) -> ClientRecord | None:
        row = (await self.conn.execute(_BY_ID, {"client_id": client_id})).first()
        return None if row is None else _record(row)

    async def by_fingerprint(self, fingerprint: str) -> ClientRecord | None:
        key = fingerprint.lower().replace(":", "")
        row = (await self.conn.execute(select(clients).where(clients.c.cert_fingerprint == key))).first()
        return None if row is None else _record(row)

    async def list(self) -> list[ClientRecord]:
        rows = (
            await self.conn.execute(select(clients).order_by(clients.c.created_us, clients.c.client_id))
        ).all()
        return [_record(r) for r in rows]

    async def remove(self, id_or_name: str, *, actor: str = OPERATOR, address: str | None = None) -> bool:
        found = await self.get(id_or_name) or await self._by_name(id_or_name)
        result = await self.conn.execute(
            delete(clients).where(or_(clients.c.client_id == id_or_name, clients.c.name == id_or_name))
        )
        if not result.rowcount:
            return False
        await self._changed(
            "client_remove", found.client_id if found else id_or_name, actor=actor, address=address
        )
        return True

    async def signing_key(self) -> bytes:
        """The HS256 key for our own tokens, made once per database so every VTN process shares it."""
        row = (await self.conn.execute(select(settings.c.value).where(settings.c.key == SIGNING_KEY))).first()
        if row is not None:
            return bytes(row[0])
        key = secrets.token_bytes(32)
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(insert(settings).values(key=SIGNING_KEY, value=key))
        except IntegrityError:
            # Another process made it first: use theirs.
            row = (
                await self.conn.execute(select(settings.c.value).where(settings.c.key == SIGNING_KEY))
            ).one()
            return bytes(row[0])
        return key


def _record(row: object) -> ClientRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return ClientRecord(
        client_id=m["client_id"],
        name=m["name"],
        role=Role(m["role"]),
        secret_hash=m["secret_hash"],
        cert_fingerprint=m["cert_fingerprint"],
        created=_rows.from_us(m["created_us"]),
        sandbox=bool(m["sandbox"]),
        previous_secret_hash=m["previous_secret_hash"],
        previous_until=None if m["previous_until_us"] is None else _rows.from_us(m["previous_until_us"]),
    )
