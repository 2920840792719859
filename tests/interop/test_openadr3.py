"""`openadr3` 0.5.0 (grid-coordination/python-oa3) against our VTN, 3.1.0, as VEN and BL."""

from __future__ import annotations

import pytest
from interop.harness import DriverRun, Library, check, step_params

LIB = Library(name="openadr3", version="0.5.0", api="3.1.0", driver="openadr3_driver.py")


@pytest.fixture(scope="module")
def run(interop) -> DriverRun:  # type: ignore[no-untyped-def]
    return interop(LIB)  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", step_params(LIB))
def test_step(run: DriverRun, step: str) -> None:
    check(run, step)
