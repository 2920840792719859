"""`python-oa3-client` 0.5.0 (grid-coordination) against our VTN, 3.1.0, as VEN and BL.

Its webhook receiver (Flask) does not answer the 3.1 echo challenge (`GET {callbackUrl}?echo=`), so this
library's VTN runs with VTN_WEBHOOK_ECHO_CHALLENGE=false (lab setting; the default stays strict).
"""

from __future__ import annotations

import pytest
from interop.harness import DriverRun, Library, check, step_params

LIB = Library(
    name="python-oa3-client",
    version="0.5.0",
    extras="[webhooks,mqtt]",
    api="3.1.0",
    driver="python_oa3_client_driver.py",
    vtn_env={"VTN_WEBHOOK_ECHO_CHALLENGE": "false"},
    uses_mqtt=True,
)


@pytest.fixture(scope="module")
def run(interop) -> DriverRun:  # type: ignore[no-untyped-def]
    return interop(LIB)  # type: ignore[no-any-return]


@pytest.mark.parametrize("step", step_params(LIB))
def test_step(run: DriverRun, step: str) -> None:
    check(run, step)
