"""The HTTPS listener's TLS state: settings checked, the site's one SSLContext (its files reloadable
on SIGHUP), and the current CRL the per-request checks use."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import cast

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from shared.tls import ClientCertMode, ReloadableServerTLS, fingerprint_sha256, load_certificate
from vtn.config import TlsSettings
from vtn.tls_runtime.certificates import RefusalSink
from vtn.tls_runtime.handshakes import HandshakeObserver, observe_handshakes

log = logging.getLogger("vtn.tls")

# DSA is left out: cryptography deprecates it (a warning on every import of its class) and no
# TLS 1.3 certificate chain can use it, so a DSA-signed CRL is reported as not signed by the CA.
_IssuerKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


def load_trusted_crl(crl_file: str | Path, client_ca_file: str | Path) -> x509.CertificateRevocationList:
    """The CRL in `crl_file`, after checking it is signed by a CA in `client_ca_file`."""
    crl = x509.load_pem_x509_crl(Path(crl_file).read_bytes())
    for ca in x509.load_pem_x509_certificates(Path(client_ca_file).read_bytes()):
        key = ca.public_key()
        if ca.subject == crl.issuer and isinstance(key, _IssuerKey) and crl.is_signature_valid(key):
            return crl
    raise ValueError(f"{crl_file} is not signed by any CA in {client_ca_file}")


def validate_settings(settings: TlsSettings) -> None:
    """Refuse combinations that cannot work, with a message naming the keys."""
    if (settings.cert_file is None) != (settings.key_file is None):
        raise ValueError("tls cert_file and key_file go together (--tls-cert and --tls-key)")
    if settings.cert_file is None:
        extras = [
            name
            for name, value in (
                ("client_ca_file", settings.client_ca_file),
                ("crl_file", settings.crl_file),
                ("client_cert", None if settings.client_cert == "none" else settings.client_cert),
            )
            if value
        ]
        if extras:
            raise ValueError(f"tls {', '.join(extras)} need HTTPS: set tls cert_file and key_file")
        return
    if settings.client_cert not in ("none", "optional", "required"):
        raise ValueError("tls client_cert must be none, optional or required")
    if settings.client_cert != "none" and settings.client_ca_file is None:
        raise ValueError(f"tls client_cert={settings.client_cert} needs client_ca_file (--client-ca)")
    if settings.crl_file is not None and settings.client_ca_file is None:
        raise ValueError("tls crl_file needs client_ca_file (--client-ca): the CRL's issuer")
    # OpenSSL's own "No such file or directory" does not say which file.
    for key in ("cert_file", "key_file", "client_ca_file", "crl_file"):
        path = getattr(settings, key)
        if path is not None and not Path(path).is_file():
            raise ValueError(f"tls {key}: {path} is not a readable file")


class ServerTls:
    """The VTN's TLS listener state: one context for the site, reloadable files, the current CRL."""

    def __init__(self, settings: TlsSettings) -> None:
        validate_settings(settings)
        if settings.cert_file is None or settings.key_file is None:
            raise ValueError("HTTPS needs tls cert_file and key_file")
        self.settings = settings
        self.mode = cast(ClientCertMode, settings.client_cert)
        self.crl = self._load_crl()
        self._tls = ReloadableServerTLS(
            settings.cert_file,
            settings.key_file,
            client_ca_file=settings.client_ca_file,
            client_cert_mode=self.mode,
            crl_file=settings.crl_file,
        )
        self.observer = HandshakeObserver(lambda: self.crl)
        self.observing = observe_handshakes(self._tls.context, self.observer)
        self.observing &= observe_handshakes(self._tls.active_context, self.observer)
        if not self.observing:
            log.warning("this Python has no SSLContext._msg_callback: refused handshakes are not logged")
        if settings.client_ca_file is not None and self.mode == "none":
            log.warning("tls client_ca_file is set but client_cert is none: no certificates are requested")

    @classmethod
    def from_settings(cls, settings: TlsSettings) -> ServerTls | None:
        """None for plain HTTP (no certificate configured); raises ValueError on bad settings."""
        validate_settings(settings)
        return None if settings.cert_file is None else cls(settings)

    @property
    def context(self) -> ssl.SSLContext:
        """Give this to the listener once; it stays the same object across reloads."""
        return self._tls.context

    def _load_crl(self) -> x509.CertificateRevocationList | None:
        s = self.settings
        if s.crl_file is None or s.client_ca_file is None:
            return None
        return load_trusted_crl(s.crl_file, s.client_ca_file)

    def reload(self) -> None:
        """Re-read certificate, key, client CA and CRL; on error nothing changes (the error propagates)."""
        validate_settings(self.settings)
        crl = self._load_crl()
        self._tls.reload()
        observe_handshakes(self._tls.active_context, self.observer)
        self.crl = crl
        cert = load_certificate(Path(str(self.settings.cert_file)).read_bytes())
        revoked = f", CRL with {len(crl)} revoked" if crl is not None else ""
        log.info(
            "reloaded TLS files: server certificate %s valid until %s%s",
            fingerprint_sha256(cert),
            cert.not_valid_after_utc.isoformat(),
            revoked,
        )

    def reload_logged(self) -> bool:
        """`reload` for a signal handler: failures are logged and the previous files stay in use."""
        try:
            self.reload()
        except (OSError, ValueError, ssl.SSLError) as exc:
            log.error("TLS reload failed, still serving the previous certificate and CRL: %s", exc)
            return False
        return True

    def install(self, app: web.Application) -> None:
        """Make the current CRL available to `client_certificate_guard` (before the app starts)."""
        app[SERVER_TLS] = self
        self.observer.on_refused = app.get(TLS_REFUSALS)


SERVER_TLS = web.AppKey("vtn_server_tls", ServerTls)
# Where refusals are counted (vtn.observability), if anywhere.
TLS_REFUSALS: web.AppKey[RefusalSink] = web.AppKey("vtn_tls_refusals")
