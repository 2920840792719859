"""Dev/test PKI for mutual TLS: a file-backed CA, revocation (CRL) and API onboarding of CSRs."""

from vtn.pki.builders import generate_key, parse_reason, private_key_pem
from vtn.pki.ca import CertificateAuthority
from vtn.pki.onboarding import OnboardingStore, load_csr
from vtn.pki.records import (
    CertificateRequest,
    CertKind,
    IssuedCertificate,
    KeyType,
    PkiError,
    RequestStatus,
    RevocationEntry,
)

__all__ = [
    "CertKind",
    "CertificateAuthority",
    "CertificateRequest",
    "IssuedCertificate",
    "KeyType",
    "OnboardingStore",
    "PkiError",
    "RequestStatus",
    "RevocationEntry",
    "generate_key",
    "load_csr",
    "parse_reason",
    "private_key_pem",
]
