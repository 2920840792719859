"""The shipped deployment files agree with the code: units verify, images and compose run real commands.

There is no container daemon on our machines, so the Dockerfiles and compose.yaml are not built
here; what they run is: their commands must parse with the real `vtn`/`ven` parsers, every VTN_*
variable they set must be a configuration key (unknown ones would be silently ignored), and the
health check must name a route the VTN serves. The systemd units go through `systemd-analyze
verify` (any warning fails), with only the install prefix pointed at this virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ven.cli import build_parser as ven_parser
from vtn.cli import build_parser as vtn_parser
from vtn.cli.config_cmd import rows as config_rows
from vtn.config import VtnConfig

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _json_instruction(dockerfile: str, name: str) -> list[str]:
    match = re.search(rf"^{name} (\[.*\])$", dockerfile, re.MULTILINE)
    assert match, f"no {name} in JSON form"
    value: list[str] = json.loads(match.group(1))
    return value


def _env_block(dockerfile: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", dockerfile, re.MULTILINE):
        for key, value in re.findall(r"(\w+)=(\S+)", block):
            found[key] = value
    return found


def _vtn_env_is_config(env: dict[str, str]) -> None:
    ours = {k: v for k, v in env.items() if k.startswith("VTN_")}
    known = {row[3] for row in config_rows()}
    assert set(ours) <= known, f"not configuration keys: {set(ours) - known}"
    VtnConfig.load(env=ours)  # and each value is valid for its key


@pytest.mark.parametrize("image, parser", [("vtn", vtn_parser), ("ven", ven_parser)])
def test_dockerfile_runs_a_real_command_as_a_user_with_a_health_check(image: str, parser: object) -> None:
    text = (DEPLOY / "docker" / f"Dockerfile.{image}").read_text()
    assert text.count("FROM ") >= 2, "multi-stage"
    assert re.search(r"^USER (?!root)\w+$", text, re.MULTILINE), "runs as a non-root user"
    assert "HEALTHCHECK" in text
    entry, cmd = _json_instruction(text, "ENTRYPOINT"), _json_instruction(text, "CMD")
    assert entry == [image]
    args = parser().parse_args(cmd)  # type: ignore[operator]
    assert callable(args.func)
    if image == "vtn":
        _vtn_env_is_config(_env_block(text))
        assert "/health" in text


def test_compose_runs_the_image_commands_with_known_settings() -> None:
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = doc["services"]
    assert {"vtn", "postgres", "mosquitto"} <= set(services)
    vtn = services["vtn"]
    args = vtn_parser().parse_args(vtn["command"])
    assert args.processes >= 2, "several VTN processes"
    _vtn_env_is_config(
        {k: v.replace("${VTN_PUBLIC_URL:-", "").rstrip("}") for k, v in vtn["environment"].items()}
    )
    assert vtn["environment"]["VTN_DB_URL"].startswith("postgresql://")
    nginx = services["nginx"]
    assert nginx["network_mode"] == "service:vtn"
    assert any("deploy/nginx/vtn.conf" in v for v in nginx["volumes"])


def _units(tmp_path: Path) -> list[Path]:
    out = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text().replace("/opt/energy-coordination/bin/", f"{Path(sys.executable).parent}/")
        name = unit.name.replace("@.service", "@example.service")
        (tmp_path / name).write_text(text)
        out.append(tmp_path / name)
    return out


def test_systemd_units_run_real_commands(tmp_path: Path) -> None:
    for unit in _units(tmp_path):
        start = re.search(r"^ExecStart=\S+/(vtn|ven) (.*)$", unit.read_text(), re.MULTILINE)
        assert start, unit
        parser = vtn_parser if start.group(1) == "vtn" else ven_parser
        args = parser().parse_args(start.group(2).replace("%i", "example").split())
        assert callable(args.func)
        text = unit.read_text()
        for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "User="):
            assert hardening in text, (unit.name, hardening)


@pytest.mark.skipif(
    SYSTEMD_ANALYZE is None and not os.environ.get("CI"),
    reason="systemd-analyze not installed (apt-get install systemd)",
)
def test_systemd_units_verify(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None, ".ci/run installs systemd (systemd-analyze)"
    for unit in _units(tmp_path):
        done = subprocess.run(
            [SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), (
            unit.name,
            done.stdout + done.stderr,
        )
