"""Key generation and the X.509 profiles (CA certificate, leaf key usage, CRL) of the dev CA."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vtn.pki.records import CertKind, KeyType, PkiError, RevocationEntry

CaKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

# Backdate notBefore/lastUpdate so a peer whose clock runs a little behind still accepts them.
CLOCK_SKEW = timedelta(minutes=5)
_ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


def generate_key(key_type: KeyType = "ec", rsa_bits: int = 2048) -> CaKey:
    """A fresh ECDSA P-256 or RSA (>= 2048 bit) private key."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        if rsa_bits < 2048:
            raise PkiError(f"RSA keys must be at least 2048 bits (got {rsa_bits})")
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    raise PkiError(f"unknown key type {key_type!r}: use 'ec' or 'rsa'")


def private_key_pem(key: CaKey) -> bytes:
    """Unencrypted PKCS#8 PEM: dev/test keys are protected by file mode, not a passphrase."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def check_public_key(key: PublicKeyTypes) -> None:
    """Refuse keys too weak (or too exotic) for the TLS stacks VENs run."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise PkiError(f"RSA key of {key.key_size} bits is too weak: use at least 2048")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _ALLOWED_CURVES):
            raise PkiError(f"EC curve {key.curve.name} is not allowed: use P-256, P-384 or P-521")
    else:
        raise PkiError(f"{type(key).__name__} keys are not supported: use an EC (P-256) or RSA key")


def leaf_key_usage(key: PublicKeyTypes) -> x509.KeyUsage:
    """Key usage for end-entity certificates."""
    # RSA key transport (TLS 1.2 RSA kex) needs keyEncipherment; ECDSA keys only ever sign.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPublicKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def cert_kind(cert: x509.Certificate) -> CertKind:
    """Classify by extended key usage, as `vtn ca list` shows it."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "other"
    if ExtendedKeyUsageOID.CLIENT_AUTH in eku:
        return "client"
    return "server" if ExtendedKeyUsageOID.SERVER_AUTH in eku else "other"


def subject_cn(name: x509.Name) -> str | None:
    """The first CN of `name`, if any."""
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def parse_reason(reason: str) -> x509.ReasonFlags:
    """Accept `keyCompromise`, `key_compromise` or `key-compromise`."""
    wanted = reason.replace("-", "_").lower()
    for flag in x509.ReasonFlags:
        if wanted in (flag.name, flag.value.lower()) and flag is not x509.ReasonFlags.remove_from_crl:
            return flag
    names = ", ".join(f.value for f in x509.ReasonFlags if f is not x509.ReasonFlags.remove_from_crl)
    raise PkiError(f"unknown revocation reason {reason!r}: use one of {names}")


def build_ca_certificate(key: CaKey, common_name: str, days: int) -> x509.Certificate:
    """A self-signed CA certificate for `key`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=days))
        # pathlen 0: this CA signs leaves only, never intermediates.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def build_crl(
    ca_cert: x509.Certificate, key: CaKey, entries: Iterable[RevocationEntry], *, days: int, number: int
) -> x509.CertificateRevocationList:
    """A CRL listing `entries`, valid from now (minus skew) for `days`."""
    now = datetime.now(UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for entry in entries:
        revoked = (
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at)
        )
        # RFC 5280 5.3.1: omit the reason code rather than say "unspecified".
        if entry.reason != x509.ReasonFlags.unspecified.value:
            revoked = revoked.add_extension(x509.CRLReason(parse_reason(entry.reason)), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    return builder.sign(key, hashes.SHA256())
