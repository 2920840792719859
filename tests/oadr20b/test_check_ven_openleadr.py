"""`vtn check-ven --protocol 2.0b` grades OpenLEADR's 2.0b client (PyPI, its own virtualenv) a pass.

The OpenLEADR VEN (openleadr_ven.py) registers by venName over plain HTTP, opts in to every event
version and offers a 1 s telemetry report; check-ven runs as a subprocess with its fast clock.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.checkven import clean_env, run_check_ven

DRIVER = Path(__file__).with_name("openleadr_ven.py")


async def test_openleadr_ven_passes_check_ven(openleadr_python: Path, tmp_path: Path) -> None:
    def start_openleadr(creds: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(tmp_path / "openleadr.log", "wb") as log:
            return subprocess.Popen(
                [str(openleadr_python), str(DRIVER), creds["url"], creds["ven_name"], "60"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(),
            )

    graded = await run_check_ven(tmp_path, "2.0b", start_openleadr)
    result = graded.result
    failed = [c for c in result["checks"] if c["status"] != "PASS"]
    assert not failed, (failed, (tmp_path / "openleadr.log").read_text()[-3000:])
    assert graded.returncode == 0 and result["passed"] is True
    # OpenLEADR offered a telemetry report: its cadence was graded, not skipped.
    cadence = next(c for c in result["checks"] if c["name"] == "reports.cadence")
    assert "updates" in cadence["detail"]
