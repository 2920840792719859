"""VEN agent configuration: every bad value is a ConfigError naming its key; VEN_* environment wins.

The CLI part runs `ven run` as a subprocess against a listening socket that stands in for the VTN:
a bad configuration must exit 2 with a message naming the key, before anything connects.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ven.config import ConfigError, VenConfig

GOOD: dict[str, Any] = {
    "vtn": {"url": "http://127.0.0.1:9/openadr3/3.1.0", "client_id": "ven-1", "client_secret": "s3cret"},
    "ven": {"name": "gw-1", "id": "gw-1", "state_dir": "/tmp/not-used"},
    "events": {"mode": "poll", "poll_seconds": 2},
    "resources": [
        {"id": "battery-1", "adapter": "battery", "options": {"capacity_kwh": 10.0}},
        {"id": "heater-1", "adapter": "water_heater"},
    ],
    "telemetry": [{"name": "telemetry", "every_seconds": 5}],
}

ENV_KEYS = ("VEN_VTN_URL", "VEN_CLIENT_ID", "VEN_CLIENT_SECRET", "VEN_STATE_DIR")


def variant(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    change(doc)
    return doc


def config_error(doc: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        VenConfig.from_dict(doc, env or {})
    return str(info.value)


def test_the_baseline_document_is_valid() -> None:
    config = VenConfig.from_dict(GOOD, {})
    assert config.vtn_url == "http://127.0.0.1:9/openadr3/3.1.0"
    assert config.ven_id == "gw-1"
    assert [r.id for r in config.resources] == ["battery-1", "heater-1"]
    assert config.resources[1].name == "heater-1"  # name defaults to the id
    assert config.receive.poll_seconds == 2.0
    assert config.telemetry[0].every_seconds == 5.0
    assert config.telemetry[0].payload_types == ("USAGE", "DEMAND")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["vtn"].pop("url"), "vtn.url"),
        (lambda d: d["vtn"].update(url=""), "vtn.url"),
        (lambda d: d["vtn"].update(url="ftp://vtn.example"), "vtn.url"),
        (lambda d: d["vtn"].pop("client_id"), "vtn.client_id"),
        (lambda d: d["vtn"].pop("client_secret"), "vtn.client_secret"),
        (lambda d: d["ven"].pop("name"), "ven.name"),
        (lambda d: d["ven"].update(id="has spaces"), "ven.id"),
        (lambda d: d["ven"].update(id="x" * 129), "ven.id"),
        (lambda d: d["ven"].update(id=42), "ven.id"),
        (lambda d: d["events"].update(mode="carrier-pigeon"), "events.mode"),
        (lambda d: d["events"].update(poll_seconds=0), "events.poll_seconds"),
        (lambda d: d["resources"][1].pop("adapter"), "resources[1].adapter"),
        (lambda d: d["resources"][1].update(id="bad id"), "resources[1].id"),
        (lambda d: d["resources"][0].update(options=3), "resources[0].options"),
        (lambda d: d["telemetry"][0].update(every_seconds=0), "telemetry[0].every_seconds"),
        (lambda d: d["telemetry"][0].update(every_seconds=-5), "telemetry[0].every_seconds"),
        (lambda d: d["telemetry"][0].pop("every_seconds"), "telemetry[0].every_seconds"),
        (lambda d: d["telemetry"][0].update(payload_types=[]), "telemetry[0].payload_types"),
        (lambda d: d["vtn"].update(tls={"cert_file": "ven.crt"}), "vtn.tls.key_file"),
        (lambda d: d["vtn"].update(tls={"key_file": "ven.key"}), "vtn.tls.cert_file"),
        (lambda d: d.update(resources={"id": "x"}), "resources"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_values_name_their_key(change: Callable[[dict[str, Any]], object], key: str) -> None:
    message = config_error(variant(change))
    assert message.startswith(key), message


@pytest.mark.parametrize(
    ("change", "key"),
    [
        # A string is truthy: "false" must not silently switch certificate checks off.
        (lambda d: d["vtn"].update(tls={"insecure": "false"}), "vtn.tls.insecure"),
        (lambda d: d["events"].update(webhook_port="8080"), "events.webhook_port"),
        (lambda d: d["events"].update(webhook_port=70000), "events.webhook_port"),
        (lambda d: d["ven"].update(log_level="LOUD"), "ven.log_level"),
        (lambda d: d["ven"].update(seed=True), "ven.seed"),
        # Two devices on one VTN resource, or two telemetry jobs with one scheduler id.
        (lambda d: d["resources"][1].update(id="battery-1"), "resources[1].id"),
        (lambda d: d["resources"][1].update(name="battery-1"), "resources[1].name"),
        (lambda d: d["telemetry"].append({"name": "telemetry", "every_seconds": 60}), "telemetry[1].name"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_values_that_used_to_slip_through(change: Callable[[dict[str, Any]], object], key: str) -> None:
    message = config_error(variant(change))
    assert message.startswith(key), message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["events"].update(poll_secs=5),
            "events.poll_secs: unknown key (did you mean events.poll_seconds?)",
        ),
        (
            lambda d: d["vtn"].update(client_secrets="x"),
            "vtn.client_secrets: unknown key (did you mean vtn.client_secret?)",
        ),
        (
            lambda d: d["vtn"].update(tls={"ca_fle": "ca.crt"}),
            "vtn.tls.ca_fle: unknown key (did you mean vtn.tls.ca_file?)",
        ),
        (
            lambda d: d["ven"].update(loglevel="INFO"),
            "ven.loglevel: unknown key (did you mean ven.log_level?)",
        ),
        (
            lambda d: d["resources"][0].update(adaptor="battery"),
            "resources[0].adaptor: unknown key (did you mean resources[0].adapter?)",
        ),
        (
            lambda d: d["telemetry"][0].update(every=5),
            "telemetry[0].every: unknown key (did you mean telemetry[0].every_seconds?)",
        ),
        (lambda d: d.update(telemetri=[]), "telemetri: unknown key (did you mean telemetry?)"),
        (lambda d: d["events"].update(zzz=1), "events.zzz: unknown key (known: mode, poll_seconds,"),
        (lambda d: d["vtn"].update(sign=True), 'vtn.sign: only for protocol = "2.0b"'),
    ],
    ids=lambda v: v.split(":")[0] if isinstance(v, str) else "",
)
def test_unknown_keys_are_refused_with_the_closest_known_key(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    assert config_error(variant(change)).startswith(message)


def test_the_2_0b_keys_are_known_with_protocol_2_0b() -> None:
    doc = variant(lambda d: d["vtn"].update(protocol="2.0b", sign=False, vtn_id="VTN"))
    assert VenConfig.from_dict(doc, {}).oadr20b is not None
    doc["vtn"]["sing"] = True
    assert config_error(doc).startswith("vtn.sing: unknown key (did you mean vtn.sign?)")


def test_leftover_change_me_credentials_say_to_replace_them() -> None:
    for key, env in (("client_id", "VEN_CLIENT_ID"), ("client_secret", "VEN_CLIENT_SECRET")):
        message = config_error(variant(lambda d, k=key: d["vtn"].update({k: "CHANGE_ME"})))
        assert message.startswith(f"vtn.{key}: still CHANGE_ME from the example: replace it"), message
        assert env in message and "vtn clients add" in message
    # The environment overrides the placeholder: no error then.
    doc = variant(lambda d: d["vtn"].update(client_id="CHANGE_ME", client_secret="CHANGE_ME"))
    config = VenConfig.from_dict(doc, {"VEN_CLIENT_ID": "ven-1", "VEN_CLIENT_SECRET": "s"})
    assert (config.client_id, config.client_secret) == ("ven-1", "s")


def test_an_openadr_3_0_base_url_is_named_with_the_3_1_one() -> None:
    doc = variant(lambda d: d["vtn"].update(url="http://vtn.example:8080/openadr3/3.0.1"))
    assert config_error(doc) == (
        "vtn.url: http://vtn.example:8080/openadr3/3.0.1 is an OpenADR 3.0 API; this agent speaks 3.1: "
        "use http://vtn.example:8080/openadr3/3.1.0"
    )


def test_the_secret_may_be_left_out_when_a_client_certificate_is_configured() -> None:
    tls = {"ca_file": "ca.crt", "cert_file": "ven.crt", "key_file": "ven.key"}
    config = VenConfig.from_dict(
        variant(lambda d: (d["vtn"].pop("client_secret"), d["vtn"].update(tls=tls))), {}
    )
    assert (config.client_id, config.client_secret) == ("ven-1", None)
    message = config_error(variant(lambda d: d["vtn"].pop("client_secret")))
    assert message.startswith("vtn.client_secret: required") and "vtn.tls.cert_file" in message


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("ven-*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_load_with_credentials_from_the_environment(path: Path) -> None:
    config = VenConfig.load(path, env={"VEN_CLIENT_ID": "ven-1", "VEN_CLIENT_SECRET": "s"})
    assert config.resources and config.receive.mode == "poll"
    with pytest.raises(ConfigError, match="still CHANGE_ME from the example"):
        VenConfig.load(path, env={})


def test_cert_and_key_together_and_insecure_bool_are_fine() -> None:
    doc = variant(
        lambda d: d["vtn"].update(tls={"cert_file": "a.crt", "key_file": "a.key", "insecure": True})
    )
    tls = VenConfig.from_dict(doc, {}).tls
    assert (tls.cert_file, tls.key_file, tls.insecure) == ("a.crt", "a.key", True)


def test_environment_overrides_win_over_the_file() -> None:
    env = {
        "VEN_VTN_URL": "https://vtn.example/openadr3/3.1.0/",
        "VEN_CLIENT_ID": "from-env",
        "VEN_CLIENT_SECRET": "env-secret",
        "VEN_STATE_DIR": "/var/lib/ven-env",
    }
    config = VenConfig.from_dict(GOOD, env)
    assert config.vtn_url == "https://vtn.example/openadr3/3.1.0"  # trailing slash dropped
    assert config.client_id == "from-env"
    assert config.client_secret == "env-secret"
    assert config.state_dir == "/var/lib/ven-env"


def test_environment_supplies_what_the_file_leaves_out() -> None:
    doc = variant(lambda d: d.update(vtn={}))
    with pytest.raises(ConfigError, match=r"^vtn\.url"):
        VenConfig.from_dict(doc, {})
    env = {"VEN_VTN_URL": "http://vtn:8080/openadr3/3.1.0", "VEN_CLIENT_ID": "c", "VEN_CLIENT_SECRET": "s"}
    config = VenConfig.from_dict(doc, env)
    assert (config.vtn_url, config.client_id, config.client_secret) == (env["VEN_VTN_URL"], "c", "s")
    # An overriding URL is checked like a configured one.
    with pytest.raises(ConfigError, match=r"^vtn\.url"):
        VenConfig.from_dict(GOOD, {"VEN_VTN_URL": "vtn:8080"})


def test_unrelated_environment_is_ignored_and_state_dir_defaults_from_the_name() -> None:
    doc = variant(lambda d: d["ven"].pop("state_dir"))
    config = VenConfig.from_dict(doc, {"VEN_UNKNOWN": "x", "VTN_PORT": "1"})
    assert config.state_dir == "var/ven-gw-1"
    assert config.client_id == "ven-1"


def test_load_reads_toml_and_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ven.toml"
    path.write_text(_toml(GOOD))
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    assert VenConfig.load(path).client_id == "ven-1"
    monkeypatch.setenv("VEN_CLIENT_ID", "from-os-environ")
    monkeypatch.setenv("VEN_STATE_DIR", str(tmp_path / "state"))
    config = VenConfig.load(path)
    assert (config.client_id, config.state_dir) == ("from-os-environ", str(tmp_path / "state"))
    # An explicit env mapping replaces os.environ entirely.
    assert VenConfig.load(path, env={}).client_id == "ven-1"


def test_load_reports_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        VenConfig.load(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[vtn\nurl = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        VenConfig.load(bad, env={})


# -- `ven run` with a bad configuration -----------------------------------------------------------


@pytest.fixture
def fake_vtn() -> Iterator[socket.socket]:
    """A listening socket standing in for the VTN: a connection attempt would queue in its backlog."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.setblocking(False)
        yield server


def _connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def _ven(args: list[str], state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["VEN_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "ven", *args], capture_output=True, text=True, env=env, timeout=60
    )


def _write(tmp_path: Path, doc: dict[str, Any], port: int) -> Path:
    doc = copy.deepcopy(doc)
    doc["vtn"]["url"] = f"http://127.0.0.1:{port}/openadr3/3.1.0"
    path = tmp_path / "ven.toml"
    path.write_text(_toml(doc))
    return path


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["resources"][1].pop("adapter"), "resources[1].adapter"),
        (lambda d: d["telemetry"][0].update(every_seconds=0), "telemetry[0].every_seconds"),
        (lambda d: d["events"].update(webhook_port="x"), "events.webhook_port"),
    ],
    ids=["adapter-missing", "every-seconds-zero", "webhook-port-string"],
)
def test_ven_run_with_a_bad_config_exits_2_naming_the_key_and_sends_nothing(
    tmp_path: Path, fake_vtn: socket.socket, change: Callable[[dict[str, Any]], object], key: str
) -> None:
    path = _write(tmp_path, variant(change), fake_vtn.getsockname()[1])
    state = tmp_path / "state"
    result = _ven(["run", "--config", str(path)], state)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr
    assert _connections(fake_vtn) == 0
    assert not state.exists()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d["resources"][1].update(adapter="toaster"), "unknown adapter 'toaster'"),
        (lambda d: d["resources"][0]["options"].update(capacity_kwhh=5), "capacity_kwhh"),
    ],
    ids=["unknown-adapter", "unknown-option"],
)
def test_ven_run_rejects_bad_adapters_before_contacting_the_vtn(
    tmp_path: Path, fake_vtn: socket.socket, change: Callable[[dict[str, Any]], object], needle: str
) -> None:
    path = _write(tmp_path, variant(change), fake_vtn.getsockname()[1])
    state = tmp_path / "state"
    result = _ven(["run", "--config", str(path)], state)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert _connections(fake_vtn) == 0
    assert not state.exists()  # nothing written either: the outbox is opened after the adapters


class _RefusingVtn(BaseHTTPRequestHandler):
    """Advertises its token URL and refuses every client (RFC 6749 invalid_client)."""

    def _answer(self, status: int, doc: dict[str, str]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        port = self.server.server_address[1]
        self._answer(200, {"tokenURL": f"http://127.0.0.1:{port}/openadr3/3.1.0/auth/token"})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"})

    def log_message(self, *args: Any) -> None:
        pass


def test_ven_run_with_wrong_credentials_exits_1_with_one_clear_line(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingVtn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = _write(tmp_path, GOOD, server.server_address[1])
        result = _ven(["run", "--config", str(path)], tmp_path / "state")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert "refused the agent: unknown client or wrong secret" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Unclosed client session" not in result.stdout + result.stderr  # the agent cleaned up
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert (status["onboarded"], status["venID"]) == (False, None)


def test_ven_status_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, variant(lambda d: d["ven"].update(id="not ok")), 9)
    result = _ven(["status", "--config", str(path), "--json"], tmp_path / "state")
    assert result.returncode == 2
    assert "ven.id" in result.stderr
    assert result.stdout == ""


# -- a minimal TOML writer for the documents above ------------------------------------------------


def _toml(doc: dict[str, Any]) -> str:
    lines: list[str] = []

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, list):
            return "[" + ", ".join(scalar(v) for v in value) + "]"
        return repr(value)

    def table(header: str, body: dict[str, Any]) -> None:
        lines.append(header)
        nested = {k: v for k, v in body.items() if isinstance(v, dict)}
        lines.extend(f"{k} = {scalar(v)}" for k, v in body.items() if k not in nested)
        name = header.strip("[]")
        for key, sub in nested.items():
            table(f"[{name}.{key}]", sub)

    for key, value in doc.items():
        if isinstance(value, dict):
            table(f"[{key}]", value)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for item in value:
                table(f"[[{key}]]", item)
        else:
            lines.insert(0, f"{key} = {scalar(value)}")
    return "\n".join(lines) + "\n"
