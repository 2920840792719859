"""`oadr30-ven-ud` 1.2.0 (Universal Devices) against our VTN's OpenADR 3.0.1 API, as VEN and BL."""

from __future__ import annotations

import pytest
from interop.harness import DriverRun, Library, check, step_params

LIB = Library(
    name="oadr30-ven-ud",
    version="1.2.0",
    api="3.0.1",
    driver="oadr30_ven_ud_driver.py",
    deviations={
        "bl_create_event": (
            "library bug: VTNOps.create_events() overwrites every event's programID with '0' (and creates a "
            "program '0' if missing), so the event never reaches the program it names"
        ),
    },
)


@pytest.fixture(scope="module")
def run(interop) -> DriverRun:  # type: ignore[no-untyped-def]
    return interop(LIB)  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", step_params(LIB))
def test_step(run: DriverRun, step: str) -> None:
    check(run, step)
