"""Every `ven` failure a user can cause: one line that says what to do, non-zero exit, no traceback.

`ven run` runs as a subprocess (`python -m ven`) against a real VTN app served in the test's loop on
a real port (SQLite), over plain HTTP or TLS with certificates from vtn.pki; `--debug` brings the
traceback back.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from support.harness import BASE

from shared.enums import Role
from vtn.app import build_app
from vtn.config import TlsSettings, VtnConfig
from vtn.pki import CertificateAuthority
from vtn.storage import Store, open_store
from vtn.tls_runtime import ServerTls

ENV_KEYS = ("VEN_VTN_URL", "VEN_CLIENT_ID", "VEN_CLIENT_SECRET", "VEN_STATE_DIR")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["VEN_STATE_DIR"] = str(tmp_path / "state")
    return env


async def ven(tmp_path: Path, *args: str, timeout: float = 60) -> Run:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ven",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def toml(url: str, client_id: str = "ven-1", secret: str | None = "s3cret", **extra: str) -> str:
    """A small ven.toml; `extra` holds whole tables, e.g. events='mode = "mqtt"'."""
    creds = f'client_id = "{client_id}"\n' + (f'client_secret = "{secret}"\n' if secret else "")
    tables = "".join(f"\n[{name.replace('_', '.')}]\n{body}\n" for name, body in extra.items())
    return (
        f'[vtn]\nurl = "{url}"\n{creds}'
        f'{tables}\n[ven]\nname = "gw-1"\n\n'
        '[[resources]]\nid = "heater-1"\nadapter = "water_heater"\n'
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ven.toml"
    path.write_text(text)
    return path


def assert_one_line(run: Run, code: int, *parts: str) -> None:
    """The run ended with `code`; its last stderr line names every part; no traceback anywhere."""
    assert run.code == code, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.last_line.startswith("ven: "), run.stderr
    for part in parts:
        assert part in run.last_line, run.stderr


# -- a real VTN on a real port --------------------------------------------------------------------


@dataclass
class LiveVtn:
    origin: str
    store: Store
    ca: CertificateAuthority | None = None

    @property
    def url(self) -> str:
        return self.origin + BASE

    async def add_client(self, name: str, role: Role = Role.VEN) -> str:
        async with self.store.transaction() as tx:
            new = await tx.clients.add(name, role, client_id=name)
        return new.secret


async def _serve(tmp_path: Path, sqlite_template: Path, tls: bool) -> AsyncIterator[LiveVtn]:
    db = tmp_path / "vtn.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    ca = None
    settings = TlsSettings()
    if tls:
        ca = CertificateAuthority.init(tmp_path / "ca")
        cert_pem, key_pem = ca.issue_server("localhost", ["127.0.0.1"])
        (tmp_path / "server.crt").write_bytes(cert_pem)
        (tmp_path / "server.key").write_bytes(key_pem)
        settings = TlsSettings(cert_file=str(tmp_path / "server.crt"), key_file=str(tmp_path / "server.key"))
    config = VtnConfig(db_url=url, tls=settings, delivery_worker=False, host="127.0.0.1", port=0)
    store = open_store(url)
    app = await build_app(config, store)
    context = None
    if tls:
        server_tls = ServerTls(config.tls)
        assert server_tls is not None
        server_tls.install(app)
        context = server_tls.context
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    scheme = "https" if tls else "http"
    try:
        yield LiveVtn(f"{scheme}://127.0.0.1:{runner.addresses[0][1]}", store, ca)
    finally:
        await runner.cleanup()
        await store.close()


@pytest.fixture
async def live_vtn(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[LiveVtn]:
    async for vtn in _serve(tmp_path, sqlite_template, tls=False):
        yield vtn


@pytest.fixture
async def tls_vtn(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[LiveVtn]:
    async for vtn in _serve(tmp_path, sqlite_template, tls=True):
        yield vtn


# -- the CLI itself -------------------------------------------------------------------------------


async def test_version(tmp_path: Path) -> None:
    run = await ven(tmp_path, "--version")
    assert run.code == 0
    assert run.stdout.startswith("ven (energy-coordination) ")


# -- mistakes in the configuration: found before anything is sent ---------------------------------


async def test_a_typo_in_a_key_names_the_key_and_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, toml("http://127.0.0.1:9/openadr3/3.1.0", events="poll_secs = 5"))
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 2, "events.poll_secs: unknown key (did you mean events.poll_seconds?)", str(path))
    assert len(run.stderr.strip().splitlines()) == 1


async def test_leftover_change_me_credentials_say_to_replace_them(tmp_path: Path) -> None:
    path = write(
        tmp_path, toml("http://127.0.0.1:9/openadr3/3.1.0", client_id="CHANGE_ME", secret="CHANGE_ME")
    )
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 2, "vtn.client_id: still CHANGE_ME from the example: replace it", "VEN_CLIENT_ID")
    assert len(run.stderr.strip().splitlines()) == 1


async def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, toml("http://127.0.0.1:9/openadr3/3.1.0", client_id="CHANGE_ME"))
    run = await ven(tmp_path, "--debug", "run", "--config", str(path))
    assert run.code == 2
    assert "Traceback" in run.stderr
    assert run.last_line.startswith("ven: bad configuration")


async def test_a_3_0_1_base_url_is_detected(tmp_path: Path, live_vtn: LiveVtn) -> None:
    await live_vtn.add_client("ven-1")
    path = write(tmp_path, toml(live_vtn.origin + "/openadr3/3.0.1"))
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 2, "is an OpenADR 3.0 API; this agent speaks 3.1", f"use {live_vtn.url}")


# -- what the VTN answers ------------------------------------------------------------------------


async def test_a_url_without_the_base_path(tmp_path: Path, live_vtn: LiveVtn) -> None:
    secret = await live_vtn.add_client("ven-1")
    path = write(tmp_path, toml(live_vtn.origin, secret=secret))
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 1, "404 Not Found", "lacks the API base path", f"e.g. {live_vtn.url}")


async def test_bad_credentials(tmp_path: Path, live_vtn: LiveVtn) -> None:
    await live_vtn.add_client("ven-1")
    path = write(tmp_path, toml(live_vtn.url, secret="wrong"))
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 1, "refused the agent", "check vtn.client_id and vtn.client_secret")


async def test_mqtt_mode_against_a_vtn_without_a_broker(tmp_path: Path, live_vtn: LiveVtn) -> None:
    secret = await live_vtn.add_client("ven-1")
    path = write(tmp_path, toml(live_vtn.url, secret=secret, events='mode = "mqtt"'))
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 1, "events.mode is mqtt but the VTN", "offers no MQTT broker", 'use mode = "poll"')


async def test_a_vtn_certificate_that_does_not_verify(tmp_path: Path, tls_vtn: LiveVtn) -> None:
    """No vtn.tls.ca_file: the system store does not know the VTN's own CA."""
    secret = await tls_vtn.add_client("ven-1")
    path = write(tmp_path, toml(tls_vtn.url, secret=secret))
    run = await ven(tmp_path, "run", "--config", str(path))
    assert_one_line(run, 1, "cannot verify the TLS certificate of the VTN", "set vtn.tls.ca_file")
    # With the CA the same agent onboards (the failure above was the certificate, nothing else).
    assert tls_vtn.ca is not None
    fixed = toml(tls_vtn.url, secret=secret, vtn_tls=f'ca_file = "{tls_vtn.ca.cert_path}"')
    await _until_onboarded(tmp_path, write(tmp_path, fixed))


async def test_an_unreachable_vtn_is_retried_with_one_line_per_attempt(tmp_path: Path) -> None:
    """A gateway may boot before its VTN: the agent keeps trying, each attempt one line that says why."""
    path = write(tmp_path, toml("http://127.0.0.1:9/openadr3/3.1.0"))  # port 9: connection refused
    line = await _first_line_with(tmp_path, path, "cannot onboard")
    assert "is the VTN running, and is vtn.url right? retrying in" in line
    assert "127.0.0.1:9" in line


async def _first_line_with(tmp_path: Path, path: Path, needle: str) -> str:
    """Start `ven run`, return its first stderr line holding `needle`, then stop it with SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ven",
        "run",
        "--config",
        str(path),
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(30):
            while True:
                raw = await proc.stderr.readline()
                assert raw, f"ven run ended: {''.join(seen)}"
                seen.append(raw.decode())
                assert "Traceback" not in seen[-1], "".join(seen)
                if needle in seen[-1]:
                    return seen[-1]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def _until_onboarded(tmp_path: Path, path: Path) -> Any:
    return await _first_line_with(tmp_path, path, "onboarded as ven")


async def test_certs_request_names_the_ca_directory_make_made(tmp_path: Path) -> None:
    run = await ven(tmp_path, "certs", "request", "--ven-name", "gw-1", "--out-dir", str(tmp_path / "out"))
    assert run.code == 0, run.stderr
    assert f"vtn ca sign {tmp_path / 'out' / 'gw-1.csr'} --dir certs/dev --client-id gw-1" in run.stdout
    again = await ven(tmp_path, "certs", "request", "--ven-name", "gw-1", "--out-dir", str(tmp_path / "out"))
    assert_one_line(again, 2, "already exists: pass --force to replace the key")


async def test_status_before_the_first_run(tmp_path: Path) -> None:
    path = write(tmp_path, toml("http://127.0.0.1:9/openadr3/3.1.0"))
    run = await ven(tmp_path, "status", "--config", str(path))
    assert_one_line(run, 1, "no status yet in", f"has `ven run --config {path}` been started?")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "status.json").write_text("{not json")
    run = await ven(tmp_path, "status", "--config", str(path))
    assert_one_line(run, 1, "cannot read", "to rewrite it")


async def test_a_vtn_answering_other_objects_is_named(tmp_path: Path) -> None:
    """A 3.0-style answer at a base path that does not say so: the schema check names it."""

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})

    async def vens(_: web.Request) -> web.Response:
        return web.json_response([{"id": "ven-1", "venName": "gw-1"}])  # no clientID, no stamps

    app = web.Application()
    app.router.add_post("/api/auth/token", token)
    app.router.add_get("/api/vens", vens)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api"
        run = await ven(tmp_path, "run", "--config", str(write(tmp_path, toml(url))))
    finally:
        await runner.cleanup()
    assert_one_line(
        run, 1, "answers what a 3.1 agent cannot read", "invalid Ven", "is vtn.url the base of an"
    )
