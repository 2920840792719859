"""The schemas are package data: found through importlib.resources, and all of them ship in the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

from shared.resources import schema_dir
from shared.validation import SchemaRegistry

ROOT = Path(__file__).resolve().parents[2]


def test_schemas_are_found_inside_the_package() -> None:
    found = schema_dir()
    assert found == ROOT / "shared" / "schemas"
    assert (found / "openadr3" / "3.1.0" / "openapi.json").is_file()
    assert (found / "oadr20b" / "oadr_20b.xsd").is_file()
    assert SchemaRegistry().root == found


def test_every_schema_file_is_declared_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["shared"]
    shipped = {p for pattern in patterns for p in (ROOT / "shared").glob(pattern) if p.is_file()}
    files = {
        p for p in (ROOT / "shared" / "schemas").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert files and files <= shipped, sorted(str(p) for p in files - shipped)
