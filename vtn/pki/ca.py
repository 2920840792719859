"""A small file-backed certificate authority for the dev/test mutual-TLS PKI.

Directory layout (default `certs/`): `ca.key` (0600), `ca.crt`, `issued/<serial-hex>.crt`,
`revoked.json`, `crl.pem` and `requests/` (see `vtn.pki.onboarding`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.tls import CLIENT_URI_PREFIX, fingerprint_sha256, san_client_id
from vtn.pki.builders import (
    CLOCK_SKEW,
    CaKey,
    build_ca_certificate,
    build_crl,
    cert_kind,
    check_public_key,
    generate_key,
    leaf_key_usage,
    parse_reason,
    private_key_pem,
    subject_cn,
)
from vtn.pki.onboarding import OnboardingStore, load_csr
from vtn.pki.records import (
    CertificateRequest,
    IssuedCertificate,
    KeyType,
    PkiError,
    RevocationEntry,
    atomic_write,
    locked,
    validate_client_id,
)

IpLike = str | ipaddress.IPv4Address | ipaddress.IPv6Address

_STATE_FILES = ("ca.key", "ca.crt", "crl.pem", "revoked.json", "issued", "requests")


class CertificateAuthority:
    """The CA bound to one directory; create it with `init` or open it with `load`."""

    def __init__(
        self, directory: Path, key: CaKey, certificate: x509.Certificate, *, crl_days: int = 7
    ) -> None:
        if crl_days < 1:
            raise PkiError("the CRL must stay valid for at least one day")
        self._dir = directory
        self._key = key
        self._cert = certificate
        self._crl_days = crl_days
        self.onboarding = OnboardingStore(directory)

    # -- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str] = "certs",
        *,
        common_name: str = "Energy Coordination Dev CA",
        key_type: KeyType = "ec",
        rsa_bits: int = 2048,
        days: int = 3650,
        force: bool = False,
        crl_days: int = 7,
    ) -> CertificateAuthority:
        """Create a self-signed CA (ECDSA P-256 unless `key_type="rsa"`).

        Refuses to replace an existing CA unless `force`; the old one is then moved aside.
        """
        d = Path(directory)
        exists = (d / "ca.key").exists() or (d / "ca.crt").exists()
        if exists and not force:
            raise PkiError(
                f"a CA already exists in {d}/: pass --force to replace it "
                "(every certificate it issued stops being trusted)"
            )
        if days < 1:
            raise PkiError("the CA must be valid for at least one day")
        # Everything that can fail on bad arguments happens before the old CA is moved aside.
        key = generate_key(key_type, rsa_bits)
        cert = build_ca_certificate(key, common_name, days)
        if exists:
            _supersede(d)
        # Key first with 0600: a crash leaves at worst a key without a cert, never a readable key.
        atomic_write(d / "ca.key", private_key_pem(key), mode=0o600)
        atomic_write(d / "ca.crt", cert.public_bytes(serialization.Encoding.PEM))
        (d / "issued").mkdir(exist_ok=True)
        (d / "requests").mkdir(exist_ok=True)
        ca = cls(d, key, cert, crl_days=crl_days)
        ca._save_revocations([])
        ca.write_crl()
        return ca

    @classmethod
    def load(cls, directory: str | os.PathLike[str] = "certs", *, crl_days: int = 7) -> CertificateAuthority:
        """Open an existing CA; `PkiError` says how to create one if it is missing."""
        d = Path(directory)
        key_path, cert_path = d / "ca.key", d / "ca.crt"
        if not key_path.is_file() or not cert_path.is_file():
            raise PkiError(f"no CA in {d}/: run `vtn ca init --dir {d}`")
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (ValueError, TypeError) as exc:
            raise PkiError(f"cannot read the CA in {d}/: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise PkiError(f"{key_path} holds a {type(key).__name__}: only EC and RSA CAs are supported")
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            raise PkiError(
                f"{key_path} does not match {cert_path}: re-create the CA with `vtn ca init --force`"
            )
        return cls(d, key, cert, crl_days=crl_days)

    # -- accessors -----------------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    @property
    def cert_path(self) -> Path:
        return self._dir / "ca.crt"

    @property
    def crl_path(self) -> Path:
        return self._dir / "crl.pem"

    @property
    def key_type(self) -> KeyType:
        return "ec" if isinstance(self._key, ec.EllipticCurvePrivateKey) else "rsa"

    # -- issuing -------------------------------------------------------------------------------

    def issue_server(
        self, host: str, ips: Iterable[IpLike] = (), days: int = 825, *, key_type: KeyType | None = None
    ) -> tuple[bytes, bytes]:
        """A server certificate and its new private key, both PEM; `host` may be a name or an IP."""
        if not host or not host.isascii() or len(host) > 253:
            raise PkiError(f"invalid host name {host!r}")
        sans: list[x509.GeneralName] = []
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
        for ip in ips:
            try:
                entry = x509.IPAddress(ipaddress.ip_address(ip))
            except ValueError:
                raise PkiError(f"invalid IP address {ip!r}") from None
            if entry not in sans:
                sans.append(entry)
        key = generate_key(key_type or self.key_type)
        # CN is capped at 64 characters; longer names live only in the SAN, which then must be critical.
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, host)] if len(host) <= 64 else []
        cert = self._issue(
            x509.Name(attrs), key.public_key(), sans, ExtendedKeyUsageOID.SERVER_AUTH, self._validity(days)
        )
        return cert.public_bytes(serialization.Encoding.PEM), private_key_pem(key)

    def sign_csr(
        self,
        csr_pem: bytes | str,
        client_id: str,
        days: int = 365,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        """Issue a clientAuth certificate for `client_id` from a CSR.

        Only the CSR's key and Organization are used: the CN and the SAN URI come from `client_id`.
        `not_before`/`not_after` override the validity (tests use them for expired certificates).
        """
        validate_client_id(client_id)
        csr = load_csr(csr_pem)
        public_key = csr.public_key()
        check_public_key(public_key)
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, client_id[:64])]
        org = csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(org[0].value)))
        san = [x509.UniformResourceIdentifier(CLIENT_URI_PREFIX + client_id)]
        validity = self._validity(days, not_before, not_after)
        return self._issue(x509.Name(attrs), public_key, san, ExtendedKeyUsageOID.CLIENT_AUTH, validity)

    def _validity(
        self, days: int, not_before: datetime | None = None, not_after: datetime | None = None
    ) -> tuple[datetime, datetime]:
        now = datetime.now(UTC)
        if not_after is None and days < 1:
            raise PkiError(f"days must be at least 1 (got {days})")
        start = not_before or now - CLOCK_SKEW
        end = not_after or now + timedelta(days=days)
        # A leaf outliving its CA would just fail verification later; cap it now instead.
        end = min(end, self._cert.not_valid_after_utc)
        if end <= start:
            raise PkiError("the certificate would expire before it becomes valid")
        return start, end

    def _issue(
        self,
        subject: x509.Name,
        public_key: PublicKeyTypes,
        sans: Sequence[x509.GeneralName],
        eku: x509.ObjectIdentifier,
        validity: tuple[datetime, datetime],
    ) -> x509.Certificate:
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise PkiError(f"{type(public_key).__name__} keys are not supported")
        ca_ski = self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(leaf_key_usage(public_key), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=not subject.rdns)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        atomic_write(self._issued_path(cert.serial_number), cert.public_bytes(serialization.Encoding.PEM))
        return cert

    def _issued_path(self, serial: int) -> Path:
        return self._dir / "issued" / f"{serial:x}.crt"

    # -- revocation ----------------------------------------------------------------------------

    def revoke(self, target: int | x509.Certificate, *, reason: str = "unspecified") -> RevocationEntry:
        """Revoke by serial or certificate and rewrite `crl.pem`; revoking twice is a no-op."""
        flag = parse_reason(reason)
        if isinstance(target, x509.Certificate):
            try:
                target.verify_directly_issued_by(self._cert)
            except (ValueError, TypeError, InvalidSignature):
                raise PkiError("that certificate was not issued by this CA") from None
            serial = target.serial_number
        else:
            serial = target
            if not self._issued_path(serial).is_file():
                raise PkiError(
                    f"no certificate with serial {serial:x} was issued by this CA (see `vtn ca list`)"
                )
        # Read-modify-write of revoked.json: a concurrent revoke must not drop this entry.
        with locked(self._dir):
            entries = self.revocations()
            for entry in entries:
                if entry.serial == serial:
                    return entry
            entry = RevocationEntry(
                serial=serial, revoked_at=datetime.now(UTC).replace(microsecond=0), reason=flag.value
            )
            self._save_revocations([*entries, entry])
            self.write_crl()
        return entry

    def revocations(self) -> list[RevocationEntry]:
        path = self._dir / "revoked.json"
        if not path.is_file():
            return []
        return [RevocationEntry.from_json(doc) for doc in json.loads(path.read_text())]

    def _save_revocations(self, entries: list[RevocationEntry]) -> None:
        atomic_write(
            self._dir / "revoked.json", json.dumps([e.to_json() for e in entries], indent=2).encode()
        )

    def crl(self) -> x509.CertificateRevocationList:
        """The current CRL (written first if `crl.pem` is missing)."""
        try:
            return x509.load_pem_x509_crl(self.crl_path.read_bytes())
        except FileNotFoundError:
            return self.write_crl()

    def write_crl(self) -> x509.CertificateRevocationList:
        """Sign a fresh CRL valid for `crl_days` and write it to `crl.pem`."""
        crl = build_crl(
            self._cert, self._key, self.revocations(), days=self._crl_days, number=self._next_crl_number()
        )
        atomic_write(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
        return crl

    def _next_crl_number(self) -> int:
        # The number lives in the previous CRL itself, so no extra state file is needed.
        try:
            previous = x509.load_pem_x509_crl(self.crl_path.read_bytes())
            return previous.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
        except (FileNotFoundError, ValueError, x509.ExtensionNotFound):
            return 1

    # -- inventory -----------------------------------------------------------------------------

    def list_issued(self) -> list[IssuedCertificate]:
        """Every certificate under `issued/`, oldest first."""
        revoked = {e.serial for e in self.revocations()}
        records = []
        for path in sorted((self._dir / "issued").glob("*.crt")):
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            records.append(
                IssuedCertificate(
                    serial=cert.serial_number,
                    subject_cn=subject_cn(cert.subject),
                    client_id=san_client_id(cert),
                    not_before=cert.not_valid_before_utc,
                    not_after=cert.not_valid_after_utc,
                    revoked=cert.serial_number in revoked,
                    fingerprint=fingerprint_sha256(cert),
                    kind=cert_kind(cert),
                )
            )
        return sorted(records, key=lambda r: (r.not_before, r.serial))

    def issued_certificate(self, serial: int) -> x509.Certificate | None:
        path = self._issued_path(serial)
        return x509.load_pem_x509_certificate(path.read_bytes()) if path.is_file() else None

    # -- API onboarding (operator side; the API side can use `OnboardingStore` without the key) --

    def submit_request(self, csr_pem: bytes | str, client_id: str) -> str:
        return self.onboarding.submit(csr_pem, client_id)

    def pending_requests(self) -> list[CertificateRequest]:
        return self.onboarding.pending()

    def request_status(self, request_id: str) -> CertificateRequest:
        return self.onboarding.get(request_id)

    def approve(self, request_id: str, days: int = 365) -> x509.Certificate:
        """Sign a pending request's CSR for the client id it was submitted with."""
        # Locked so two operators cannot both approve (or approve and reject) one request.
        with locked(self._dir):
            record = self.onboarding.get(request_id)
            if record.status != "pending":
                raise PkiError(f"request {request_id} is already {record.status}")
            cert = self.sign_csr(self.onboarding.csr(request_id), record.client_id, days)
            self.onboarding.mark_approved(request_id, cert.serial_number)
        return cert

    def reject(self, request_id: str) -> CertificateRequest:
        with locked(self._dir):
            return self.onboarding.reject(request_id)

    def issued_certificate_for(self, request_id: str) -> x509.Certificate | None:
        return self.onboarding.issued_certificate(request_id)


def _supersede(d: Path) -> Path:
    """Move the old CA's state aside rather than delete it: `--force` should not destroy keys."""
    archive = d / f"superseded-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    archive.mkdir(mode=0o700)
    for name in _STATE_FILES:
        if (d / name).exists():
            (d / name).rename(archive / name)
    return archive
