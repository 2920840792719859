"""Settings of the 2.0b profile, read from VtnConfig keys prefixed `oadr20b_` (defaults until they exist)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from vtn.config import VtnConfig

# Owner (clientID) of ven objects created by open registration: no 3.1 client holds it, so only BL
# sees those vens and their reports through the 3.1 API.
OPEN_REGISTRATION_CLIENT_ID = "oadr20b-open-registration"
PREFIX = "/OpenADR2/Simple/2.0b"


@dataclass(frozen=True, kw_only=True)
class Oadr20bSettings:
    # Not all lower-case: OpenLEADR VENs answer 452 to an all-lower-case vtnID.
    vtn_id: str = "EnergyCoordinationVTN"
    # Labs only: admit any venName (creating its ven object) instead of only those BL created.
    open_registration: bool = False
    poll_freq: timedelta = timedelta(seconds=10)
    max_bytes: int = 1024 * 1024
    max_depth: int = 40
    # Ask every registered TELEMETRY report for data (granularity = the VEN's fastest sampling rate).
    request_telemetry: bool = True
    # XML signatures (see shared/oadr20b/signing.py): sign answers with this certificate and key;
    # refuse unsigned messages; accept signed ones at most this old (nonces remembered as long).
    sign: bool = False
    sign_cert_file: str | None = None
    sign_key_file: str | None = None
    require_signatures: bool = False
    replay_window: timedelta = timedelta(seconds=60)
    # How long a certificate -> client mapping is reused (client removal takes effect within it).
    identity_cache_seconds: float = 60.0

    @classmethod
    def from_config(cls, config: VtnConfig) -> Oadr20bSettings:
        """Pick `oadr20b_*` keys when VtnConfig has them (see the integration notes); else defaults."""
        d = cls()
        return cls(
            vtn_id=str(getattr(config, "oadr20b_vtn_id", d.vtn_id)),
            open_registration=bool(getattr(config, "oadr20b_open_registration", d.open_registration)),
            poll_freq=timedelta(
                seconds=float(getattr(config, "oadr20b_poll_seconds", d.poll_freq.total_seconds()))
            ),
            max_bytes=int(getattr(config, "oadr20b_max_bytes", d.max_bytes)),
            sign=bool(getattr(config, "oadr20b_sign", d.sign)),
            sign_cert_file=getattr(config, "oadr20b_sign_cert_file", None) or config.tls.cert_file,
            sign_key_file=getattr(config, "oadr20b_sign_key_file", None) or config.tls.key_file,
            require_signatures=bool(getattr(config, "oadr20b_require_signatures", d.require_signatures)),
            replay_window=timedelta(
                seconds=float(
                    getattr(config, "oadr20b_replay_window_seconds", d.replay_window.total_seconds())
                )
            ),
        )
