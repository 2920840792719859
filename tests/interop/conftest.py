"""Fixtures of the interop suite: `interop(lib)` installs, runs and reports one library (once per driver).

The virtualenvs of every collected library are prepared in parallel as soon as the first one is needed,
so a cold cache costs about one install, not five. Set EC_INTEROP=0 to skip the whole suite (e.g.
offline); EC_INTEROP_CACHE moves the virtualenv cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from interop.harness import DriverRun, InstallError, Library, ensure_venv, find_python, run_driver

_COLLECTED: dict[str, Library] = {}  # by virtualenv key (name-version)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: drives a third-party OpenADR 3 client against our VTN")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the suite; give each step its library and step as JUnit properties (kept when skipped)."""
    for item in items:
        lib = getattr(getattr(item, "module", None), "LIB", None)
        callspec = getattr(item, "callspec", None)
        if not isinstance(lib, Library) or callspec is None:
            continue
        _COLLECTED.setdefault(lib.key, lib)
        item.add_marker(pytest.mark.interop)
        item.user_properties.append(("library", lib.label))
        item.user_properties.append(("step", str(callspec.params.get("step", ""))))


def _prepare(lib: Library) -> Path:
    """The library's virtualenv python; raises InstallError with what to do when there is none."""
    python = find_python(lib.min_python, lib.max_python)
    if python is None:
        low = ".".join(map(str, lib.min_python))
        high = ".".join(map(str, lib.max_python))
        raise InstallError(
            f"{lib.name} {lib.version} needs Python >= {low}, < {high}; none found on PATH or in pyenv "
            f"(~/.pyenv/versions/{low}.*). Install one: `pyenv install {low}`, or "
            f"`apt-get install python{low} python{low}-venv`."
        )
    return ensure_venv(lib, python)


@pytest.fixture(scope="session")
def interop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Library], DriverRun]]:
    if os.environ.get("EC_INTEROP", "1") == "0":
        pytest.skip("interop suite disabled (EC_INTEROP=0)")
    runs: dict[str, DriverRun] = {}
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="interop-venv")
    venvs: dict[str, Future[Path]] = {key: pool.submit(_prepare, lib) for key, lib in _COLLECTED.items()}

    def run(lib: Library) -> DriverRun:
        if lib.driver in runs:
            return runs[lib.driver]
        if lib.key not in venvs:
            venvs[lib.key] = pool.submit(_prepare, lib)
        try:
            venv_python = venvs[lib.key].result()
        except InstallError as exc:
            pytest.skip(f"cannot use {lib.spec}: {exc}")
        runs[lib.driver] = run_driver(lib, venv_python, tmp_path_factory.mktemp(f"{lib.key}-{lib.api}"))
        return runs[lib.driver]

    yield run
    pool.shutdown(wait=True, cancel_futures=True)
