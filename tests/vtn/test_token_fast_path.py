"""TokenService's HS256 shortcut against the library path (PyJWT, `fast_hs256=False`): same verdicts.

Each token is checked by a fresh service of each kind (no verified-token cache in between); both
must accept it as the same principal with the same expiry, or both refuse it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import jwt

from shared.enums import Role
from shared.errors import Unauthorized
from vtn.auth.tokens import ISSUER, TokenService
from vtn.principal import Principal

KEY = b"k" * 32
NOW = datetime(2030, 1, 1, tzinfo=UTC)
T = int(NOW.timestamp())


def verdict(token: str, *, fast: bool) -> tuple[Principal, int] | str:
    service = TokenService(KEY, ttl_seconds=600, clock=lambda: NOW, fast_hs256=fast)
    try:
        principal = service.verify(token)
    except Unauthorized:
        return "refused"
    return principal, service._verified[next(iter(service._verified))][0]


def signed(claims: dict[str, Any], key: bytes = KEY, **headers: Any) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or None)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER, "sub": "ven-1", "role": "ven", "scope": "read_targets write_reports",
        "iat": T, "exp": T + 600, "jti": "ab",
    }  # fmt: skip
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def corpus() -> list[str]:
    issuer = TokenService(KEY, ttl_seconds=600, clock=lambda: NOW)
    own = [
        issuer.issue("ven-1", Role.VEN).access_token,
        issuer.issue("bl-1", Role.BL, requested="read_all").access_token,
        issuer.issue("ven-2", Role.VEN, cert_thumbprint="abc").access_token,
    ]
    crafted = [
        signed(claims()),
        signed(claims(exp=T)),  # expires now
        signed(claims(exp=T + 0.5)),
        signed(claims(exp="2040")),
        signed(claims(exp=None)),
        signed(claims(iss="someone-else")),
        signed(claims(iss=None)),
        signed(claims(sub="")),
        signed(claims(sub=None)),
        signed(claims(sub=5)),
        signed(claims(role="admin", scope="write_programs")),
        signed(claims(scope=["read_all", "bogus"])),
        signed(claims(nbf=T + 60)),  # not yet valid: PyJWT refuses, so must the shortcut
        signed(claims(nbf=T - 60)),
        signed(claims(aud="someone")),
        signed(claims(cnf={"x5t#S256": "t"})),
        signed(claims(), key=b"other" * 8),
        signed(claims(), kid="1"),  # another header: not the shortcut's
        jwt.encode(claims(), KEY, algorithm="HS512"),
        "not.a.token",
        "",
        "a.b",
        "..",
    ]
    rng = random.Random(13)
    mutated = []
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "
    for token in own + crafted[:3]:
        for _ in range(40):
            chars = list(token)
            at = rng.randrange(len(chars))
            if rng.random() < 0.5:
                chars[at] = rng.choice(alphabet)
            else:
                del chars[at]
            mutated.append("".join(chars))
    return own + crafted + mutated


def test_shortcut_and_pyjwt_agree_on_every_token() -> None:
    tokens = corpus()
    accepted = 0
    for token in tokens:
        fast, library = verdict(token, fast=True), verdict(token, fast=False)
        assert fast == library, token
        accepted += fast != "refused"
    assert accepted >= 10 and len(tokens) - accepted >= 100


def test_the_shortcut_is_taken_for_our_tokens_only() -> None:
    service = TokenService(KEY, ttl_seconds=600, clock=lambda: NOW)
    token = service.issue("ven-1", Role.VEN).access_token
    assert service._verify_own(token, T) is not None
    assert service._verify_own(signed(claims(), kid="1"), T) is None
    assert service._verify_own(signed(claims(nbf=T - 60)), T) is None
