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


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.split(".")[0] + "." + t.split(".")[1] + "x." + t.split(".")[2],  # payload changed
        lambda t: "x" + t,  # anything before the signature
        # The signature's last character, to one that differs in its data bits: of a 32-byte HMAC's
        # last base64url character only the high four bits are data ("A" and "B" decode alike).
        lambda t: t[:-1] + ("Q" if not t.endswith("Q") else "g"),
    ],
)
def test_a_token_like_a_verified_one_is_checked_in_full(mangle: object) -> None:
    """The verified tokens are remembered by hash and signature tail: a token sharing the tail (or
    nearly all of itself) with a remembered one is not taken for it."""
    tokens = service()
    good = tokens.issue("ven-1", Role.VEN).access_token
    assert tokens.verify(good).client_id == "ven-1"  # remembered now
    with pytest.raises(Unauthorized):
        tokens.verify(mangle(good))  # type: ignore[operator]
    assert tokens.verify(good).client_id == "ven-1"


def test_a_remembered_token_stops_working_when_it_expires_or_its_client_goes() -> None:
    now = [NOW]
    tokens = TokenService(KEY, ttl_seconds=600, clock=lambda: now[0])
    good = tokens.issue("ven-1", Role.VEN).access_token
    assert tokens.verify(good).client_id == "ven-1"
    known = {"ven-1"}
    tokens.client_exists = known.__contains__
    assert tokens.verify(good).client_id == "ven-1"
    known.clear()  # `vtn clients remove`
    with pytest.raises(Unauthorized):
        tokens.verify(good)
    known.add("ven-1")
    now[0] = datetime(2030, 1, 1, 0, 10, 1, tzinfo=UTC)  # past its 600 s
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(good)


def test_principals_with_the_same_scope_claim_share_one_scope_set() -> None:
    """Remembered tokens of 100,000 VENs hold one scope set between them, not one each."""
    tokens = service()
    first = tokens.verify(tokens.issue("ven-1", Role.VEN).access_token)
    second = tokens.verify(tokens.issue("ven-2", Role.VEN).access_token)
    assert first.scopes is second.scopes
    narrow = tokens.verify(tokens.issue("ven-3", Role.VEN, "read_targets").access_token)
    assert narrow.scopes == frozenset({Scope.READ_TARGETS})


def test_the_scope_sets_are_bounded_and_right_after_being_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vtn.auth.tokens.MAX_SCOPE_SETS", 2)
    tokens = service()
    asked = ["read_targets", "write_reports", "read_targets write_vens", "write_vens"]
    for k, scopes in enumerate(asked * 2):
        who = tokens.verify(tokens.issue(f"ven-{k}", Role.VEN, scopes).access_token)
        assert who.scopes == frozenset(Scope(s) for s in scopes.split())
        assert len(tokens._scope_sets) <= 2
