"""TokenService: our HS256 fast path accepts exactly what PyJWT would, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from shared.enums import Role, Scope
from shared.errors import Unauthorized
from vtn.auth.tokens import ISSUER, TokenService

KEY = b"k" * 32
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def service() -> TokenService:
    return TokenService(KEY, ttl_seconds=600, clock=lambda: NOW)


def test_own_token_round_trip() -> None:
    tokens = service()
    who = tokens.verify(tokens.issue("ven-1", Role.VEN).access_token)
    assert who.client_id == "ven-1" and who.role is Role.VEN and Scope.READ_TARGETS in who.scopes


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.split(".")[0] + "." + t.split(".")[1] + "x." + t.split(".")[2],  # payload changed
        lambda t: jwt.encode({"sub": "x", "iss": ISSUER, "exp": 2**40}, b"other" * 8, algorithm="HS256"),
        lambda t: jwt.encode({"sub": "x", "iss": "someone-else", "exp": 2**40}, KEY, algorithm="HS256"),
        lambda t: jwt.encode({"sub": "x", "iss": ISSUER, "exp": 1}, KEY, algorithm="HS256"),  # expired
        lambda t: jwt.encode({"sub": "x", "iss": ISSUER, "exp": 2**40}, KEY, algorithm="HS512"),
        lambda t: "not.a.token",
        lambda t: "",
    ],
)
def test_tampered_foreign_expired_or_malformed_tokens_are_refused(mangle: object) -> None:
    tokens = service()
    good = tokens.issue("ven-1", Role.VEN).access_token
    with pytest.raises(Unauthorized):
        tokens.verify(mangle(good))  # type: ignore[operator]
