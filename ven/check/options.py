"""The settings of one `ven check` run (the command line as a typed record)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from ven.check.model import Protocol


@dataclass(frozen=True, kw_only=True)
class CheckOptions:
    vtn: str  # 3.x: the API base (…/openadr3/3.1.0); 2.0b: up to …/OpenADR2/Simple/2.0b
    protocol: Protocol = Protocol.V310
    client_id: str
    client_secret: str | None = None  # 2.0b: unused (admission is by venName and certificate)
    bl_client_id: str | None = None
    bl_client_secret: str | None = None
    ven2_client_id: str | None = None
    ven2_client_secret: str | None = None
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    # The webhook receiver the kit runs for the echo challenge and notifications.
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    callback_url: str | None = None  # as the VTN must call it, when not http://listen_host:port/
    wait_seconds: float = 10.0  # how long to wait for a notification
    # 2.0b
    ven_name: str | None = None  # default: client_id
    sign: bool = False  # sign our 2.0b messages with --cert/--key and require signed answers
    # Every object the kit creates is named with this prefix (and removed at the end).
    prefix: str = "ven-check"

    @property
    def has_bl(self) -> bool:
        return bool(self.bl_client_id and self.bl_client_secret)

    @property
    def has_ven2(self) -> bool:
        return bool(self.ven2_client_id and self.ven2_client_secret)

    def ssl_context(self, *, identity: bool = True) -> ssl.SSLContext | None:
        """TLS settings for the VTN (private CA; the client certificate unless `identity=False`),
        or None for the defaults. The certificate is the VEN's: BL and the second VEN never present
        it (a VTN that binds tokens to certificates would take them for the VEN)."""
        cert = self.cert if identity else None
        if not (self.ca or cert):
            return None
        from shared.tls import client_ssl_context

        return client_ssl_context(ca_file=self.ca, cert_file=cert, key_file=self.key if cert else None)
