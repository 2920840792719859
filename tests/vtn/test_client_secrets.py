"""Client secrets are usable on a command line as given."""

from __future__ import annotations

import pytest

from vtn.storage import clients


def test_a_secret_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # A secret starting with "-" is read as an option by `ven check --client-secret`.
    drawn = iter(["-starts-with-dash", "_fine-secret"])
    monkeypatch.setattr(clients.secrets, "token_urlsafe", lambda n: next(drawn))
    assert clients.new_secret() == "_fine-secret"


def test_secrets_are_long_and_random() -> None:
    made = {clients.new_secret() for _ in range(200)}
    assert len(made) == 200
    assert all(len(s) == 43 and not s.startswith("-") for s in made)
