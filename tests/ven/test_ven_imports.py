"""The VEN installs without the server stack: nothing under ven/ pulls in vtn/ or a database package.

Every ven module is imported in a fresh interpreter (with the shared modules it uses); none of the
VTN's packages may then be loaded. `pip install 'energy-coordination[ven]'` relies on this.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

VEN_DIR = Path(__file__).resolve().parents[2] / "ven"

SERVER_ONLY = (
    "vtn",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "apscheduler",
    "greenlet",
    "jwt",
    "mako",
)


def test_no_ven_module_imports_the_server_stack() -> None:
    walked = pkgutil.walk_packages([str(VEN_DIR)], "ven.")
    modules = ["ven"] + [m.name for m in walked if not m.name.endswith("__main__")]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(out.stdout))
    assert "ven.oadr20b.transport" in modules and "ven.receivers" in modules
    assert sorted(loaded & set(SERVER_ONLY)) == []
