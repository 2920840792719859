"""`vtn operators add|list|remove`: accounts for people, passwords hashed with scrypt, one-line errors."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest

from shared.enums import OperatorRole
from vtn.auth.passwords import hash_password, verify_password
from vtn.cli import main
from vtn.storage import open_store


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "vtn.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def test_add_list_remove_an_operator(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["operators", "add", "ada", "--role", "admin", "--password-stdin", "--db", sqlite_url]) == 0

    async def stored() -> str:
        store = open_store(sqlite_url)
        async with store.read() as tx:
            found = await tx.operators().get("ada")
        await store.close()
        assert found is not None and found.role is OperatorRole.ADMIN
        return found.password_hash

    hashed = asyncio.run(stored())
    assert hashed.startswith("scrypt$32768$8$1$") and "a long passphrase" not in hashed
    assert verify_password("a long passphrase", hashed) and not verify_password("a long passphrasE", hashed)
    assert main(["operators", "list", "--db", sqlite_url]) == 0
    assert "ada\tadmin" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("another passphrase\n"))
    assert main(["operators", "add", "ada", "--role", "viewer", "--password-stdin", "--db", sqlite_url]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["operators", "remove", "ada", "--db", sqlite_url]) == 0
    assert main(["operators", "remove", "ada", "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "vtn operators list" in err


def test_short_passwords_are_refused_in_one_line(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["operators", "add", "bo", "--role", "viewer", "--password-stdin", "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 10 characters" in err


def test_hashes_are_salted_and_carry_their_cost() -> None:
    one, two = hash_password("same password", n=2**12), hash_password("same password", n=2**12)
    assert one != two and one.startswith("scrypt$4096$")
    assert verify_password("same password", one) and verify_password("same password", two)
    assert not verify_password("same password", "pbkdf2$garbage")


def test_every_console_asset_is_declared_package_data() -> None:
    """Templates, CSS, JS and the vendored uPlot (with its licence) ship in the wheel."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = globs["vtn.console"]
    package = root / "vtn" / "console"
    files = [
        p.relative_to(package).as_posix()
        for sub in ("templates", "static")
        for p in (package / sub).rglob("*")
        if p.is_file()
    ]
    assert "static/vendor/uplot/LICENSE" in files and "static/vendor/uplot/uPlot.iife.min.js" in files
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in patterns)] == []
