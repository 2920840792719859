"""Build the VEN agent for a configuration: the runtime (ven/runtime.py) with its protocol transport.

`build_agent(config)` makes the real parts: the TLS context (once, for either protocol), the
protocol client, the outbox in the state directory and the transport. Tests may pass their own
`client` (a fake of the wire, never of the logic) or `outbox`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from ven.adapters.registry import AdapterRegistry
from ven.config import VenConfig
from ven.outbox import ReportOutbox
from ven.runtime import VenRuntime, VenTransport, make_devices, utcnow

if TYPE_CHECKING:
    from ven.client import VtnClient
    from ven.oadr20b.client import Oadr20bClient

__all__ = ["VenRuntime", "build_agent"]


def build_agent(
    config: VenConfig,
    *,
    registry: AdapterRegistry | None = None,
    clock: Callable[[], datetime] = utcnow,
    client: VtnClient | Oadr20bClient | None = None,
    outbox: ReportOutbox | None = None,
) -> VenRuntime:
    """The agent for `config`; raises ValueError (AdapterError, ConfigError) for unusable settings."""
    devices = make_devices(config, registry)  # a bad adapter option fails before any file or socket
    transport: VenTransport
    if config.protocol == "2.0b":  # lxml and the XML signer are loaded only here
        from ven.oadr20b.transport import Oadr20bTransport, make_client

        settings = config.oadr20b
        assert settings is not None, "VenConfig.from_dict sets oadr20b for protocol 2.0b"
        transport = Oadr20bTransport(cast("Oadr20bClient", client or make_client(config, settings)), settings)
    else:
        from ven.oadr31.transport import Oadr31Transport
        from ven.oadr31.transport import make_client as make_client31

        transport = Oadr31Transport(cast("VtnClient", client or make_client31(config)))
    outbox = outbox or ReportOutbox(config.state_dir)
    return VenRuntime(config, transport, outbox=outbox, devices=devices, clock=clock)
