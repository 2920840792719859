"""Console operators and their sessions (tables `operators`, `operator_sessions`).

An operator is a person with a password (scrypt hash, vtn/auth/passwords.py) and a role. Failed
logins are counted per operator; at the limit the account is locked for a while. A session is a
random token in an HttpOnly cookie; only its SHA-256 is stored, with the session's CSRF token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import OperatorRole
from shared.errors import Conflict
from vtn.storage.tables import operator_sessions, operators


@dataclass(frozen=True, slots=True)
class OperatorRecord:
    name: str
    role: OperatorRole
    password_hash: str
    failed_logins: int
    locked_until_us: int | None
    created_us: int


@dataclass(frozen=True, slots=True)
class SessionRecord:
    operator: OperatorRecord
    csrf_token: str
    expires_us: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class OperatorRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, name: str, role: OperatorRole, password_hash: str, now_us: int) -> OperatorRecord:
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    insert(operators).values(
                        name=name, role=role.value, password_hash=password_hash, created_us=now_us
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"an operator named {name!r} already exists") from exc
        return OperatorRecord(name, role, password_hash, 0, None, now_us)

    async def get(self, name: str) -> OperatorRecord | None:
        row = (await self.conn.execute(select(operators).where(operators.c.name == name))).first()
        return None if row is None else _operator(row._mapping)

    async def list(self) -> list[OperatorRecord]:
        rows = (await self.conn.execute(select(operators).order_by(operators.c.name))).all()
        return [_operator(r._mapping) for r in rows]

    async def set_password(self, name: str, password_hash: str) -> bool:
        result = await self.conn.execute(
            update(operators)
            .where(operators.c.name == name)
            .values(password_hash=password_hash, failed_logins=0, locked_until_us=None)
        )
        return bool(result.rowcount)

    async def remove(self, name: str) -> bool:
        await self.conn.execute(delete(operator_sessions).where(operator_sessions.c.operator_name == name))
        result = await self.conn.execute(delete(operators).where(operators.c.name == name))
        return bool(result.rowcount)

    async def login_failed(self, name: str, limit: int, lock_until_us: int) -> bool:
        """Count a failed login; at `limit` consecutive failures lock the account. True if now locked."""
        await self.conn.execute(
            update(operators)
            .where(operators.c.name == name)
            .values(failed_logins=operators.c.failed_logins + 1)
        )
        row = (
            await self.conn.execute(select(operators.c.failed_logins).where(operators.c.name == name))
        ).first()
        if row is None or int(row[0]) < limit:
            return False
        await self.conn.execute(
            update(operators)
            .where(operators.c.name == name)
            .values(failed_logins=0, locked_until_us=lock_until_us)
        )
        return True

    async def login_succeeded(self, name: str) -> None:
        await self.conn.execute(
            update(operators).where(operators.c.name == name).values(failed_logins=0, locked_until_us=None)
        )

    # -- sessions ------------------------------------------------------------------------------

    async def open_session(
        self, token: str, name: str, csrf_token: str, now_us: int, expires_us: int
    ) -> None:
        await self.conn.execute(delete(operator_sessions).where(operator_sessions.c.expires_us < now_us))
        await self.conn.execute(
            insert(operator_sessions).values(
                token_hash=token_hash(token),
                operator_name=name,
                csrf_token=csrf_token,
                created_us=now_us,
                expires_us=expires_us,
            )
        )

    async def session(self, token: str, now_us: int) -> SessionRecord | None:
        query = (
            select(operators, operator_sessions.c.csrf_token, operator_sessions.c.expires_us)
            .join(operator_sessions, operator_sessions.c.operator_name == operators.c.name)
            .where(
                operator_sessions.c.token_hash == token_hash(token), operator_sessions.c.expires_us > now_us
            )
        )
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return SessionRecord(_operator(m), str(m["csrf_token"]), int(m["expires_us"]))

    async def close_session(self, token: str) -> None:
        await self.conn.execute(
            delete(operator_sessions).where(operator_sessions.c.token_hash == token_hash(token))
        )


def _operator(m: RowMapping) -> OperatorRecord:
    get = m.__getitem__
    locked = get("locked_until_us")
    return OperatorRecord(
        name=str(get("name")),
        role=OperatorRole(get("role")),
        password_hash=str(get("password_hash")),
        failed_logins=int(get("failed_logins")),
        locked_until_us=None if locked is None else int(locked),
        created_us=int(get("created_us")),
    )
