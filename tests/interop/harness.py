"""Interop harness: a library's own virtualenv, our VTN as a subprocess, a webhook receiver, a driver run.

Each library runs in a virtualenv of its own, cached under
`~/.cache/energy-coordination/interop/<lib>-<version>/` (override the root with EC_INTEROP_CACHE), keyed by
the pinned version, so its dependencies never meet ours. A driver script (tests/interop/drivers/), run by
that virtualenv's python, performs the steps and prints one JSON line per step: {step, ok, detail}
(ok null = the library cannot do this step).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from interop.receiver import Receiver

from shared.enums import Role
from vtn.storage import migrate, open_store

HERE = Path(__file__).resolve().parent
DRIVERS = HERE / "drivers"
ROOT = HERE.parents[1]
CACHE = Path(os.environ.get("EC_INTEROP_CACHE", Path.home() / ".cache" / "energy-coordination" / "interop"))
MQTT_BROKER = ("127.0.0.1", 1883)

# Matrix rows, in order. A library may also report extra steps of its own.
STEPS: dict[str, str] = {
    "auth_ven": "VEN: get a token",
    "auth_bl": "BL: get a token",
    "bl_create_program": "BL: create a program",
    "bl_create_event": "BL: create an event",
    "bl_update_program": "BL: update the program",
    "ven_register": "VEN: create or find its ven",
    "resource_register": "VEN: register a resource",
    "list_programs": "VEN: list programs, find BL's",
    "find_event": "VEN: find BL's event",
    "report_create": "VEN: post a report for the event",
    "report_read": "VEN: read the report back",
    "subscription_create": "VEN: create a subscription",
    "notification": "VEN: receive a webhook notification",
    "mqtt_notification": "VEN: receive an MQTT notification",
}


@dataclass(frozen=True)
class Library:
    name: str  # PyPI name
    version: str  # pinned
    api: str  # the VTN API version the library speaks: "3.1.0" or "3.0.1"
    driver: str  # file in tests/interop/drivers/
    extras: str = ""  # e.g. "[webhooks,mqtt]"
    min_python: tuple[int, int] = (3, 11)
    max_python: tuple[int, int] = (3, 99)  # exclusive
    # Known library departures from the spec: step -> reason (the step is an expected failure).
    deviations: dict[str, str] = field(default_factory=dict)
    # VTN settings for this library's run (VTN_* environment), and the driver's environment.
    vtn_env: dict[str, str] = field(default_factory=dict)
    driver_env: dict[str, str] = field(default_factory=dict)
    uses_mqtt: bool = False

    @property
    def spec(self) -> str:
        return f"{self.name}{self.extras}=={self.version}"

    @property
    def label(self) -> str:
        """Matrix column: name, version and the API version it is driven against."""
        return f"{self.name} {self.version} ({self.api})"

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


def step_params(lib: Library) -> list[Any]:
    """pytest params, one per step, with known deviations marked as strict expected failures."""
    return [
        pytest.param(step, id=step, marks=pytest.mark.xfail(reason=lib.deviations[step], strict=True))
        if step in lib.deviations
        else pytest.param(step, id=step)
        for step in STEPS
    ]


# ------------------------------------------------------------------------------------ interpreters


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = out.split(".")
    return int(major), int(minor)


def find_python(low: tuple[int, int], high: tuple[int, int]) -> str | None:
    """An interpreter with low <= version < high: this one, then PATH, then pyenv's versions."""
    here = sys.version_info[:2]
    if low <= here < high:
        return sys.executable
    names = [f"python{m}.{n}" for m, n in [(3, 11), (3, 12), (3, 13), (3, 14)] if low <= (m, n) < high]
    candidates = [path for name in names if (path := shutil.which(name))]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for name in names:
        candidates += sorted(str(p) for p in pyenv.glob(f"{name[6:]}.*/bin/{name}"))
    for python in candidates:
        found = _version_of(python)
        if found is not None and low <= found < high:
            return python
    return None


# ------------------------------------------------------------------------------------ virtualenvs


class InstallError(Exception):
    pass


def _tail(text: str, lines: int = 12) -> str:
    kept = [ln for ln in text.strip().splitlines() if not ln.startswith("WARNING: Location")]
    return "\n".join(kept[-lines:])


def ensure_venv(lib: Library, python: str) -> Path:
    """The library's cached virtualenv (made on first use); its python."""
    CACHE.mkdir(parents=True, exist_ok=True)
    home = CACHE / lib.key
    marker = home / ".ready.json"
    want = {"spec": lib.spec, "python": _version_of(python)}
    with open(CACHE / f"{lib.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and json.loads(marker.read_text()) == json.loads(json.dumps(want)):
            return home / "bin" / "python"
        shutil.rmtree(home, ignore_errors=True)
        made = subprocess.run([python, "-m", "venv", str(home)], capture_output=True, text=True)
        if made.returncode != 0:
            raise InstallError(f"`{python} -m venv` failed:\n{_tail(made.stderr)}")
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        installed = subprocess.run([*pip, lib.spec], capture_output=True, text=True, timeout=900)
        if installed.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            raise InstallError(
                f"pip install {lib.spec} failed:\n{_tail(installed.stderr or installed.stdout)}"
            )
        marker.write_text(json.dumps(want))
    return home / "bin" / "python"


# ------------------------------------------------------------------------------------ the VTN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@dataclass
class VtnProcess:
    url: str  # http://127.0.0.1:port
    bl: dict[str, str]
    ven: dict[str, str]
    log: Path


def _prepare_db(db: str) -> tuple[dict[str, str], dict[str, str]]:
    """Migrate the database and make the BL and VEN credentials, in this process: the same code as
    `vtn db upgrade` and `vtn clients add` (whose CLI has tests of its own) without three interpreter
    start-ups per driver run."""
    migrate.upgrade(db)

    async def add() -> list[dict[str, str]]:
        store = open_store(db)
        try:
            async with store.transaction() as tx:
                made = [await tx.clients.add(f"interop-{r.value}", r) for r in (Role.BL, Role.VEN)]
        finally:
            await store.close()
        return [{"client_id": m.record.client_id, "client_secret": m.secret} for m in made]

    bl, ven = asyncio.run(add())
    return bl, ven


@contextlib.contextmanager
def run_vtn(workdir: Path, env: dict[str, str]) -> Iterator[VtnProcess]:
    """Our VTN on a free loopback port, SQLite in `workdir`, with lab webhook settings."""
    db = f"sqlite:///{workdir / 'vtn.db'}"
    bl, ven = _prepare_db(db)
    port = free_port()
    lab = {
        "VTN_WEBHOOK_REQUIRE_HTTPS": "false",
        "VTN_WEBHOOK_ALLOW_PRIVATE": "true",
        "VTN_DELIVERY_TIMEOUT_SECONDS": "5",
        "VTN_RETRY_BASE_SECONDS": "0.2",
        "VTN_LOG_LEVEL": "WARNING",
    }
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VTN_")} | lab | env
    log = workdir / "vtn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "serve_vtn.py"),
                "--db",
                db,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the VTN exited with {proc.returncode}:\n{_tail(log.read_text())}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url + "/health", timeout=1) as resp:
                if resp.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the VTN did not come up in 30 s:\n{_tail(log.read_text())}")
            time.sleep(0.1)
        yield VtnProcess(url=url, bl=bl, ven=ven, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------ a driver run


@dataclass
class Outcome:
    ok: bool | None
    detail: str


@dataclass
class DriverRun:
    lib: Library
    results: dict[str, Outcome]
    returncode: int
    stderr: str
    seconds: float


def run_driver(lib: Library, python: Path, workdir: Path) -> DriverRun:
    """Start a receiver and the VTN, run the driver in the library's python, collect its steps."""
    mqtt = lib.uses_mqtt and port_open(*MQTT_BROKER)
    vtn_env = dict(lib.vtn_env)
    if mqtt:
        vtn_env["VTN_MQTT_BROKER_URL"] = f"mqtt://{MQTT_BROKER[0]}:{MQTT_BROKER[1]}"
    started = time.monotonic()
    with Receiver() as receiver, run_vtn(workdir, vtn_env) as vtn:
        base = vtn.url + "/openadr3/" + lib.api
        config = {
            "library": lib.name,
            "base_url": base,
            "base_url_31": vtn.url + "/openadr3/3.1.0",
            "token_url": base + "/auth/token",
            "bl": vtn.bl,
            "ven": vtn.ven,
            "receiver_url": receiver.url,
            "mqtt_broker": f"mqtt://{MQTT_BROKER[0]}:{MQTT_BROKER[1]}" if mqtt else None,
            "echo_challenge": vtn_env.get("VTN_WEBHOOK_ECHO_CHALLENGE", "true") != "false",
            "tag": lib.name.replace("-", "_"),
        }
        (workdir / "config.json").write_text(json.dumps(config, indent=2))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(workdir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **lib.driver_env,
        }
        try:
            done = subprocess.run(
                [str(python), str(DRIVERS / lib.driver), str(workdir / "config.json")],
                capture_output=True,
                text=True,
                timeout=240,
                cwd=workdir,
                env=env,
            )
            stdout, stderr, rc = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            stderr, rc = "driver timed out after 240 s", -1
    results: dict[str, Outcome] = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError, KeyError):
                doc = json.loads(line)
                results[doc["step"]] = Outcome(doc["ok"], str(doc.get("detail", "")))
    (workdir / "driver.stdout").write_text(stdout)
    (workdir / "driver.stderr").write_text(stderr)
    return DriverRun(lib, results, rc, stderr, time.monotonic() - started)


def check(run: DriverRun, step: str) -> None:
    """Assert one step of a driver run: pass, n/a (skip), or fail with the driver's detail."""
    found = run.results.get(step)
    if found is None:
        pytest.fail(
            f"the {run.lib.name} driver reported nothing for step {step!r} (exit {run.returncode}); "
            f"stderr:\n{_tail(run.stderr, 20)}"
        )
    if found.ok is None:
        pytest.skip(f"n/a: {found.detail}")
    assert found.ok, found.detail
