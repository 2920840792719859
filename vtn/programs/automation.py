"""Who program automation writes as: the VTN itself, with BL's rights (it publishes events)."""

from __future__ import annotations

from shared.enums import Role
from shared.models.common import ClientId
from vtn.principal import Principal

AUTOMATION = Principal(client_id=ClientId("vtn-automation"), role=Role.BL, scopes=frozenset())
