"""`openadr3-client` 2.4.2 (ElaadNL) against our VTN in OpenADR 3.1.0 mode, as VEN and BL (Python >= 3.12).

Plain-HTTP lab run: OAUTHLIB_INSECURE_TRANSPORT=1 and allow_insecure_http=True on the library side.
"""

from __future__ import annotations

import pytest
from interop.harness import DriverRun, Library, check, step_params

LIB = Library(
    name="openadr3-client",
    version="2.4.2",
    extras="[mqtt]",
    api="3.1.0",
    driver="openadr3_client_driver.py",
    min_python=(3, 12),
    max_python=(3, 15),
    driver_env={"OAUTHLIB_INSECURE_TRANSPORT": "1"},
    uses_mqtt=True,
    deviations={
        "subscription_create": (
            "library parses only the 3.0 verbs GET/POST/PUT/DELETE in subscription operations; a 3.1.0 VTN "
            "answers READ/CREATE/UPDATE/DELETE (spec enum), so the created subscription cannot be parsed "
            "(it is stored, and notifications are delivered)"
        ),
    },
)


@pytest.fixture(scope="module")
def run(interop) -> DriverRun:  # type: ignore[no-untyped-def]
    return interop(LIB)  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", step_params(LIB))
def test_step(run: DriverRun, step: str) -> None:
    check(run, step)
