"""Who is calling: the typed result of authentication, passed to services and repositories."""

from __future__ import annotations

from dataclasses import dataclass

from shared.enums import Role, Scope
from shared.models.common import ClientId


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: ClientId
    role: Role
    scopes: frozenset[Scope]
    # SHA-256 of the TLS client certificate the token is bound to (RFC 8705), if any.
    cert_thumbprint: str | None = None
    # A partner's sandbox client (docs/sandbox.md): the visibility rule shows it its sandbox objects.
    sandbox: bool = False

    @property
    def is_bl(self) -> bool:
        return self.role is Role.BL
