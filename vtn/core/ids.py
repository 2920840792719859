"""The one rule for ids a client chooses (our extension: `id` in POST /vens, /resources, /reports).

OpenADR 3.1.0 has the VTN assign object ids; we let a client send one so that a retried create is
stored once (the retry is answered 409). Taken verbatim from every client, such ids would share one
namespace: a VEN posting another client's id would get 409 where GET answers 404, an oracle for ids
it may not read (docs/security.md, "Client-chosen ids"). So:

- BL (the trusted operator, which sees every object) gets its chosen id verbatim;
- a VEN's chosen id is a key scoped to that client: the VTN assigns `{key[:102]}-{digest}`, the
  digest a function of (client id, key). The same client retrying the same key meets its own object;
  another client's same key, or a key equal to someone else's assigned id, yields a different id.

The assigned id stays within the objectID pattern (letters, digits, '_', '-') and 128 characters.
Pure: the report intake workers (vtn/intake) run it in their own processes.
"""

from __future__ import annotations

import hashlib

from vtn.principal import Principal

MAX_ID = 128
# 25 hex characters: 100 bits of SHA-256, so no client can aim a key at another's object. (Hex, not
# base32: hexdigest costs about 1.5 us a create where base64.b32encode took about 15.)
DIGEST_CHARS = 25
_KEPT = MAX_ID - DIGEST_CHARS - 1


def key_scope(who: Principal) -> str | None:
    """Whose namespace `who`'s chosen ids live in: None (verbatim) for BL, its clientID otherwise."""
    return None if who.is_bl else who.client_id


def assigned_id(scope: str | None, chosen: str | None) -> str | None:
    """The object id for a create that chose `chosen` (None: the VTN makes one up as for no id)."""
    if not chosen or scope is None:
        return chosen or None
    digest = hashlib.sha256(f"{scope}\0{chosen}".encode()).hexdigest()
    return f"{chosen[:_KEPT]}-{digest[:DIGEST_CHARS]}"


def object_id(who: Principal, chosen: str | None) -> str | None:
    """assigned_id for the caller `who`."""
    return assigned_id(key_scope(who), chosen)
