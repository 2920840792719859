"""`toadr3` 0.29.0 (prelectai) against our VTN's OpenADR 3.0.1 API, as VEN (and BL for programs)."""

from __future__ import annotations

import pytest
from interop.harness import DriverRun, Library, check, step_params

LIB = Library(name="toadr3", version="0.29.0", api="3.0.1", driver="toadr3_driver.py")


@pytest.fixture(scope="module")
def run(interop) -> DriverRun:  # type: ignore[no-untyped-def]
    return interop(LIB)  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", step_params(LIB))
def test_step(run: DriverRun, step: str) -> None:
    check(run, step)
