"""Who sent a 2.0b message: the TLS client certificate, else a verified signature, else (labs) nobody.

- Over mutual TLS the client certificate identifies a VEN client of the 3.1 API: its fingerprint
  was registered with `vtn clients add --role ven --cert-fingerprint FP` (the SHA-256 of the
  certificate, or the 2.0b short form: its last 10 bytes `AB:CD:..`), or the certificate names
  the client id (SAN URI `urn:energy-coordination:client:<id>`, else its CN). A certificate that
  identifies no VEN client is refused (463). The VEN may then only act for ven objects of that
  client (ctx.registered_ven and registration.create enforce it).
- Over plain HTTP a signed message is identified by the certificate in its signature, whose
  fingerprint must be registered (no CA checked it, so a name in it proves nothing), and the
  signature must then verify; an unsigned message (or one signed by a certificate nobody
  registered) has no identity and falls back to venName admission (labs), unless signatures are
  required, and never for a ven object whose client registered a fingerprint (context.check_owner).
- Signatures: when present they are verified against the sender's certificate (the TLS one over
  TLS); with `require_signatures` a message without a valid signature is refused (463).
- Revocation: when the VTN has a CRL (its TLS settings' crl_file, reloaded on SIGHUP), a message
  identified by its signature is refused (463) if the CRL lists the signing certificate, checked on
  every message like the TLS client certificate is (`client_certificate_guard`).

Certificate -> client lookups are cached per certificate for `identity_cache_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from shared.enums import Role
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.signing import SignatureRefused, XmlVerifier, signature_of, signing_certificate
from shared.oadr20b.xml import El
from shared.tls import fingerprint_sha256, fingerprint_short_2b
from vtn.core.core import Core
from vtn.oadr20b.settings import Oadr20bSettings
from vtn.tls_runtime import PeerCertificate

_MAX_CACHED = 100_000
CrlSource = Callable[[], x509.CertificateRevocationList | None]


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity behind one message; `client_id` None = lab admission by oadrVenName."""

    client_id: str | None = None
    via: str = "name"  # tls | signature | name
    signed: bool = False


LAB = Caller()


class Identities:
    """Certificate -> VEN client id, from the clients table, cached briefly (one per service)."""

    def __init__(self, core: Core, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[tuple[bytes, str | None], tuple[float, str | None]] = {}

    async def client_of(self, der: bytes, identity: str | None) -> str | None:
        """The VEN client registered for the certificate's fingerprint, else (if given) named `identity`."""
        now = self.clock()
        key = (der, identity)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await self._lookup(der, identity)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        if self.ttl_s > 0:
            self._cache[key] = (now + self.ttl_s, found)
        return found

    async def _lookup(self, der: bytes, identity: str | None) -> str | None:
        short = fingerprint_short_2b(der)
        async with self.core.read() as tx:
            record = await tx.clients.by_fingerprint(fingerprint_sha256(der))
            if record is None:
                record = await tx.clients.by_fingerprint(short)
            if record is None and identity:
                record = await tx.clients.get(identity)
        if record is None or record.role != Role.VEN:
            return None
        return record.client_id


class Revocations:
    """The serials of the VTN's current CRL, indexed once per CRL object (a reload brings a new one)."""

    def __init__(self, source: CrlSource) -> None:
        self.source = source
        self._crl: x509.CertificateRevocationList | None = None
        self._serials: dict[int, datetime] = {}

    def check(self, cert: x509.Certificate) -> None:
        """Raise SignatureRefused if the current CRL lists `cert` (a CRL only speaks for its issuer)."""
        crl = self.source()
        if crl is None:
            return
        if crl is not self._crl:
            self._serials = {entry.serial_number: entry.revocation_date_utc for entry in crl}
            self._crl = crl
        revoked = self._serials.get(cert.serial_number)
        if revoked is not None and cert.issuer == crl.issuer:
            fingerprint = fingerprint_short_2b(_der(cert))
            raise SignatureRefused(
                f"the signing certificate {fingerprint} was revoked on {revoked.isoformat()}"
            )


class Admission:
    """Decides the Caller of a parsed payload, verifying its signature where one counts."""

    def __init__(
        self, core: Core, settings: Oadr20bSettings, verifier: XmlVerifier, crl: CrlSource | None = None
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.identities = Identities(core, settings.identity_cache_seconds)
        self.revocations = Revocations(crl or (lambda: None))

    async def caller(self, root: El | None, peer: PeerCertificate | None) -> Caller:
        """`root` None: a payload known to be unsigned (remembered by its bytes)."""
        signed = root is not None and signature_of(root) is not None
        require = self.settings.require_signatures
        if peer is not None:
            client_id = await self.identities.client_of(peer.der, peer.identity)
            if client_id is None:
                raise Oadr20bError(
                    ResponseCode.NOT_REGISTERED_OR_AUTHORIZED,
                    f"the client certificate {fingerprint_short_2b(peer.der)} identifies no VEN client: "
                    "register it with `vtn clients add --role ven --cert-fingerprint`",
                )
            if root is not None and (signed or require):
                self.verifier.verify(root, peer.certificate)
            elif require:
                raise SignatureRefused("the message is not signed (ds:Signature required)")
            return Caller(client_id=client_id, via="tls", signed=signed or require)
        if root is None or not signed:
            if require:
                raise SignatureRefused("the message is not signed (ds:Signature required)")
            return LAB
        cert = signing_certificate(root, self.verifier.certificates)
        # No CA vouched for this certificate: only a registered fingerprint identifies its owner.
        client_id = None if cert is None else await self.identities.client_of(_der(cert), None)
        if cert is None or client_id is None:
            if require:
                raise SignatureRefused("the signing certificate identifies no VEN client")
            return LAB  # a lab peer signing with a certificate nobody registered: nothing to check against
        self.revocations.check(cert)
        self.verifier.verify(root, cert)
        return Caller(client_id=client_id, via="signature", signed=True)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)
