"""Operator passwords: scrypt (hashlib, RFC 7914), salted, with its cost parameters in the stored text.

People choose low-entropy passwords, so unlike OAuth client secrets (random 256-bit strings, a fast
PBKDF2 in vtn/storage/clients.py) they need a memory-hard hash. scrypt is in the standard library
(no new dependency, unlike argon2-cffi) and with N=2**15, r=8 it costs 32 MiB and ~50-100 ms per
check, the order OWASP recommends; the parameters travel with each hash so they can be raised later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 10


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM, dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate, _unb64(digest))


def dummy_verify(password: str) -> None:
    """Spend the time of a real check, so an unknown name is not told apart by the answer's speed."""
    verify_password(password, _DUMMY)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_DUMMY = hash_password(secrets.token_urlsafe(16))
