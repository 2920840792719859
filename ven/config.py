"""VEN agent configuration: a TOML file, overridden by VEN_* environment variables.

`VenConfig.load` is the only reader of os.environ in the VEN. Every problem is reported as a
ConfigError naming the key (e.g. `resources[1].adapter`) before anything is sent to the VTN; an
unknown key (a typo such as `poll_secs`) is refused as the VTN's configuration refuses it, with the
closest known key suggested. `client_secret` may be left out when a client certificate is
configured: the VTN then authenticates the certificate (RFC 8705 tls_client_auth).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ven.oadr20b.config import Oadr20bVenSettings

_ID = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_OADR30_PATH = re.compile(r"/3\.0\.\d+(?=/|$)")  # e.g. /openadr3/3.0.1: the VTN's 3.0.1 front-end
RECEIVE_MODES = ("poll", "webhook", "mqtt")
PROTOCOLS = ("3.1", "2.0b")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PLACEHOLDER = "CHANGE_ME"  # what examples/ven-*.toml ship instead of credentials

# The keys each table knows (the 2.0b ones only with `[vtn] protocol = "2.0b"`).
_TOP_KEYS = frozenset({"vtn", "ven", "events", "resources", "telemetry"})
_VTN_KEYS = frozenset({"url", "protocol", "client_id", "client_secret", "tls"})
_VTN_20B_KEYS = frozenset(
    {
        "vtn_id",
        "sign",
        "sign_cert_file",
        "sign_key_file",
        "require_signatures",
        "vtn_fingerprint",
        "report_seconds",
        "replay_window_seconds",
    }
)
_TLS_KEYS = frozenset({"ca_file", "cert_file", "key_file", "pin_sha256", "insecure"})
_VEN_KEYS = frozenset({"name", "id", "state_dir", "seed", "log_level"})
_EVENTS_KEYS = frozenset(
    {"mode", "poll_seconds", "reconcile_seconds", "webhook_host", "webhook_port", "webhook_public_url"}
)
_RESOURCE_KEYS = frozenset({"id", "name", "type", "adapter", "options", "attributes"})
_TELEMETRY_KEYS = frozenset({"name", "every_seconds", "payload_types"})


class ConfigError(ValueError):
    """The configuration is unusable; the message names the key and the problem."""


@dataclass(frozen=True, kw_only=True)
class TlsClientConfig:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    pin_sha256: str | None = None
    insecure: bool = False


@dataclass(frozen=True, kw_only=True)
class ResourceConfig:
    id: str
    name: str
    resource_type: str
    adapter: str
    options: Mapping[str, object] = field(default_factory=dict)
    # Attributes registered with the VTN, e.g. {"MAX_POWER_CONSUMPTION": 11.0}.
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TelemetryConfig:
    """A periodic report: readings of every resource, attached to each active event of the VEN."""

    name: str
    every_seconds: float
    payload_types: tuple[str, ...] = ("USAGE", "DEMAND")


@dataclass(frozen=True, kw_only=True)
class ReceiveConfig:
    mode: str = "poll"
    poll_seconds: float = 10.0
    # Even with push notifications the agent re-reads its events this often (safety net).
    reconcile_seconds: float = 60.0
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 0
    webhook_public_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class VenConfig:
    vtn_url: str
    client_id: str
    # None: no secret, the TLS client certificate authenticates the VEN (3.1 over mutual TLS, or 2.0b).
    client_secret: str | None
    ven_name: str
    ven_id: str | None = None
    state_dir: str = "var/ven"
    seed: int | None = None
    tls: TlsClientConfig = field(default_factory=TlsClientConfig)
    receive: ReceiveConfig = field(default_factory=ReceiveConfig)
    resources: tuple[ResourceConfig, ...] = ()
    telemetry: tuple[TelemetryConfig, ...] = ()
    log_level: str = "INFO"
    # `[vtn] protocol = "2.0b"`: speak OpenADR 2.0b simpleHttp (ven/oadr20b) instead of 3.1.
    protocol: str = "3.1"
    oadr20b: Oadr20bVenSettings | None = None

    @classmethod
    def load(cls, path: str | Path | None, env: Mapping[str, str] | None = None) -> VenConfig:
        doc: dict[str, Any] = {}
        if path is not None:
            try:
                with open(path, "rb") as fh:
                    doc = tomllib.load(fh)
            except OSError as exc:
                raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        return cls.from_dict(doc, os.environ if env is None else env)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], env: Mapping[str, str]) -> VenConfig:
        _known(doc, "", _TOP_KEYS)
        vtn = _table(doc, "vtn")
        ven = _table(doc, "ven")
        url = env.get("VEN_VTN_URL") or _str(vtn, "vtn.url", "url")
        protocol = str(vtn.get("protocol", "3.1"))
        if protocol not in PROTOCOLS:
            raise ConfigError(f"vtn.protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if protocol == "2.0b":
            _known(vtn, "vtn", _VTN_KEYS | _VTN_20B_KEYS)
        else:
            for key in vtn:
                if key in _VTN_20B_KEYS:
                    raise ConfigError(f'vtn.{key}: only for protocol = "2.0b" (this agent speaks 3.1)')
            _known(vtn, "vtn", _VTN_KEYS)
        tls_doc = _table(vtn, "vtn.tls", "tls")
        _known(tls_doc, "vtn.tls", _TLS_KEYS)
        if protocol == "2.0b":  # 2.0b has no OAuth2 clients: certificates or venName identify the VEN
            client_id = env.get("VEN_CLIENT_ID") or str(vtn.get("client_id", ""))
            secret: str | None = env.get("VEN_CLIENT_SECRET") or str(vtn.get("client_secret", ""))
        else:
            client_id = env.get("VEN_CLIENT_ID") or _str(vtn, "vtn.client_id", "client_id")
            secret = (
                env.get("VEN_CLIENT_SECRET") or _opt_str(vtn, "vtn.client_secret", "client_secret") or None
            )
            if secret is None and not tls_doc.get("cert_file"):
                raise ConfigError(
                    "vtn.client_secret: required, a non-empty string "
                    "(or a client certificate, vtn.tls.cert_file, to log in without one)"
                )
            _not_placeholder("vtn.client_id", client_id, "VEN_CLIENT_ID")
            _not_placeholder("vtn.client_secret", secret, "VEN_CLIENT_SECRET")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"vtn.url: {url!r} must start with http:// or https://")
        if protocol == "3.1" and _OADR30_PATH.search(url):
            raise ConfigError(
                f"vtn.url: {url} is an OpenADR 3.0 API; this agent speaks 3.1: "
                f"use {_OADR30_PATH.sub('/3.1.0', url, count=1)}"
            )
        _known(ven, "ven", _VEN_KEYS)
        name = _str(ven, "ven.name", "name")
        ven_id = ven.get("id")
        if ven_id is not None and not (isinstance(ven_id, str) and _ID.match(ven_id)):
            raise ConfigError("ven.id: use 1-128 letters, digits, '_' or '-'")
        tls = TlsClientConfig(
            ca_file=_opt_str(tls_doc, "vtn.tls.ca_file", "ca_file"),
            cert_file=_opt_str(tls_doc, "vtn.tls.cert_file", "cert_file"),
            key_file=_opt_str(tls_doc, "vtn.tls.key_file", "key_file"),
            pin_sha256=_opt_str(tls_doc, "vtn.tls.pin_sha256", "pin_sha256"),
            insecure=_bool(tls_doc, "vtn.tls.insecure", "insecure"),
        )
        if (tls.cert_file is None) != (tls.key_file is None):
            have, missing = ("cert_file", "key_file") if tls.key_file is None else ("key_file", "cert_file")
            raise ConfigError(f"vtn.tls.{missing}: required when vtn.tls.{have} is set (they go together)")
        resources = tuple(_resource(r, i) for i, r in enumerate(_list(doc, "resources")))
        telemetry = tuple(_telemetry(t, i) for i, t in enumerate(_list(doc, "telemetry")))
        _unique("resources", "id", [r.id for r in resources])
        _unique("resources", "name", [r.name for r in resources])
        _unique("telemetry", "name", [t.name for t in telemetry])
        log_level = str(ven.get("log_level", "INFO")).upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"ven.log_level: {log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        oadr20b = None
        if protocol == "2.0b":
            from ven.oadr20b.config import parse

            oadr20b = parse(vtn, tls_doc)
        return cls(
            vtn_url=url.rstrip("/"),
            client_id=client_id,
            client_secret=secret,
            ven_name=name,
            ven_id=ven_id,
            state_dir=env.get("VEN_STATE_DIR") or str(ven.get("state_dir", f"var/ven-{name}")),
            seed=_opt_int(ven, "ven.seed", "seed"),
            tls=tls,
            receive=_receive(_table(doc, "events")),
            resources=resources,
            telemetry=telemetry,
            log_level=log_level,
            protocol=protocol,
            oadr20b=oadr20b,
        )


def _known(doc: Mapping[str, Any], where: str, keys: frozenset[str]) -> None:
    """Refuse a key the table does not know, suggesting the closest known one (typos fail loudly)."""
    prefix = f"{where}." if where else ""
    for key in doc:
        if key not in keys:
            close = difflib.get_close_matches(str(key), sorted(keys), n=1, cutoff=0.6) or sorted(
                k
                for k in keys
                if len(str(key)) >= 3 and k.startswith(str(key))  # `every` for `every_seconds`
            )
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f" (known: {', '.join(sorted(keys))})"
            raise ConfigError(f"{prefix}{key}: unknown key{hint}")


def _not_placeholder(where: str, value: str | None, env_name: str) -> None:
    if value == PLACEHOLDER:
        raise ConfigError(
            f"{where}: still {PLACEHOLDER} from the example: replace it with the VEN's credentials "
            f"(`vtn clients add --name NAME --role ven --json` prints them) or set {env_name}"
        )


def _receive(doc: Mapping[str, Any]) -> ReceiveConfig:
    _known(doc, "events", _EVENTS_KEYS)
    mode = str(doc.get("mode", "poll"))
    if mode not in RECEIVE_MODES:
        raise ConfigError(f"events.mode: {mode!r} is not one of {', '.join(RECEIVE_MODES)}")
    return ReceiveConfig(
        mode=mode,
        poll_seconds=_positive(doc, "events.poll_seconds", "poll_seconds", 10.0),
        reconcile_seconds=_positive(doc, "events.reconcile_seconds", "reconcile_seconds", 60.0),
        webhook_host=str(doc.get("webhook_host", "127.0.0.1")),
        webhook_port=_port(doc, "events.webhook_port", "webhook_port"),
        webhook_public_url=_opt_str(doc, "events.webhook_public_url", "webhook_public_url"),
    )


def _resource(doc: Any, index: int) -> ResourceConfig:
    where = f"resources[{index}]"
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _known(doc, where, _RESOURCE_KEYS)
    rid = _str(doc, f"{where}.id", "id")
    if not _ID.match(rid):
        raise ConfigError(f"{where}.id: {rid!r} must be 1-128 letters, digits, '_' or '-'")
    return ResourceConfig(
        id=rid,
        name=str(doc.get("name", rid)),
        resource_type=str(doc.get("type", "GENERIC")),
        adapter=_str(doc, f"{where}.adapter", "adapter"),
        options=dict(_table(doc, f"{where}.options", "options")),
        attributes=dict(_table(doc, f"{where}.attributes", "attributes")),
    )


def _telemetry(doc: Any, index: int) -> TelemetryConfig:
    where = f"telemetry[{index}]"
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _known(doc, where, _TELEMETRY_KEYS)
    types = doc.get("payload_types", ["USAGE", "DEMAND"])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types) or not types:
        raise ConfigError(f"{where}.payload_types: a non-empty list of payload type names")
    return TelemetryConfig(
        name=str(doc.get("name", f"telemetry-{index}")),
        every_seconds=_positive(doc, f"{where}.every_seconds", "every_seconds", None),
        payload_types=tuple(types),
    )


def _table(doc: Mapping[str, Any], where: str, key: str | None = None) -> Mapping[str, Any]:
    value = doc.get(key or where, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be a table")
    return value


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{key}: must be an array of tables ([[{key}]])")
    return value


def _str(doc: Mapping[str, Any], where: str, key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: required, a non-empty string")
    return value


def _opt_str(doc: Mapping[str, Any], where: str, key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: must be a string")
    return value


def _opt_int(doc: Mapping[str, Any], where: str, key: str) -> int | None:
    value = doc.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}: must be an integer")
    return value


def _bool(doc: Mapping[str, Any], where: str, key: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):  # a string "false" must not switch certificate checks off
        raise ConfigError(f"{where}: must be true or false, got {value!r}")
    return value


def _port(doc: Mapping[str, Any], where: str, key: str) -> int:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"{where}: must be a port number 0-65535 (0 = any free port), got {value!r}")
    return value


def _unique(table: str, key: str, values: list[str]) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise ConfigError(f"{table}[{index}].{key}: {value!r} is used twice")
        seen.add(value)


def _positive(doc: Mapping[str, Any], where: str, key: str, default: float | None) -> float:
    value = doc.get(key, default)
    if value is None:
        raise ConfigError(f"{where}: required, a number of seconds")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: must be a positive number of seconds, got {value!r}")
    return float(value)
