"""Fixtures of the 2.0b tests (helpers in tests/support/oadr20b.py).

`lab` runs over the `db_url` stores of tests/conftest.py (SQLite always, PostgreSQL when reachable).
`openleadr_python` is the Python of a separate virtualenv with OpenLEADR from PyPI (built once,
cached): OpenLEADR pins old dependencies, so it never shares our environment.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.harness import OADR20B_SCHEMA
from support.oadr20b import Lab, make_lab

from shared.oadr20b import Oadr20bCodec
from vtn.oadr20b.settings import Oadr20bSettings


@pytest.fixture(scope="session")
def codec() -> Oadr20bCodec:
    return Oadr20bCodec(OADR20B_SCHEMA)


@pytest.fixture
async def lab(db_url: str, codec: Oadr20bCodec) -> AsyncIterator[Lab]:
    async for made in make_lab(db_url, codec, Oadr20bSettings()):
        yield made


@pytest.fixture
async def open_lab(db_url: str, codec: Oadr20bCodec) -> AsyncIterator[Lab]:
    async for made in make_lab(db_url, codec, Oadr20bSettings(open_registration=True)):
        yield made


OPENLEADR = "openleadr==0.5.36"


def _venv_dir() -> Path:
    default = Path.home() / ".cache" / "energy-coordination" / "venvs" / "openleadr"
    return Path(os.environ.get("EC_OPENLEADR_VENV", str(default)))


def _has_openleadr(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import openleadr"], capture_output=True, timeout=120)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def openleadr_python() -> Path:
    if os.environ.get("EC_OPENLEADR", "1") == "0":
        pytest.skip("OpenLEADR peer test disabled (EC_OPENLEADR=0)")
    venv = _venv_dir()
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / ".openleadr.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time across test processes
        if _has_openleadr(python):
            return python
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", OPENLEADR],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                pytest.skip(
                    f"cannot build the OpenLEADR virtualenv ({' '.join(step[:4])}): {done.stderr[-400:]}"
                )
    if not _has_openleadr(python):
        pytest.skip("openleadr installed but not importable in its virtualenv")
    return python
