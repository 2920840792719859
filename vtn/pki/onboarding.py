"""API onboarding: CSRs submitted by clients wait in `requests/` for an operator's decision.

This store needs no CA private key, so the API process can accept and report on requests while
only the operator's `vtn ca approve` (which loads the CA) signs them.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from vtn.pki.records import (
    CertificateRequest,
    PkiError,
    atomic_write,
    new_request_id,
    validate_client_id,
    validate_request_id,
)


def load_csr(csr_pem: bytes | str) -> x509.CertificateSigningRequest:
    """Parse a PEM (or DER) CSR and check its self-signature."""
    data = csr_pem.encode() if isinstance(csr_pem, str) else csr_pem
    try:
        csr = x509.load_pem_x509_csr(data) if b"-----BEGIN" in data else x509.load_der_x509_csr(data)
    except ValueError as exc:
        raise PkiError(f"not a certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise PkiError("the CSR signature does not verify: was it edited after it was created?")
    return csr


class OnboardingStore:
    """File-backed queue of certificate requests in `<dir>/requests/`."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._dir = Path(directory)

    @property
    def requests_dir(self) -> Path:
        return self._dir / "requests"

    def submit(self, csr_pem: bytes | str, client_id: str) -> str:
        """Queue a CSR for `client_id`; returns the new request id."""
        validate_client_id(client_id)
        csr = load_csr(csr_pem)
        request_id = new_request_id()
        record = CertificateRequest(
            request_id=request_id, client_id=client_id, status="pending", created=datetime.now(UTC)
        )
        # CSR first: a JSON record without its CSR would be an unapprovable request.
        atomic_write(self._csr_path(request_id), csr.public_bytes(Encoding.PEM))
        self._write(record)
        return request_id

    def get(self, request_id: str) -> CertificateRequest:
        path = self._json_path(validate_request_id(request_id))
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise PkiError(f"no certificate request {request_id} in {self._dir}/requests/") from None
        return CertificateRequest.from_json(doc)

    def csr(self, request_id: str) -> bytes:
        return self._csr_path(validate_request_id(request_id)).read_bytes()

    def all(self) -> list[CertificateRequest]:
        if not self.requests_dir.is_dir():
            return []
        records = [self.get(p.stem) for p in self.requests_dir.glob("*.json")]
        return sorted(records, key=lambda r: r.created)

    def pending(self) -> list[CertificateRequest]:
        return [r for r in self.all() if r.status == "pending"]

    def mark_approved(self, request_id: str, serial: int) -> CertificateRequest:
        record = replace(
            self._pending(request_id), status="approved", decided_at=datetime.now(UTC), serial=serial
        )
        self._write(record)
        return record

    def reject(self, request_id: str) -> CertificateRequest:
        record = replace(self._pending(request_id), status="rejected", decided_at=datetime.now(UTC))
        self._write(record)
        return record

    def issued_certificate(self, request_id: str) -> x509.Certificate | None:
        """The certificate issued for an approved request, or None while pending or if rejected."""
        record = self.get(request_id)
        if record.status != "approved" or record.serial is None:
            return None
        path = self._dir / "issued" / f"{record.serial:x}.crt"
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except FileNotFoundError:
            raise PkiError(f"request {request_id} was approved but {path} is missing") from None

    def _pending(self, request_id: str) -> CertificateRequest:
        record = self.get(request_id)
        if record.status != "pending":
            raise PkiError(f"request {request_id} is already {record.status}")
        return record

    def _write(self, record: CertificateRequest) -> None:
        atomic_write(self._json_path(record.request_id), json.dumps(record.to_json(), indent=2).encode())

    def _json_path(self, request_id: str) -> Path:
        return self.requests_dir / f"{request_id}.json"

    def _csr_path(self, request_id: str) -> Path:
        return self.requests_dir / f"{request_id}.csr"
