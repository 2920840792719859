"""shared/oadr20b is the wire layer both roles use: it imports neither vtn/ven nor web or database code."""

from __future__ import annotations

import ast
from pathlib import Path

import shared.oadr20b

FORBIDDEN = ("vtn", "ven", "aiohttp", "sqlalchemy")


def test_shared_oadr20b_imports_no_role_web_or_database_code() -> None:
    root = Path(shared.oadr20b.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
