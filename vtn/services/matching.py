"""Who may hear of a change: the privacy and targeting rules applied to one subscription (pure).

The same rules as for reads (vtn/core/visibility.py), with the subscription standing in for the request:
its clientID finds the VEN's grants and its `targets` play the role of the `targets` query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from shared.enums import ObjectType
from vtn.core.visibility import access_of

PROGRAM_BOUND = (ObjectType.PROGRAM, ObjectType.EVENT)


class Audience(NamedTuple):
    """A subscriber as the matcher sees it (a named tuple: fan-out makes one per subscriber)."""

    client_id: str
    is_bl: bool
    targets: frozenset[str] | None  # the subscription's targets filter
    granted: frozenset[str]  # targets BL granted the subscriber (empty for BL)


@dataclass(frozen=True, slots=True)
class Verdict:
    visible: bool
    # Targets the subscriber is shown (target hiding); None when the object is shown unchanged.
    shown_targets: Sequence[str] | None = None
    hide: bool = False


NOT_VISIBLE = Verdict(False)
VISIBLE = Verdict(True)  # shown unchanged; shared rather than built per subscriber


def judge(kind: ObjectType, owner: str | None, targets: Sequence[str] | None, who: Audience) -> Verdict:
    """May `who` be notified about an object of `kind` owned by `owner` with `targets`?"""
    object_targets = frozenset(targets or ())
    if kind in PROGRAM_BOUND:
        if who.is_bl:
            if who.targets is not None and object_targets and not (object_targets & who.targets):
                return NOT_VISIBLE
            return VISIBLE
        if not object_targets:
            return VISIBLE
        match = object_targets & access_of(who.granted, who.targets)
        if not match:
            return NOT_VISIBLE
        return Verdict(True, sorted(match), hide=True)
    # VEN-private objects: the owner and BL only.
    if not who.is_bl and owner != who.client_id:
        return NOT_VISIBLE
    if who.targets is not None and object_targets and not (object_targets & who.targets):
        return NOT_VISIBLE
    return VISIBLE
