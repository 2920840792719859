"""The `[vtn]` keys of a ven.toml that speaks OpenADR 2.0b (`protocol = "2.0b"`).

    [vtn]
    protocol = "2.0b"
    url = "https://vtn.example:8443/OpenADR2/Simple/2.0b"   # the simpleHttp prefix
    vtn_id = "EnergyCoordinationVTN"      # optional: refuse answers that name another vtnID
    sign = true                            # sign our messages (with [vtn.tls] cert_file/key_file)
    require_signatures = true              # refuse VTN answers without a valid signature
    vtn_fingerprint = "AB:CD:..."          # optional: the VTN signing certificate (2.0b short form)
    report_seconds = 10                    # fastest telemetry sampling we offer (default: [[telemetry]])
    [vtn.tls]                              # mutual TLS: the same certificate identifies and signs
    ca_file = "certs/ca.crt"
    cert_file = "var/ven.crt"
    key_file = "var/ven.key"

VTN signatures are verified against the certificate whose short fingerprint is `vtn_fingerprint`,
else against the VTN's TLS server certificate; `client_id`/`client_secret` are not used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ven.config import ConfigError

_FINGERPRINT = re.compile(r"^([0-9A-Fa-f]{2}:){9}[0-9A-Fa-f]{2}$")


@dataclass(frozen=True, kw_only=True)
class Oadr20bVenSettings:
    vtn_id: str | None = None
    sign: bool = False
    sign_cert_file: str | None = None
    sign_key_file: str | None = None
    require_signatures: bool = False
    vtn_fingerprint: str | None = None
    report_seconds: float | None = None
    replay_window_seconds: float = 60.0


def parse(vtn: Mapping[str, Any], tls: Mapping[str, Any]) -> Oadr20bVenSettings:
    """Read the 2.0b keys of `[vtn]` (and the signing files from `[vtn.tls]`); ConfigError names the key."""
    sign = _bool(vtn, "sign")
    cert = _opt_str(vtn, "sign_cert_file") or _opt_str(tls, "cert_file", "vtn.tls")
    key = _opt_str(vtn, "sign_key_file") or _opt_str(tls, "key_file", "vtn.tls")
    if sign and (cert is None or key is None):
        raise ConfigError(
            "vtn.sign: needs vtn.tls.cert_file and vtn.tls.key_file (or vtn.sign_cert_file/key_file)"
        )
    fingerprint = _opt_str(vtn, "vtn_fingerprint")
    if fingerprint is not None and not _FINGERPRINT.match(fingerprint):
        raise ConfigError(
            "vtn.vtn_fingerprint: ten colon-separated hex bytes, e.g. 98:20:0C:11:D3:6C:7C:BC:49:40"
        )
    seconds = vtn.get("report_seconds")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0
    ):
        raise ConfigError(f"vtn.report_seconds: must be a positive number of seconds, got {seconds!r}")
    window = vtn.get("replay_window_seconds", 60.0)
    if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
        raise ConfigError(f"vtn.replay_window_seconds: must be a positive number of seconds, got {window!r}")
    return Oadr20bVenSettings(
        vtn_id=_opt_str(vtn, "vtn_id"),
        sign=sign,
        sign_cert_file=cert,
        sign_key_file=key,
        require_signatures=_bool(vtn, "require_signatures"),
        vtn_fingerprint=None if fingerprint is None else fingerprint.upper(),
        report_seconds=None if seconds is None else float(seconds),
        replay_window_seconds=float(window),
    )


def _opt_str(doc: Mapping[str, Any], key: str, where: str = "vtn") -> str | None:
    value = doc.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where}.{key}: must be a non-empty string")
    return value


def _bool(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"vtn.{key}: must be true or false, got {value!r}")
    return value
