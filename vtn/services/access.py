"""Object privacy and targeting, as the OpenADR 3.1 Definition states them ("Object Privacy").

- BL sees and writes everything.
- A VEN sees only the ven, resource, report and subscription objects stamped with its clientID.
- Programs and events with targets are visible to a VEN only through targets it both asks for
  (`targets` query) and was granted by BL on its ven and resource objects; untargeted ones are
  visible to every VEN (the spec is silent; the reference VTN and openleadr-rs do the same).
- Target hiding: a VEN is shown only the targets of a program or event that it asked for and holds.
"""

from __future__ import annotations

from typing import TypeVar

from shared.errors import BadRequest
from shared.models import Event, Program
from vtn.principal import Principal
from vtn.storage import Tx

P = TypeVar("P", Program, Event)


def owner(who: Principal) -> str | None:
    """The clientID a query must be restricted to; None for BL."""
    return None if who.is_bl else who.client_id


async def target_access(
    tx: Tx, who: Principal, requested: frozenset[str] | None, granted: frozenset[str] | None = None
) -> frozenset[str] | None:
    """The targets a VEN may match on (requested AND granted); None for BL (no restriction).

    Without a `targets` query the VEN's whole grant is used, so that `GET /events` by a VEN whose
    ven object BL targeted just works; with one, only the requested subset of the grant applies.
    """
    if who.is_bl:
        return None
    if granted is None:  # not known from the read cache
        granted = await tx.vens.granted_targets(who.client_id)
    return granted if requested is None else granted & requested


def hide_targets(obj: P, who: Principal, access: frozenset[str] | None) -> P:
    """Strip the targets a VEN was not granted (and did not ask for) from a program or event."""
    if access is None or not obj.targets:
        return obj
    shown = [t for t in obj.targets if t in access]
    return obj.model_copy(update={"targets": shown or None})


def forbid_bl_only(who: Principal, what: str) -> None:
    if not who.is_bl:
        raise BadRequest(f"{what} may be written by BL only")
