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
        )
