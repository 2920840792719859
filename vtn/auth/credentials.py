"""OAuth client credentials as the token endpoints (3.1 and 3.0.1) receive them.

RFC 6749 section 2.3.1: a client may authenticate with HTTP Basic (client_secret_basic), both parts
form-urlencoded before the Basic encoding; `verify_secret` checks a secret against its stored hash.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from vtn.storage.clients import verify_secret

__all__ = ["basic_credentials", "verify_secret"]


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client_id, secret) from an `Authorization: Basic ...` header value; None if it holds none."""
    if not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None
