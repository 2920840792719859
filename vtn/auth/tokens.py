"""Access tokens: JWTs we sign (HS256, key shared through the database) or an external issuer signs.

Claims of our tokens: `sub` = client id, `role` = bl|ven, `scope` = space-separated scopes, `iat`,
`exp`, `jti`, `iss`; optionally `cnf.x5t#S256` binding the token to a TLS client certificate (RFC 8705).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from shared.durations import utcnow
from shared.enums import ROLE_SCOPES, Role, Scope
from shared.errors import Unauthorized
from shared.models.common import ClientId
from vtn.config import ExternalIssuer
from vtn.principal import Principal

ISSUER = "energy-coordination-vtn"
# base64url of {"alg":"HS256","typ":"JWT"} exactly as PyJWT writes it for our tokens.
_OWN_HEADER = jwt.encode({}, b"k" * 32, algorithm="HS256").partition(".")[0]
# Characters of a verified token kept to tell it apart (see TokenService._verified): 22 base64url
# characters, 132 bits of its signature; every signature we accept is at least 43 (HS256).
TAIL = 22
MAX_SCOPE_SETS = 256  # distinct scope claims remembered (TokenService._scopes)


class UnknownClient(Unauthorized):
    """A validly signed token of ours names no client we know of (removed, or never existed)."""

    def __init__(self, client_id: str) -> None:
        super().__init__("access token of a client that does not exist (removed?)")
        self.client_id = client_id


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


class TokenService:
    def __init__(
        self,
        signing_key: bytes,
        *,
        ttl_seconds: int,
        clock: Callable[[], datetime],
        external: ExternalIssuer | None = None,
        fast_hs256: bool = True,
    ) -> None:
        self._key = signing_key
        # False: our own tokens are checked by PyJWT too (the library path; see _verify_own).
        self._fast_hs256 = fast_hs256
        self._ttl = ttl_seconds
        self._clock = clock
        # Seconds since the epoch by `clock`: on every request, so the system clock's is read
        # directly when `clock` is it (datetime.now(UTC).timestamp() costs several times more).
        self._seconds: Callable[[], float] = time.time if clock is utcnow else lambda: clock().timestamp()
        self._external = external
        self._external_key = Path(external.public_key_file).read_bytes() if external else None
        # Verified tokens until they expire: a VEN polls with the same token thousands of times,
        # and checking the signature each time costs more than the rest of a cached poll. Not keyed
        # by the token (~400 characters: ~40 MB at 100,000 VENs) but by Python's hash of it, and an
        # entry holds the token's last TAIL characters (132 bits of its signature), compared
        # exactly on every hit. The hash only picks the entry; the tail is what makes it safe with
        # any hash seed: an entry answers only a token showing that token's signature, which only
        # its holders know. A token with the same tail but another header or payload is told apart
        # by the hash (keyed per process); one that matched both could only come from a holder of
        # the remembered token, and would get that token's own principal and expiry. A 128-bit BLAKE2b
        # digest did the same at ~0.5 µs more per request (hashlib object and encoding: ~700 ns
        # against ~220 ns for hash, look-up and comparison, micro-benchmark on the loaded machine).
        self._verified: dict[int, tuple[int, Principal, bool, str]] = {}
        self._max_verified = 200_000
        # Scope sets by the claim's spelling: every VEN token carries the same few, and a frozenset
        # of five scopes is ~230 bytes, the largest part of a remembered token (~23 MB at 100,000
        # VENs when each principal had its own). Bounded: cleared when full.
        self._scope_sets: dict[str, frozenset[Scope]] = {}
        # Whether a client id names a client (vtn/auth/revocation.py), checked on every request for
        # our own tokens, cached or not: a removed client's tokens stop working at once. None: no check.
        self.client_exists: Callable[[str], bool] | None = None

    def issue(
        self,
        client_id: str,
        role: Role,
        requested: str | None = None,
        cert_thumbprint: str | None = None,
        *,
        sandbox: bool = False,
    ) -> IssuedToken:
        """Sign a token for a client; `requested` narrows the role's scopes (unknown ones are dropped)."""
        allowed = ROLE_SCOPES[role]
        if requested:
            wanted = {s for s in requested.split() if s in Scope.__members__.values()}
            scopes = sorted(s.value for s in allowed if s.value in wanted) or sorted(s.value for s in allowed)
        else:
            scopes = sorted(s.value for s in allowed)
        now = int(self._clock().timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": client_id,
            "role": role.value,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + self._ttl,
            "jti": secrets.token_hex(8),
        }
        if cert_thumbprint:
            claims["cnf"] = {"x5t#S256": cert_thumbprint}
        if sandbox:
            claims["sandbox"] = True
        token = jwt.encode(claims, self._key, algorithm="HS256")
        return IssuedToken(token, self._ttl, claims["scope"])

    def verify(self, token: str) -> Principal:
        """Check signature, expiry and shape; raise Unauthorized with a reason otherwise."""
        now = int(self._seconds())
        key = hash(token)
        known = self._verified.get(key)
        if known is not None and known[0] <= now:
            del self._verified[key]
            known = None
        elif known is not None and not token.endswith(known[3]):
            known = None  # another token under the same hash: checked in full (it then takes the entry)
        if known is None:
            principal, exp, own = self._verify(token, now)
            if len(self._verified) >= self._max_verified:
                self._verified.clear()
            known = self._verified[key] = (exp, principal, own, token[-TAIL:])
        principal, own = known[1], known[2]
        if own and self.client_exists is not None and not self.client_exists(principal.client_id):
            raise UnknownClient(principal.client_id)
        return principal

    def _verify(self, token: str, now: int) -> tuple[Principal, int, bool]:
        """The principal, the expiry, and whether we issued the token."""
        own = self._verify_own(token, now) if self._fast_hs256 else None
        if own is not None:
            return own[0], own[1], True
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed access token") from exc
        if header.get("alg") == "HS256":
            claims = self._decode(token, self._key, ["HS256"], ISSUER, None, now)
            return self._principal(claims, "sub", "scope"), int(claims["exp"]), True
        if self._external is None or self._external_key is None:
            raise Unauthorized("access token not signed by this VTN")
        ext = self._external
        claims = self._decode(token, self._external_key, list(ext.algorithms), ext.issuer, ext.audience, now)
        return self._principal(claims, ext.client_id_claim, ext.scope_claim), int(claims["exp"]), False

    def _verify_own(self, token: str, now: int) -> tuple[Principal, int] | None:
        """Fast path for the tokens we sign (HS256, exactly our header): HMAC, expiry, issuer.

        Why: a VTN with 100,000 VENs sees mostly first uses of tokens, and PyJWT's general path
        costs several times this. Anything else (other algorithms, external issuers, odd headers,
        a claim that PyJWT would check and this does not, such as `nbf`) returns None and goes
        through PyJWT. tests/vtn/test_token_fast_path.py compares both paths' verdicts.
        """
        head, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if head != _OWN_HEADER or not payload or not signature:
            return None
        expected = hmac.new(self._key, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        try:
            given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise Unauthorized("malformed access token") from exc
        if not hmac.compare_digest(expected, given):
            raise Unauthorized("invalid access token: signature verification failed")
        if isinstance(claims, dict) and "nbf" in claims:
            return None  # never in our tokens; PyJWT knows how to check it
        if not isinstance(claims, dict) or claims.get("iss") != ISSUER:
            raise Unauthorized("invalid access token: wrong issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise Unauthorized("access token expired")
        return self._principal(claims, "sub", "scope"), int(exp)

    def _decode(
        self,
        token: str,
        key: bytes,
        algorithms: list[str],
        issuer: str | None,
        audience: str | None,
        now: int,
    ) -> dict[str, Any]:
        try:
            # Expiry is checked against our injectable clock, not the wall clock.
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=issuer,
                audience=audience,
                options={"verify_exp": False, "verify_aud": audience is not None, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid access token: {exc}") from exc
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise Unauthorized("access token expired")
        return claims

    def _principal(self, claims: dict[str, Any], id_claim: str, scope_claim: str) -> Principal:
        client_id = claims.get(id_claim)
        if not isinstance(client_id, str) or not client_id:
            raise Unauthorized(f"access token has no {id_claim!r} claim")
        raw_scopes = claims.get(scope_claim, "")
        scopes = self._scopes(raw_scopes) if isinstance(raw_scopes, str) else _scope_set(list(raw_scopes))
        role_claim = claims.get("role")
        if role_claim in (Role.BL.value, Role.VEN.value):
            role = Role(role_claim)
        else:
            # External tokens carry no role: BL is whoever may write programs or read everything.
            role = Role.BL if {Scope.WRITE_PROGRAMS, Scope.READ_ALL} & scopes else Role.VEN
        cnf = claims.get("cnf")
        thumb = cnf.get("x5t#S256") if isinstance(cnf, dict) else None
        # Only our own tokens say so (the claim is ours, set from the clients table at issue).
        sandbox = claims.get("sandbox") is True and claims.get("iss") == ISSUER
        return Principal(
            client_id=ClientId(client_id), role=role, scopes=scopes, cert_thumbprint=thumb, sandbox=sandbox
        )

    def _scopes(self, spelled: str) -> frozenset[Scope]:
        """The scopes of a space-separated claim, one shared set per spelling."""
        known = self._scope_sets
        found = known.get(spelled)
        if found is None:
            if len(known) >= MAX_SCOPE_SETS:
                known.clear()
            found = known[spelled] = _scope_set(spelled.split())
        return found


def _scope_set(names: list[Any]) -> frozenset[Scope]:
    return frozenset(Scope(s) for s in names if s in Scope.__members__.values())
