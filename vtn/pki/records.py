"""Typed records and file helpers shared by the CA and the onboarding store."""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, cast

KeyType = Literal["ec", "rsa"]
CertKind = Literal["server", "client", "other"]
RequestStatus = Literal["pending", "approved", "rejected"]

# Client ids end up in a URI and in log lines: keep them to URI-safe characters.
_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:@+-]{0,127}")
_REQUEST_ID_RE = re.compile(r"[0-9a-f]{32}")


class PkiError(Exception):
    """A PKI operation cannot proceed; the message says what to do about it."""


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """One certificate found under `issued/`."""

    serial: int
    subject_cn: str | None
    client_id: str | None
    not_before: datetime
    not_after: datetime
    revoked: bool
    fingerprint: str
    kind: CertKind

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    def to_json(self) -> dict[str, object]:
        return {
            "serial": self.serial_hex,
            "subject_cn": self.subject_cn,
            "client_id": self.client_id,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "revoked": self.revoked,
            "fingerprint": self.fingerprint,
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class RevocationEntry:
    """One entry of `revoked.json`; `reason` is an RFC 5280 reason name such as `keyCompromise`."""

    serial: int
    revoked_at: datetime
    reason: str

    def to_json(self) -> dict[str, object]:
        # Serials are 159-bit: hex strings survive JSON parsers that use doubles.
        return {
            "serial": format(self.serial, "x"),
            "revoked_at": self.revoked_at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> RevocationEntry:
        return cls(
            serial=int(str(doc["serial"]), 16),
            revoked_at=datetime.fromisoformat(str(doc["revoked_at"])),
            reason=str(doc.get("reason", "unspecified")),
        )


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """A CSR submitted through the API, waiting for (or past) an operator decision."""

    request_id: str
    client_id: str
    status: RequestStatus
    created: datetime
    decided_at: datetime | None = None
    serial: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.request_id,
            "client_id": self.client_id,
            "status": self.status,
            "created": self.created.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "serial": format(self.serial, "x") if self.serial is not None else None,
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> CertificateRequest:
        status = str(doc["status"])
        if status not in ("pending", "approved", "rejected"):
            raise PkiError(f"request {doc.get('id')!r} has an unknown status {status!r}")
        decided = doc.get("decided_at")
        serial = doc.get("serial")
        return cls(
            request_id=str(doc["id"]),
            client_id=str(doc["client_id"]),
            status=cast(RequestStatus, status),
            created=datetime.fromisoformat(str(doc["created"])),
            decided_at=datetime.fromisoformat(str(decided)) if decided else None,
            serial=int(str(serial), 16) if serial else None,
        )


def validate_client_id(client_id: str) -> str:
    """Return `client_id` unchanged, or raise `PkiError` if it is not URI-safe."""
    if not _CLIENT_ID_RE.fullmatch(client_id):
        raise PkiError(
            f"invalid client id {client_id!r}: use 1-128 characters from A-Z a-z 0-9 . _ ~ : @ + - "
            "starting with a letter or digit"
        )
    return client_id


def validate_request_id(request_id: str) -> str:
    """Request ids become file names: accept only the form we generate."""
    if not _REQUEST_ID_RE.fullmatch(request_id):
        raise PkiError(f"invalid request id {request_id!r}: expected 32 lower-case hex digits")
    return request_id


def new_request_id() -> str:
    return secrets.token_hex(16)


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Exclusive advisory lock on `<directory>/.lock`, held across a read-modify-write."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write via a temp file and rename, so readers never see half a file.

    The temp file is created with `mode` already applied, so a private key is never readable
    by others, not even for the moment between create and chmod.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            # The umask may have stripped bits we want (e.g. 0644 for certs); set them exactly.
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
