"""`openadr3-client` 2.4.2 (ElaadNL) in OpenADR 3.0.1 mode against our /openadr3/3.0.1 API (Python >= 3.12).

Same virtualenv as test_openadr3_client.py; the library picks the protocol per client (OADR_301).
"""

from __future__ import annotations

import pytest
from interop.harness import DriverRun, Library, check, step_params

LIB = Library(
    name="openadr3-client",
    version="2.4.2",
    extras="[mqtt]",
    api="3.0.1",
    driver="openadr3_client_301_driver.py",
    min_python=(3, 12),
    max_python=(3, 15),
    driver_env={"OAUTHLIB_INSECURE_TRANSPORT": "1"},
)


@pytest.fixture(scope="module")
def run(interop) -> DriverRun:  # type: ignore[no-untyped-def]
    return interop(LIB)  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", step_params(LIB))
def test_step(run: DriverRun, step: str) -> None:
    check(run, step)
