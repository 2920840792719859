"""The names of the store's change stamps, for front-ends that keep caches of their own."""

from __future__ import annotations

from vtn.storage.versions import CLIENTS, GRANTS, OADR20B, OBJECTS

__all__ = ["CLIENTS", "GRANTS", "OADR20B", "OBJECTS"]
