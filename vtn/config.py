"""VTN configuration: defaults, then a TOML file, then VTN_* environment variables, then CLI flags.

`VtnConfig.load` is the only reader of os.environ in the VTN.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtn.notify.callbacks import CallbackPolicy
from vtn.notify.policy import DeliveryPolicy
from vtn.programs.jobs import JobKind, ProgramJob, parse_jobs

DEFAULT_DB_URL = "sqlite:///var/vtn.db"
BASE_PATH = "/openadr3/3.1.0"


@dataclass(frozen=True, kw_only=True)
class ExternalIssuer:
    """Trust access tokens from a utility's own identity server instead of (or besides) ours."""

    public_key_file: str
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    # Claim holding the client id; `sub` by default (Keycloak puts it in `azp`/`client_id`).
    client_id_claim: str = "sub"
    # Claim holding the space-separated scopes.
    scope_claim: str = "scope"


@dataclass(frozen=True, kw_only=True)
class TlsSettings:
    # Server certificate and key (PEM); both set turn HTTPS on (--tls-cert, --tls-key).
    cert_file: str | None = None
    key_file: str | None = None
    # CA bundle that client certificates must chain to (--client-ca).
    client_ca_file: str | None = None
    client_cert: str = "none"  # none | optional | required (--client-cert)
    # Certificate revocation list (PEM), signed by a CA of client_ca_file; reloaded on SIGHUP (--crl).
    crl_file: str | None = None


@dataclass(frozen=True, kw_only=True)
class VtnConfig:
    # Address and port to listen on (0.0.0.0 for every interface; port 0 picks a free one).
    host: str = "127.0.0.1"
    port: int = 8080
    # sqlite:///path/vtn.db or postgresql://user:password@host:5432/db (the async driver is picked).
    db_url: str = DEFAULT_DB_URL
    # Path prefix of the OpenADR 3.1 API.
    base_path: str = BASE_PATH
    # Public base URL as clients see it (for /auth/server's tokenURL); derived from the request if unset.
    public_url: str | None = None
    # Lifetime of the access tokens we issue; largest request body accepted (413 above).
    token_ttl_seconds: int = 3600
    max_body_bytes: int = 1024 * 1024
    # Our own token endpoint; turn off when an external issuer is the only authority.
    issue_tokens: bool = True
    external_issuer: ExternalIssuer | None = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    # CA directory (`vtn ca init --dir`) for API certificate onboarding; unset turns the API off.
    ca_dir: str | None = None
    # DEBUG, INFO, WARNING or ERROR.
    log_level: str = "INFO"
    # Observability (docs/observability.md): `log_format` text | json; one access log line per request;
    # Prometheus metrics at /metrics (`metrics_dir`: where several processes sharing a port keep them;
    # `vtn serve --reuse-port` picks one when unset); `health_port` > 0 opens a plain-HTTP listener for
    # /health, /ready and /metrics (for load balancers and scrapers without a client certificate).
    log_format: str = "text"
    access_log: bool = True
    metrics: bool = True
    metrics_dir: str | None = None
    health_port: int = 0
    health_host: str | None = None
    # How often each process records which clients called (VENs seen, first-seen log lines).
    contacts_flush_seconds: float = 10.0
    # OpenADR 2.0b profile: our vtnID (not all lower-case: an OpenLEADR quirk), admission, poll period.
    oadr20b_vtn_id: str = "EnergyCoordinationVTN"
    oadr20b_open_registration: bool = False
    oadr20b_poll_seconds: float = 10.0
    oadr20b_max_bytes: int = 1024 * 1024
    # 2.0b XML signatures: sign every answer (certificate/key: oadr20b_sign_*_file, else tls cert/key),
    # refuse unsigned messages, and how old a signed message may be (replay window).
    oadr20b_sign: bool = False
    oadr20b_require_signatures: bool = False
    oadr20b_sign_cert_file: str | None = None
    oadr20b_sign_key_file: str | None = None
    oadr20b_replay_window_seconds: float = 60.0
    # Read cache (see vtn/services/read_cache.py): how long other processes' writes may take to show
    # in polled answers, and in the targets granted to VENs. 0 turns a cache off.
    read_cache_seconds: float = 1.0
    # Answers that do not depend on the clock (all but `active=true` event lists) are kept until a
    # write changes what they hold (change stamps), and at most this long.
    read_cache_max_seconds: float = 60.0
    grant_cache_seconds: float = 300.0
    # How often each process checks whether other processes changed what VENs may read.
    cache_poll_seconds: float = 0.5
    # Reverse-proxy mode (vtn/proxy_tls.py, deploy/nginx/): TLS and client certificates end at a proxy
    # that forwards the client certificate (URL-escaped PEM, nginx's $ssl_client_escaped_cert) in
    # `client_cert_header`. Only connections from `trusted_proxies` (addresses or networks; a list, or
    # CSV from the environment) may carry it; unset turns the mode off. `proxy_client_ca_file` (the CA
    # bundle forwarded certificates must be issued by) and `proxy_crl_file` repeat the proxy's checks.
    trusted_proxies: str | list[str] | None = None
    client_cert_header: str = "X-SSL-Client-Cert"
    proxy_client_ca_file: str | None = None
    proxy_crl_file: str | None = None
    # SO_REUSEPORT, so that several `vtn serve` processes can share one port.
    reuse_port: bool = False
    # Worker processes that validate and serialise `POST /reports` bodies on other cores (vtn/intake);
    # 0: in the serving process. One is worth it wherever a core is free (docs/performance.md).
    intake_workers: int = 0
    # Webhooks: the spec's checks, each relaxable for plain-HTTP labs and loopback tests.
    webhook_require_https: bool = True
    webhook_allow_private: bool = False
    webhook_echo_challenge: bool = True
    # Run the outbox delivery worker in this process (turn off for API-only replicas).
    delivery_worker: bool = True
    delivery_timeout_seconds: float = 10.0
    delivery_concurrency: int = 256
    outbox_lease_seconds: float = 30.0
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 3600.0
    retry_give_up_seconds: float = 86400.0
    # Webhook POSTs to one host sent together on a keep-alive connection (HTTP/1.1 pipelining); 1: off.
    delivery_pipeline: int = 8
    # Delivered and given-up notifications, and the delivery log, are deleted once this old (0: never).
    outbox_retention_hours: float = 168.0
    # MQTT notifier binding: off unless a broker URL (mqtt://host:1883, mqtts://host:8883) is set.
    mqtt_broker_url: str | None = None
    # URIs advertised in GET /notifiers (list, or CSV from the environment); default: the broker URL.
    mqtt_public_uris: str | list[str] | None = None
    mqtt_topic_prefix: str = "openadr3"
    # Credentials of the VTN's own publishing connection (the broker ACL lets only it write).
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    # Program automation (vtn/programs/jobs.py, docs/programs.md): [[programs.prices]] and
    # [[programs.capacity]] jobs, the lease of a job's claim on a day, how often due jobs are checked.
    programs_prices: tuple[ProgramJob, ...] = ()
    programs_capacity: tuple[ProgramJob, ...] = ()
    programs_lease_seconds: float = 300.0
    programs_check_seconds: float = 60.0
    # Partner sandbox (docs/sandbox.md): per sandbox client, events not yet ended, simulated events and
    # test notifications per minute (kept per VTN process), and the longest simulated event.
    sandbox_max_events: int = 20
    sandbox_requests_per_minute: int = 30
    sandbox_max_duration_seconds: float = 86400.0
    # Limits against abuse (docs/security.md). A list answer holds objects while their documents
    # stay under list_max_bytes (the client pages on with skip); stored reports per VEN client, and
    # the vens, resources and subscriptions a VEN client may own (0: no limit; BL has none).
    list_max_bytes: int = 4 * 1024 * 1024
    ven_max_reports: int = 100_000
    ven_max_report_bytes: int = 1024 * 1024 * 1024
    ven_max_vens: int = 100
    ven_max_resources: int = 10_000
    ven_max_subscriptions: int = 100
    # Requests per second (and burst) per authenticated client and per remote address; 0: off.
    rate_per_client: float = 50.0
    burst_per_client: int = 200
    rate_per_address: float = 200.0
    burst_per_address: int = 800
    # The token endpoint, per remote address: stricter.
    token_rate_per_address: float = 2.0
    token_burst_per_address: int = 20
    # After this many refused logins in a row, a client id is locked out for lockout_base_seconds,
    # doubling with each further refusal up to lockout_max_seconds (shared by every VTN process).
    lockout_after_failures: int = 5
    lockout_base_seconds: float = 1.0
    lockout_max_seconds: float = 900.0
    # Slow clients: a request head must arrive within header_timeout_seconds, its body within
    # body_timeout_seconds; idle keep-alive connections close after idle_timeout_seconds.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 60.0
    idle_timeout_seconds: float = 75.0
    # Open connections per process (also kept under the process's file limit).
    max_connections: int = 4096
    # Audit log rows (BL and operator changes, refused logins) are deleted once this old (0: never).
    audit_retention_days: float = 365.0

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> VtnConfig:
        """Build the configuration: file < environment < explicit overrides (None values ignored)."""
        values: dict[str, Any] = {}
        if config_file is not None:
            with open(config_file, "rb") as fh:
                values.update(_flatten_toml(tomllib.load(fh)))
        values.update(_from_env(os.environ if env is None else env))
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls._build(values)

    @classmethod
    def _build(cls, values: dict[str, Any]) -> VtnConfig:
        tls_keys = {f.name for f in dataclasses.fields(TlsSettings)}
        tls = TlsSettings(
            **{k[4:]: v for k, v in values.items() if k.startswith("tls_") and k[4:] in tls_keys}
        )
        ext = None
        if values.get("jwt_public_key_file"):
            ext = ExternalIssuer(
                public_key_file=str(values["jwt_public_key_file"]),
                issuer=values.get("jwt_issuer"),
                audience=values.get("jwt_audience"),
                client_id_claim=str(values.get("jwt_client_id_claim", "sub")),
                scope_claim=str(values.get("jwt_scope_claim", "scope")),
            )
        own = {f.name for f in dataclasses.fields(cls)} - {"tls", "external_issuer"}
        unknown = set(values) - own - {f"tls_{k}" for k in tls_keys} - EXTERNAL_KEYS
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
        for kind in JobKind:
            if f"programs_{kind.value}" in values:
                values[f"programs_{kind.value}"] = parse_jobs(kind, values[f"programs_{kind.value}"])
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs = {k: _coerce(k, types[k], values[k]) for k in own if k in values}
        if tls.client_cert not in ("none", "optional", "required"):
            raise ValueError("tls client_cert must be none, optional or required")
        if kwargs.get("log_format", "text") not in ("text", "json"):
            raise ValueError("log_format must be text or json")
        if not 0 <= kwargs.get("health_port", 0) <= 65535:
            raise ValueError("health_port must be between 0 (off) and 65535")
        if not 0 <= kwargs.get("port", 0) <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {kwargs['port']}")
        if not 0 <= kwargs.get("intake_workers", 0) <= 64:
            raise ValueError("intake_workers must be between 0 and 64")
        return cls(tls=tls, external_issuer=ext, **kwargs)


# The keys of an external token issuer (ExternalIssuer), written jwt_<field> in files and the environment.
EXTERNAL_KEYS = {
    "jwt_public_key_file",
    "jwt_issuer",
    "jwt_audience",
    "jwt_client_id_claim",
    "jwt_scope_claim",
}


def _coerce(name: str, kind: object, value: Any) -> Any:
    """Environment values arrive as strings; give each field its declared type."""
    try:
        if kind == "bool" and isinstance(value, str):
            if value.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except ValueError as exc:
        raise ValueError(f"configuration key {name!r}: {value!r} is not a valid {kind}") from exc
    return value


def _flatten_toml(doc: Mapping[str, Any]) -> dict[str, Any]:
    """`[vtn] port = 1` and `[tls] cert_file = ...` sections become `port`, `tls_cert_file`."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, Mapping):
            prefix = "" if key == "vtn" else f"{key}_"
            for sub, inner in value.items():
                out[f"{prefix}{sub}"] = inner
        else:
            out[key] = value
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """VTN_<KEY> for every known key (e.g. VTN_DB_URL, VTN_PORT, VTN_TLS_CERT_FILE); others are ignored."""
    known = {f.name for f in dataclasses.fields(VtnConfig)} | EXTERNAL_KEYS
    known |= {f"tls_{f.name}" for f in dataclasses.fields(TlsSettings)}
    picked = {k[4:].lower(): v for k, v in env.items() if k.startswith("VTN_")}
    return {k: v for k, v in picked.items() if k in known}


def delivery_policy(config: VtnConfig) -> DeliveryPolicy:
    return DeliveryPolicy(
        timeout_s=config.delivery_timeout_seconds,
        concurrency=config.delivery_concurrency,
        pipeline=config.delivery_pipeline,
        lease_s=config.outbox_lease_seconds,
        base_delay_s=config.retry_base_seconds,
        max_delay_s=config.retry_max_seconds,
        give_up_after_s=config.retry_give_up_seconds,
        allow_private=config.webhook_allow_private,
    )


def callback_policy(config: VtnConfig) -> CallbackPolicy:
    return CallbackPolicy(
        require_https=config.webhook_require_https,
        allow_private=config.webhook_allow_private,
        echo_challenge=config.webhook_echo_challenge,
        timeout_s=config.delivery_timeout_seconds,
    )
